import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { evaluateSweep, estimateNoise, type ConfigGroup } from "../../src/gates/sweep.ts";
import type { TrajectoryRow } from "../../src/evidence/schemas.ts";
import { configHash } from "../../src/evidence/hash.ts";
import { openEvidence } from "../../src/evidence/read.ts";
import { DEFAULT_POLICY, policyWith } from "../helpers/policy.ts";
import { describeWithSharedFixtures } from "../helpers/shared.ts";

let n = 0;
function row(config: Record<string, unknown>, val: number | null, extra: Partial<TrajectoryRow> = {}): TrajectoryRow {
  n++;
  return { id: `r${n}`, line: n, config, configHash: configHash(config), val_bpb: val, status: "ok", rawStatus: "ok", baseline: false, ...extra };
}

const gate = (o: ReturnType<typeof evaluateSweep>, id: string) => o.results.find((r) => r.id === id);

describe("sweep gates", () => {
  it("counts evaluations, distinct configs and failures, unreadable rows included", () => {
    const rows = [row({ a: 1 }, 2.0, { baseline: true }), row({ a: 1 }, 2.01), row({ a: 2 }, 1.9), row({ a: 3 }, null, { status: "crash", rawStatus: "crash" }), row({ a: 4 }, null, { status: "timeout", rawStatus: "timeout" }), row({ a: 5 }, Number.NaN), row({ a: 6 }, null, { status: "blocked", rawStatus: "blocked" })];
    const o = evaluateSweep({ subject: "t", rows, unreadable: 3 }, DEFAULT_POLICY);
    expect(gate(o, "sweep.coverage.evaluated")?.measured).toBe(3);
    expect(gate(o, "sweep.coverage.distinct")?.measured).toBe(2);
    // crash + timeout + NaN + 3 unreadable = 6 of 10 attempts; blocked is not a failure
    expect(gate(o, "sweep.coverage.failed")).toMatchObject({ measured: 0.6, status: "fail" });
  });

  it("never ranks pruned rows, counts them as evaluated, distinct and not failed, and says how many at which rung", () => {
    const p = policyWith({ sweep: { noise: { min_dof: 1 }, coverage: { min_evaluated: 1, min_distinct: 1 }, finalists: { count: 1 } } });
    const pruned = (config: Record<string, unknown>, step: number, value: number): TrajectoryRow => row(config, null, { status: "pruned", rawStatus: "pruned", steps: step, prunedAt: { step, val_bpb: value } });
    const full = [row({ k: "base" }, 1.99, { baseline: true }), row({ k: "base" }, 2.01), row({ k: "x" }, 1.94), row({ k: "x" }, 1.96), row({ k: "c" }, null, { status: "crash", rawStatus: "crash" })];
    // The pruned runs' rung values are the best numbers in the file: ranking them would pick one.
    const rows = [...full, pruned({ k: "p1" }, 20, 0.5), pruned({ k: "p2" }, 20, 0.6), pruned({ k: "p3" }, 40, 0.7)];
    const o = evaluateSweep({ subject: "t", rows, unreadable: 0 }, p);
    const without = evaluateSweep({ subject: "t", rows: full, unreadable: 0 }, p);
    expect(o.groups.map((g) => g.id)).toEqual(without.groups.map((g) => g.id));
    expect(o.finalists.map((f) => f.id)).toEqual([rows[2]?.id]);
    // Coverage measures the search: 4 full-length evaluations and 3 pruned ones, of 5 distinct configs.
    expect(gate(o, "sweep.coverage.evaluated")?.measured).toBe(7);
    expect(gate(o, "sweep.coverage.distinct")?.measured).toBe(5);
    expect(gate(without, "sweep.coverage.evaluated")?.measured).toBe(4);
    // 1 crash of 8 attempts: a pruned run did not fail.
    expect(gate(o, "sweep.coverage.failed")?.measured).toBe(0.125);
    expect(gate(o, "sweep.coverage.evaluated")?.message).toBe("7 evaluations produced a val_bpb (8 attempts, 1 of the baseline; 3 pruned early (2 at step 20, 1 at step 40), evaluated but not ranked: 4 ran to the end)");
    expect(gate(o, "sweep.coverage.failed")?.message).toMatch(/^1 of 8 attempts failed \(.*; the 3 pruned early did not fail\)$/);
    expect(o.pruned).toEqual({ count: 3, byStep: [{ step: 20, count: 2 }, { step: 40, count: 1 }] });
    expect(gate(without, "sweep.coverage.evaluated")?.message).not.toMatch(/pruned/);
  });

  it("pools σ over repeated configs: Σ(x−x̄)² / Σ(n−1)", () => {
    const groups = [
      { values: [1.0, 1.2] },
      { values: [2.0, 2.1, 2.2] },
      { values: [3.0] },
    ] as ConfigGroup[];
    const noise = estimateNoise(groups, DEFAULT_POLICY);
    // (0.02 + 0.02) / (1 + 2) → σ = √(0.04/3)
    expect(noise.sigma).toBeCloseTo(Math.sqrt(0.04 / 3), 12);
    expect(noise).toMatchObject({ source: "measured", repeatedConfigs: 2, dof: 3 });
  });

  it.each([
    ["nothing repeats", [{ values: [1] }, { values: [2] }], /no config was evaluated twice/],
    ["too few degrees of freedom", [{ values: [1, 1.1] }], /only 1 degree of freedom/],
    ["bit-identical repeats", [{ values: [1, 1] }, { values: [2, 2] }], /bit-identical/],
  ])("assumes the policy's σ when %s", (_n, groups, why) => {
    const noise = estimateNoise(groups as ConfigGroup[], DEFAULT_POLICY);
    expect(noise).toMatchObject({ sigma: 0.01, source: "assumed" });
    expect(noise.note).toMatch(why);
  });

  it("separates by Δ/√(1/n₁+1/n₂) ≥ z·σ against the baseline", () => {
    const p = policyWith({ sweep: { noise: { min_dof: 1 }, coverage: { min_evaluated: 1, min_distinct: 1 }, finalists: { count: 1 } } });
    // baseline mean 2.0 (n=2, spread gives σ), candidate 1.95 (n=2)
    const rows = [row({ k: "base" }, 1.99, { baseline: true }), row({ k: "base" }, 2.01), row({ k: "x" }, 1.94), row({ k: "x" }, 1.96)];
    const o = evaluateSweep({ subject: "t", rows, unreadable: 0 }, p);
    const sigma = Math.sqrt((0.0002 + 0.0002) / 2);
    const z = 0.05 / (sigma * Math.sqrt(1 / 2 + 1 / 2));
    expect(gate(o, "sweep.separation")?.measured).toBeCloseTo(z, 2);
    expect(gate(o, "sweep.separation")?.status).toBe(z >= 3.09 ? "pass" : "fail");
    expect(o.finalists.map((f) => f.id)).toEqual(z >= 3.09 ? [rows[2]?.id] : []);
    expect(z).toBeGreaterThan(3.09); // the data above is built to separate
  });

  it("falls back to the sweep median without a baseline, and refuses when the policy demands one", () => {
    const rows = [row({ a: 1 }, 2.0), row({ a: 2 }, 2.1), row({ a: 3 }, 2.2), row({ a: 4 }, 1.5)];
    const auto = evaluateSweep({ subject: "t", rows, unreadable: 0 }, DEFAULT_POLICY);
    expect(auto.reference).toMatchObject({ kind: "median", value: 2.05, n: 4 });
    const strict = evaluateSweep({ subject: "t", rows, unreadable: 0 }, policyWith({ sweep: { separation: { reference: "baseline" } } }));
    expect(gate(strict, "sweep.separation")).toMatchObject({ status: "fail" });
    expect(gate(strict, "sweep.separation")?.message).toMatch(/asks for a baseline/);
  });

  it("ranks by a results.tsv column with goal max", () => {
    const p = policyWith({ sweep: { metric: { name: "accuracy", goal: "max" }, coverage: { min_evaluated: 1, min_distinct: 1 }, finalists: { count: 1 } } });
    const rows = [row({ a: 1 }, null, { metrics: { accuracy: 0.9 } }), row({ a: 2 }, null, { metrics: { accuracy: 0.99 } }), row({ a: 3 }, null, { metrics: { accuracy: 0.5 } })];
    const o = evaluateSweep({ subject: "t", rows, unreadable: 0 }, p);
    expect(o.ranking.map((g) => g.mean)).toEqual([0.99, 0.9, 0.5]);
    expect(o.finalists[0]?.mean).toBe(0.99);
  });
});

