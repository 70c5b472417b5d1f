import { describe, expect, it } from "vitest";
import { readFile } from "../../helpers/read.ts";
import { useTmpDir } from "../../helpers/tmp.ts";
import { openEvidence } from "../../../src/evidence/read.ts";

const tmp = useTmpDir();
const base = { n_layer: 24, d_model: 1024, lr: 0.0003, steps: 60, seed: 0 };
const meta = JSON.stringify({ _meta: "trajectory log", baseline_val_bpb: 10.95, baseline_cfg: base, accept_delta_frac: 0.005 });
const iter = (o: Record<string, unknown>): string =>
  JSON.stringify({ iter: 1, stage: "evaluated", candidate_cfg: { ...base, d_model: 768 }, val_bpb: 10.9, decision: "keep", eval_metrics: { ok: true, params_m: 354.6, train_steps: 60 }, iter_wall_s: 74.2, ...o });
const summary = JSON.stringify({ stage: "loop_complete", iters_requested: 3, accept_count: 1, best_val_bpb: 10.9 });

describe("agent-loop trajectory.jsonl (the seed's format)", () => {
  it("turns the header into a baseline row and skips the trailing summary", async () => {
    const f = tmp.write("a.jsonl", [meta, iter({}), iter({ iter: 2, candidate_cfg: base, val_bpb: 10.96, decision: "revert" }), summary].join("\n"));
    const ev = await openEvidence(f);
    expect(ev.format).toBe("agent-loop");
    const r = await readFile(f);
    expect(r.errors).toBe(0);
    expect(r.rows.map((x) => [x.id, x.val_bpb, x.baseline, x.status])).toEqual([
      ["baseline", 10.95, true, "ok"],
      ["iter-1", 10.9, false, "ok"],
      ["iter-2", 10.96, false, "ok"],
    ]);
    expect(r.rows[1]).toMatchObject({ steps: 60, params: 354_600_000, wall_s: 74.2 });
    // iteration 2 re-evaluates the baseline config: same hash.
    expect(r.rows[2]?.configHash).toBe(r.rows[0]?.configHash);
  });

  it("maps failed and blocked stages and an eval that did not finish", async () => {
    const f = tmp.write("b.jsonl", [meta, iter({ iter: 1, stage: "blocked", val_bpb: null }), iter({ iter: 2, stage: "eval_failed", val_bpb: null }), iter({ iter: 3, eval_metrics: { ok: false }, val_bpb: null })].join("\n"));
    const r = await readFile(f);
    expect(r.rows.slice(1).map((x) => x.status)).toEqual(["blocked", "crash", "crash"]);
  });

  it("rebuilds a missing candidate_cfg from the one-knob proposal", async () => {
    const f = tmp.write("c.jsonl", [meta, iter({ candidate_cfg: undefined, proposal: { knob: "lr", new_value: 0.001 } })].join("\n"));
    const r = await readFile(f);
    expect(r.rows[1]?.config).toEqual({ ...base, lr: 0.001 });
  });

  it.each([
    ["no header", [iter({})], 1, "_meta"],
    ["config that is not an object", [meta, iter({ candidate_cfg: "n_head=8" })], 2, "candidate_cfg"],
    ["duplicate iteration", [meta, iter({}), iter({})], 3, "iter"],
    ["record that is neither", [meta, JSON.stringify({ foo: 1 })], 2, "iter"],
  ])("reports a %s", async (_n, lines, line, field) => {
    const r = await readFile(tmp.write("d.jsonl", lines.join("\n")), { format: "agent-loop" });
    expect(r.problems[0]).toMatchObject({ line, field, kind: "error" });
  });

  it("counts an unknown stage as an unreadable row, not a crash", async () => {
    const r = await readFile(tmp.write("e.jsonl", [meta, iter({ stage: "daydreaming" })].join("\n")));
    expect(r.unreadable).toBe(1);
    expect(r.errors).toBe(0);
    expect(r.problems[0]).toMatchObject({ line: 2, field: "stage", kind: "unreadable" });
  });
});
