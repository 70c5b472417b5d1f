// Crafted bad evidence: each must make `windtunnel validate` exit 2 with one line naming the
// file, the line and the field. Written to a temp folder by the test (the 5 MB line and the
// binary garbage are generated, not committed).
const BOM = "\uFEFF";
const ok = (step: number, loss = 3.0): string => JSON.stringify({ step, loss });
const jsonl = (...lines: string[]): string => `${lines.join("\n")}\n`;
const traj = (o: Record<string, unknown>): string => JSON.stringify({ id: "c001", config: { lr: 3e-4 }, val_bpb: 1.5, status: "ok", ...o });
const meta = JSON.stringify({ _meta: "trajectory log", baseline_val_bpb: 10.95, baseline_cfg: { lr: 3e-4 } });
const iter = (o: Record<string, unknown>): string => JSON.stringify({ iter: 1, stage: "evaluated", candidate_cfg: { lr: 1e-3 }, val_bpb: 10.9, ...o });
const TSV_HEADER = "exp_id\tparent_exp\thypothesis\tstatus\tval_bpb";

export interface BadCase {
  name: string;
  content: string | Uint8Array;
  line: number;
  field: string;
  message: RegExp;
  args?: string[];
}

export const BAD_CORPUS: readonly BadCase[] = [
  { name: "empty.jsonl", content: "", line: 1, field: "file", message: /empty/ },
  { name: "whitespace-only.jsonl", content: "\n  \n\t\n", line: 1, field: "file", message: /empty/ },
  { name: "bom-then-bad-loss.jsonl", content: BOM + jsonl(ok(1), '{"step":2,"loss":"abc"}'), line: 2, field: "loss", message: /expected a number.*got "abc"/ },
  { name: "crlf-then-bad-step.jsonl", content: jsonl(ok(1), ok(2), '{"step":"x","loss":1}').replaceAll("\n", "\r\n"), line: 3, field: "step", message: /got "x"$/ },
  { name: "truncated-last-line.jsonl", content: `${jsonl(ok(1), ok(2))}{"step":3,"lo`, line: 3, field: "json", message: /cut short/ },
  { name: "non-numeric-loss.jsonl", content: jsonl(ok(1), '{"step":2,"loss":"1.2.3"}'), line: 2, field: "loss", message: /got "1\.2\.3"/ },
  { name: "malformed-number.jsonl", content: jsonl(ok(1), '{"step":2,"loss":1.2.3}'), line: 2, field: "json", message: /invalid JSON/ },
  { name: "negative-step.jsonl", content: jsonl('{"step":-5,"loss":1}'), line: 1, field: "step", message: /≥ 0/ },
  { name: "duplicate-step.jsonl", content: jsonl(ok(1), ok(2), ok(2)), line: 3, field: "step", message: /duplicate step 2/ },
  { name: "decreasing-step.jsonl", content: jsonl(ok(10), ok(20), ok(15)), line: 3, field: "step", message: /goes backwards/ },
  { name: "fractional-step.jsonl", content: jsonl(ok(1), '{"step":2.5,"loss":1}'), line: 2, field: "step", message: /whole number/ },
  { name: "step-as-string.jsonl", content: jsonl('{"step":"7","loss":1}'), line: 1, field: "step", message: /got "7"/ },
  { name: "tag-wrong-type.jsonl", content: jsonl(ok(1), '{"step":2,"loss":1,"tag":["fp8"]}'), line: 2, field: "tag", message: /got an array/ },
  { name: "missing-loss.jsonl", content: jsonl(ok(1), '{"step":2,"val_loss":3}'), line: 2, field: "loss", message: /required field is missing/ },
  { name: "missing-step.jsonl", content: jsonl(ok(1), '{"loss":3}'), line: 2, field: "step", message: /required field is missing/ },
  { name: "array-row.jsonl", content: jsonl(ok(1), "[2, 3.0]"), line: 2, field: "row", message: /got an array/ },
  { name: "unterminated-string.jsonl", content: jsonl(ok(1), '{"step":2,"loss":"3.0}'), line: 2, field: "json", message: /unterminated string/ },
  { name: "binary-garbage.jsonl", content: Buffer.concat([Buffer.from(jsonl(ok(1), ok(2))), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d])]), line: 5, // PNG magic: its two \n bytes end lines 3 and 4
    field: "encoding", message: /binary data/ },
  { name: "invalid-utf8.jsonl", content: Buffer.concat([Buffer.from(`${ok(1)}\n{"step":2,"loss":1,"tag":"`), Buffer.from([0xc3, 0x28]), Buffer.from('"}\n')]), line: 2, field: "encoding", message: /invalid UTF-8/ },
  { name: "five-megabyte-line.jsonl", content: jsonl(`{"step":1,"loss":1,"pad":"${"x".repeat(5 * 1024 * 1024)}"}`), line: 1, field: "line", message: /longer than/ },
  { name: "huge-exponent-loss.jsonl", content: jsonl(ok(1), '{"step":2,"loss":1e999}'), line: 2, field: "loss", message: /overflows/ },
  { name: "huge-exponent-step.jsonl", content: jsonl(ok(1), '{"step":1e400,"loss":1}'), line: 2, field: "step", message: /Infinity/ },
  { name: "nan-step.jsonl", content: jsonl(ok(1), '{"step":NaN,"loss":1}'), line: 2, field: "step", message: /NaN/ },
  { name: "infinite-time.jsonl", content: jsonl(ok(1), '{"step":2,"loss":1,"time_s":Infinity}'), line: 2, field: "time_s", message: /finite/ },
  { name: "negative-lr.jsonl", content: jsonl(ok(1), '{"step":2,"loss":1,"lr":-0.001}'), line: 2, field: "lr", message: /≥ 0/ },
  { name: "unknown-json.jsonl", content: jsonl('{"epoch":1,"acc":0.5}'), line: 1, field: "format", message: /not one of ours/ },
  { name: "unknown-text.txt", content: "hello, this is not evidence\n", line: 1, field: "format", message: /cannot tell/ },
  { name: "trajectory-missing-config.jsonl", content: jsonl(JSON.stringify({ id: "c001", val_bpb: 1.5, status: "ok" })), line: 1, field: "config", message: /required field is missing/ },
  { name: "trajectory-bad-status.jsonl", content: jsonl(traj({}), traj({ id: "c002", status: "great" })), line: 2, field: "status", message: /expected one of ok, crash, timeout, blocked, pruned, got "great"/ },
  { name: "trajectory-ok-without-value.jsonl", content: jsonl(traj({ val_bpb: null })), line: 1, field: "val_bpb", message: /required when status is ok/ },
  { name: "trajectory-duplicate-id.jsonl", content: jsonl(traj({}), traj({})), line: 2, field: "id", message: /duplicate id/ },
  { name: "trajectory-hash-mismatch.jsonl", content: jsonl(traj({ config_hash: "f".repeat(64) })), line: 1, field: "config_hash", message: /does not match/ },
  { name: "agent-loop-no-header.jsonl", content: jsonl(iter({}), iter({ iter: 2 })), line: 1, field: "_meta", message: /header/ },
  { name: "agent-loop-config-string.jsonl", content: jsonl(meta, iter({ candidate_cfg: "lr=1e-3" })), line: 2, field: "candidate_cfg", message: /expected an object/ },
  { name: "results-no-status.tsv", content: "exp_id\tval_bpb\n001\t1.08\n", line: 1, field: "header", message: /no "status" column/ },
  { name: "results-header-only.tsv", content: `${TSV_HEADER}\n`, line: 1, field: "file", message: /no candidate rows/ },
  { name: "results-all-rows-broken.tsv", content: `${TSV_HEADER}\n001\t000\t"x" 1.07 keep\n002\t000\tshort\n`, line: 1, field: "file", message: /no candidate rows could be read \(2 unreadable\)/ },
  { name: "log-bad-number.log", content: "step:1/100 train_loss:8.68\nstep:2/100 train_loss:8.6x\n", line: 2, field: "loss", message: /got "8\.6x"/ },
  { name: "log-step-backwards.log", content: "s:0 tel:10.98\ns:500 tel:5.59\ns:250 tel:6.31\n", line: 3, field: "step", message: /goes backwards/ },
  // Physically impossible values are refused at their line in every format (issue 13, finding 5).
  { name: "negative-loss.jsonl", content: jsonl(ok(1), '{"step":2,"loss":-0.5}'), line: 2, field: "loss", message: /≥ 0 .*cannot be negative.*got -0\.5/ },
  { name: "negative-val-loss.jsonl", content: jsonl(ok(1), '{"step":2,"loss":1,"val_loss":-3}'), line: 2, field: "val_loss", message: /cannot be negative/ },
  { name: "negative-val-bpb.jsonl", content: jsonl(ok(1), '{"step":2,"loss":1,"val_bpb":-1}'), line: 2, field: "val_bpb", message: /cannot be negative/ },
  { name: "negative-grad-norm.jsonl", content: jsonl(ok(1), '{"step":2,"loss":1,"grad_norm":-2}'), line: 2, field: "grad_norm", message: /cannot be negative/ },
  { name: "trajectory-negative-val-bpb.jsonl", content: jsonl(traj({}), traj({ id: "c002", val_bpb: -5 })), line: 2, field: "val_bpb", message: /cannot be negative.*got -5/ },
  { name: "agent-loop-negative-val-bpb.jsonl", content: jsonl(meta, iter({ val_bpb: -5 })), line: 2, field: "val_bpb", message: /cannot be negative/ },
  { name: "results-negative-val-bpb.tsv", content: `${TSV_HEADER}\n001\t000\tx\tkeep\t1.08\n002\t000\ty\tkeep\t-5\n`, line: 3, field: "val_bpb", message: /cannot be negative.*got -5/ },
  { name: "log-negative-loss.log", content: "step:1/100 train_loss:8.68\nstep:2/100 train_loss:-1.5\n", line: 2, field: "loss", message: /cannot be negative/ },
  // Messages that used to mislead (finding 26): a huge step is not "not whole".
  { name: "huge-step.jsonl", content: jsonl(ok(1), '{"step":1e20,"loss":1}'), line: 2, field: "step", message: /too large to be an exact step/ },
  { name: "log-huge-step.log", content: "step:1/100 train_loss:8.68\nstep:100000000000000000000/100 train_loss:8.6\n", line: 2, field: "step", message: /too large to be an exact step/ },
  // A key written twice: JSON keeps the last, which here would hide a NaN (finding 27).
  { name: "duplicate-key.jsonl", content: jsonl(ok(1), '{"step":2,"loss":NaN,"loss":2.1}'), line: 2, field: "loss", message: /written twice/ },
  { name: "duplicate-nested-key.jsonl", content: jsonl(traj({ config: { lr: 1 } }).replace('"lr":1', '"lr":1,"lr":2')), line: 1, field: "config.lr", message: /written twice/ },
  { name: "duplicate-escaped-key.jsonl", content: jsonl(ok(1), '{"step":2,"loss":1,"lo\\u0073s":NaN}'), line: 2, field: "loss", message: /written twice/ },
  // Deep nesting (finding 17): a trajectory config 3,000 levels deep, a 100,000-deep array, and a
  // deep line on the NaN path (JSON.parse with a reviver recurses).
  { name: "trajectory-deep-config.jsonl", content: jsonl(`{"id":"c1","status":"ok","val_bpb":1.2,"config":${'{"a":'.repeat(3000)}1${"}".repeat(3000)}}`), line: 1, field: "config", message: /nested more than 32 levels/ },
  { name: "trajectory-deep-array.jsonl", content: jsonl(`{"id":"c1","status":"ok","val_bpb":1.2,"config":{"x":${"[".repeat(100_000)}1${"]".repeat(100_000)}}}`), line: 1, field: "config", message: /nested more than 32 levels/ },
  { name: "deep-nan-line.jsonl", content: jsonl(ok(1), `{"step":2,"loss":NaN,"x":${"[".repeat(20_000)}1${"]".repeat(20_000)}}`), line: 2, field: "json", message: /nested too deeply/ },
  // Not UTF-8 text at all: say so rather than echo the bytes (finding 26).
  { name: "utf16-bom.jsonl", content: Buffer.from(`\uFEFF${ok(1)}\n`, "utf16le"), line: 1, field: "encoding", message: /UTF-16 text/ },
  { name: "utf16-no-bom.jsonl", content: Buffer.from(`${ok(1)}\n`, "utf16le"), line: 1, field: "encoding", message: /binary data \(a NUL byte/ },
  { name: "utf32-bom.jsonl", content: Buffer.concat([Buffer.from([0xff, 0xfe, 0, 0]), Buffer.from(`${ok(1)}\n`, "utf16le")]), line: 1, field: "encoding", message: /UTF-32 text/ },
  { name: "pretty-printed.json", content: '{\n  "verdict_version": 1\n}\n', line: 1, field: "format", message: /a JSON document spread over lines \(pretty-printed\)/ },
  { name: "binary-at-start.bin", content: Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00]), line: 1, field: "encoding", message: /binary data/ },
];

/** Files that look odd but are valid: tolerated, not rejected. */
export const TOLERATED: readonly { name: string; content: string; points: number }[] = [
  { name: "bom.jsonl", content: BOM + jsonl(ok(1), ok(2)), points: 2 },
  { name: "crlf.jsonl", content: jsonl(ok(1), ok(2)).replaceAll("\n", "\r\n"), points: 2 },
  { name: "no-final-newline.jsonl", content: `${ok(1)}\n${ok(2)}`, points: 2 },
  { name: "blank-lines.jsonl", content: `${ok(1)}\n\n${ok(2)}\n\n`, points: 2 },
  { name: "python-nan.jsonl", content: jsonl(ok(1), '{"step":2,"loss":NaN,"grad_norm":Infinity}'), points: 2 },
  { name: "same-key-in-two-objects.jsonl", content: jsonl(ok(1), '{"step":2,"loss":1,"a":{"x":1},"b":{"x":2},"when":"12:00:00"}'), points: 2 },
  { name: "deep-unknown-key.jsonl", content: jsonl(ok(1), `{"step":2,"loss":1,"x":${"[".repeat(100_000)}1${"]".repeat(100_000)}}`), points: 2 },
];
