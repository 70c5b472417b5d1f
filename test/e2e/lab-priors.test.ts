// `lab sweep --proposer tpe --prior …` on the reference trainer (real training), and the priors'
// way to an external proposer: the priors reach the proposer and nothing else, so neither the
// trajectory nor the sweep gates ever count them.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { REPO } from "../helpers/shared.ts";
import { useTmpDir } from "../helpers/tmp.ts";

const tmp = useTmpDir();
const BIN = join(REPO, "src/cli/bin.ts");
const MENU = join(REPO, "examples/menu.yaml");
const REFERENCE = [process.execPath, join(REPO, "examples/trainer/train.ts")];
const FIXED = { activation: "tanh", d_embed: 16, batch: 128, schedule: "cosine", warmup: 5 };

const run = (args: string[], trainer: readonly string[] = REFERENCE) => execa(process.execPath, [BIN, ...args, "--", ...trainer], { cwd: tmp.dir(), reject: false, env: { CI: "true" } });

/** An earlier campaign's trajectory: a prize value no real run reaches, an unknown knob, an off-menu value. */
function priorFile(): string {
  const rows = [
    { id: "old-0", config: { lr: 0.03, d_hidden: 32, n_layer: 1, context: 4, dropout: 0.1, ...FIXED }, val_bpb: 0.5, status: "ok" },
    { id: "old-1", config: { lr: 0.001, d_hidden: 128, n_layer: 2, context: 8, dropout: 0.1, ...FIXED }, val_bpb: 4.9, status: "ok" },
    { id: "old-2", config: { lr: 0.3, d_hidden: 64, n_layer: 1, context: 8, ...FIXED }, val_bpb: null, status: "crash" },
    ...Array.from({ length: 10 }, (_, i) => ({ id: `old-${i + 3}`, config: { lr: 0.003, d_hidden: [32, 64, 128][i % 3], n_layer: 1 + (i % 2), context: 8, ...FIXED }, val_bpb: 4.8 + i * 0.01, status: "ok" })),
  ];
  return tmp.write("old-trajectory.jsonl", rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
}

interface Row {
  id: string;
  config: Record<string, unknown>;
  val_bpb: number | null;
  proposer: string;
}

const rows = (dir: string): Row[] => readFileSync(join(dir, "trajectory.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as Row);

describe("lab sweep --proposer tpe --prior", () => {
  it("warm-starts from an earlier trajectory, reports what it ignored, and keeps the priors out of the trajectory and the gates", async () => {
    const prior = priorFile();
    const r = await run(["lab", "sweep", "--menu", MENU, "--dir", "runs", "--proposer", "tpe", "--prior", prior, "--candidates", "5", "--repeats", "1", "--repeat-top", "1", "--parallel", "2"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain("proposer tpe, warm-started from 12 prior row(s) of 1 file(s)");
    expect(r.stderr).toContain(`prior ${prior} [trajectory]: 12 of 13 rows used; ignored dropout (not on this menu) in 2 rows, 1 row with lr = 0.3 (not one of this menu's choices)`);
    const got = rows(join(tmp.dir(), "runs"));
    expect(got).toHaveLength(5 + 2);
    expect(got.filter((g) => g.id.startsWith("old-"))).toEqual([]);
    expect(got.map((g) => g.val_bpb)).not.toContain(0.5);
    expect(new Set(got.map((g) => g.proposer))).toEqual(new Set(["baseline", "tpe", "repeat"]));

    const gate = await execa(process.execPath, [BIN, "gate", "--phase", "sweep", "--format", "json", "runs/trajectory.jsonl"], { cwd: tmp.dir(), reject: false });
    const verdict = JSON.parse(gate.stdout) as { gates: { id: string; measured?: unknown; message: string }[]; evidence: { file: string; role: string }[] };
    expect(verdict.gates.find((g) => g.id === "sweep.coverage.evaluated")?.measured).toBe(7);
    expect(verdict.evidence.map((e) => [e.file, e.role])).toEqual([["runs/trajectory.jsonl", "trajectory"]]);
    expect(JSON.stringify(verdict.gates)).not.toMatch(/old-\d/);
  });

  it("hands the priors to an external proposer as the document's own field (a real script)", async () => {
    const menu = tmp.write("menu.yaml", `steps: 20\nknobs:\n  x: [1, 2, 3, 4, 5]\nbaseline:\n  x: 1\nfixed:\n  mode: ok\n`);
    const old = tmp.write("old-x.jsonl", `${JSON.stringify({ id: "p0", config: { x: 4, mode: "ok", lr: 0.1 }, val_bpb: 1.5, status: "ok" })}\n`);
    const echo = tmp.dir();
    const proposer = `${process.execPath} ${join(REPO, "test/fixtures/lab/proposer-echo.mjs")} ${echo}`;
    const stand = [process.execPath, join(REPO, "test/fixtures/lab/trainer.mjs")];
    const r = await run(["lab", "sweep", "--menu", menu, "--dir", "runs", "--proposer-cmd", proposer, "--prior", old, "--candidates", "3", "--repeats", "0"], stand);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(readFileSync(join(echo, "input-1.txt"), "utf8")).toBe("document");
    const doc = JSON.parse(readFileSync(join(echo, "stdin-2.txt"), "utf8")) as { format: string; proposal: number; trajectory: Row[]; priors: { file: string; rows: unknown[]; ignored: unknown[] }[] };
    expect(doc.format).toBe("windtunnel-proposer-input/1");
    expect(doc.proposal).toBe(2);
    expect(doc.trajectory.map((t) => t.id)).toEqual(["c000", "c001"]);
    expect(doc.priors).toEqual([{ file: old, format: "trajectory", read: 1, used: 1, ignored: [{ key: "lr", rows: 1 }], rows: [{ id: "p0", config: { x: 4 }, val_bpb: 1.5, status: "ok" }] }]);
    expect(rows(join(tmp.dir(), "runs")).map((g) => g.id)).toEqual(["c000", "c001", "c002"]);
  });

  it.each([
    [["--proposer", "random", "--prior", "PRIOR"], "--prior: the random proposer does not learn from results, so it would ignore the priors; use --proposer tpe or --proposer-cmd"],
    [["--proposer-cmd", "true", "--proposer-input", "jsonl", "--prior", "PRIOR"], "--proposer-input jsonl: the trajectory's lines cannot carry the priors"],
    [["--proposer-input", "document"], "--proposer-input: says what --proposer-cmd reads on stdin; there is no --proposer-cmd"],
    [["--proposer", "grid", "--prior-weight", "0.3"], "--prior-weight: weighs the priors in --proposer tpe"],
    [["--proposer", "tpe", "--prior", "missing.jsonl"], "missing.jsonl"],
  ])("refuses flags that would be ignored without a word: %j", async (flags, message) => {
    const prior = priorFile();
    const r = await run(["lab", "sweep", "--menu", MENU, "--dir", "runs", ...flags.map((f) => (f === "PRIOR" ? prior : f))]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(message);
  });
});