describeWithSharedFixtures("sweep gates on real trajectories", (dir) => {
  async function sweep(name: string, policy = DEFAULT_POLICY) {
    const ev = await openEvidence(join(dir, "sweeps", name));
    if (ev.kind !== "trajectory") throw new Error("not a trajectory");
    const rows: TrajectoryRow[] = [];
    for await (const b of ev.rows) rows.push(...b);
    return evaluateSweep({ subject: name, rows, unreadable: ev.diag.unreadableCount }, policy);
  }

  it("the seed's agent-loop trajectory fails the default policy, saying why in numbers", async () => {
    const o = await sweep("agent-loop-trajectory.jsonl");
    expect(gate(o, "sweep.coverage.distinct")).toMatchObject({ status: "fail", measured: 14, threshold: 30 });
    expect(gate(o, "sweep.coverage.distinct")?.message).toMatch(/51 evaluations over 14 distinct configs/);
    expect(o.noise).toMatchObject({ source: "measured", repeatedConfigs: 10, dof: 37 });
    expect(o.noise.sigma).toBeCloseTo(0.02, 2);
    expect(gate(o, "sweep.finalists")).toMatchObject({ status: "fail", measured: 1, threshold: 3 });
    expect(gate(o, "sweep.separation")?.message).toMatch(/1 of 13 configs separable/);
  });

  it("passes a permissive policy, and the best finalist is the d_model=768 config", async () => {
    const permissive = policyWith({ sweep: { coverage: { min_distinct: 10 }, finalists: { count: 1 } } });
    const o = await sweep("agent-loop-trajectory.jsonl", permissive);
    expect(o.results.filter((r) => r.status === "fail")).toEqual([]);
    expect(o.finalists[0]).toMatchObject({ label: "d_model=768", n: 7 });
    expect(o.finalists[0]?.config["d_model"]).toBe(768);
    expect(o.finalists[0]?.projection?.config).toMatchObject({ d_model: 4096, n_layer: 32, lr: 0.00013 });
  });

  it.each(["multiagent-pg-results.tsv", "multiagent-nanochat-results.tsv", "multiagent-cifar-results.tsv"])("%s gates without error", async (name) => {
    const o = await sweep(name);
    expect(o.results.map((r) => r.id)).toEqual(["sweep.coverage.evaluated", "sweep.coverage.distinct", "sweep.coverage.failed", "sweep.noise", "sweep.separation", "sweep.finalists"]);
  });

  it("counts the pg file's 46 broken rows against coverage", async () => {
    const o = await sweep("multiagent-pg-results.tsv");
    const failed = gate(o, "sweep.coverage.failed");
    // 36 crash + 41 harness_abort + 53 eval_budget_overrun + 46 unreadable = 176 of 855 + 46 attempts
    expect(failed?.measured).toBeCloseTo(176 / 901, 4);
    expect(failed?.message).toMatch(/46 unreadable/);
  });
});
