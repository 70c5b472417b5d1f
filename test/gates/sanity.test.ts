// Sanity-day gates on curves from really training the reference trainer (examples/cloud-cases):
// two precisions and two equivalent layouts pass, another seed fails; plus crafted edge cases.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { evaluateSanity, fp8Gates, parallelGates, throughputGates, type SanityPoint } from "../../src/gates/sanity.ts";
import { DEFAULT_POLICY } from "../helpers/policy.ts";
import { REPO } from "../helpers/shared.ts";

const DIR = join(REPO, "test/fixtures/cloud");
const run = (tag: string): SanityPoint[] => readFileSync(join(DIR, `sanity-${tag}.jsonl`), "utf8").trim().split("\n").map((l) => JSON.parse(l) as SanityPoint);
const RUNS = new Map(["fp64", "bf16", "shards2", "seed2"].map((t) => [t, run(t)]));
const fp8 = { ...DEFAULT_POLICY.sanity.fp8, reference: "fp64" };
const parallel = { ...DEFAULT_POLICY.sanity.parallel, reference: "fp64" };

describe("sanity gates on really trained runs", () => {
  it("bf16 activations against fp64: within 0.25% at every matched step, areas within 1%", () => {
    const [gap, auc] = fp8Gates(RUNS, { ...fp8, candidate: "bf16" });
    expect(gap).toMatchObject({ id: "sanity.fp8.gap", status: "pass" });
    expect(gap?.measured).toBeLessThan(0.0025);
    expect(auc).toMatchObject({ id: "sanity.fp8.auc", status: "pass" });
  });

  it("two gradient shards summed like an all-reduce pass the parallel gate", () => {
    expect(parallelGates(RUNS, { ...parallel, layouts: ["shards2"] })).toMatchObject([{ id: "sanity.parallel", subject: "shards2 vs fp64", status: "pass", measured: 0 }]);
  });

  it("another seed is not an equivalent run: both gates fail, at a step", () => {
    const [gap] = fp8Gates(RUNS, { ...fp8, candidate: "seed2" });
    expect(gap?.status).toBe("fail");
    expect(gap?.measured).toBeGreaterThan(0.01);
    expect(gap?.step).toBeGreaterThan(0);
    const [par] = parallelGates(RUNS, { ...parallel, layouts: ["seed2"] });
    expect(par?.status).toBe("fail");
    expect(par?.measured).toBeGreaterThan(0.5);
    expect(par?.message).toMatch(/of the first 50 matched steps differ by more than 0\.02/);
  });
});

describe("sanity edge cases", () => {
  const pts = (n: number, f: (i: number) => number, every = 10): SanityPoint[] => Array.from({ length: n }, (_, i) => ({ step: (i + 1) * every, loss: f(i) }));
  const ref = pts(60, (i) => 4 - i * 0.01);

  it("a missing tag fails and lists the runs there are", () => {
    const r = fp8Gates(new Map([["bf16", ref]]), DEFAULT_POLICY.sanity.fp8);
    expect(r).toMatchObject([{ status: "fail", message: 'no run tagged "fp8" (runs: bf16)' }]);
    expect(parallelGates(new Map([["bf16", ref]]), DEFAULT_POLICY.sanity.parallel)[0]?.message).toBe('no run tagged "tp2pp2" (runs: bf16)');
  });

  it("different step grids are matched on the steps both logged, and too few matches fail", () => {
    const every15 = pts(40, (i) => 4 - (i * 15) / 1000, 15);
    const [gap] = fp8Gates(new Map([["bf16", ref], ["fp8", every15]]), DEFAULT_POLICY.sanity.fp8);
    // Steps 30, 60, … (LCM 30): 20 matched of 60 and 40.
    expect(gap?.message).toContain("over 20 matched steps");
    const sparse = pts(5, (i) => 4 - i * 0.07, 70);
    expect(fp8Gates(new Map([["bf16", ref], ["fp8", sparse]]), DEFAULT_POLICY.sanity.fp8)[0]).toMatchObject({ status: "fail", measured: 5, threshold: 10 });
  });

  it("a NaN in one run fails at its step", () => {
    const bad = ref.map((p, i) => (i === 17 ? { ...p, loss: Number.NaN } : p));
    expect(fp8Gates(new Map([["bf16", ref], ["fp8", bad]]), DEFAULT_POLICY.sanity.fp8)[0]).toMatchObject({ status: "fail", step: 180, message: "the fp8 run's loss is NaN at step 180" });
    expect(parallelGates(new Map([["bf16", ref], ["tp2pp2", bad]]), DEFAULT_POLICY.sanity.parallel)[0]).toMatchObject({ status: "fail", step: 180 });
  });

  it("the parallel gate allows 1% of steps to miss by 0.02, never one past 5%", () => {
    const p = { ...DEFAULT_POLICY.sanity.parallel, steps: 100 };
    const long = pts(100, () => 4);
    const oneMiss = long.map((x, i) => (i === 50 ? { ...x, loss: 4.03 } : x));
    expect(parallelGates(new Map([["bf16", long], ["tp2pp2", oneMiss]]), p)[0]?.status).toBe("pass");
    const twoMiss = oneMiss.map((x, i) => (i === 60 ? { ...x, loss: 4.03 } : x));
    expect(parallelGates(new Map([["bf16", long], ["tp2pp2", twoMiss]]), p)[0]).toMatchObject({ status: "fail", step: 510 });
    const wild = long.map((x, i) => (i === 70 ? { ...x, loss: 4.3 } : x));
    expect(parallelGates(new Map([["bf16", long], ["tp2pp2", wild]]), p)[0]).toMatchObject({ status: "fail", step: 710 });
  });

  it("throughput: a band, a run that logged nothing, a run without timing, and no band at all", () => {
    const timed = pts(50, () => 3).map((p) => ({ ...p, tokens: p.step * 1000, time_s: p.step / 10 }));
    const band = { min_tokens_per_s: 9000, max_tokens_per_s: 11000, after_step: 20 };
    expect(throughputGates(new Map([["bf16", timed]]), band)).toMatchObject([{ status: "pass", measured: 10000 }]);
    expect(throughputGates(new Map([["bf16", timed]]), { ...band, min_tokens_per_s: 20000 })[0]?.status).toBe("fail");
    expect(throughputGates(new Map([["oom", []]]), band)[0]).toMatchObject({ status: "fail", message: expect.stringContaining("logged nothing") });
    expect(throughputGates(new Map([["bf16", ref]]), band)[0]?.message).toContain("logs no tokens and time_s");
    expect(throughputGates(new Map([["bf16", timed]]), DEFAULT_POLICY.sanity.throughput)[0]?.status).toBe("skip");
  });

  it("evaluateSanity runs every sanity gate", () => {
    const ids = evaluateSanity(new Map([["bf16", ref], ["fp8", ref], ["tp2pp2", ref]]), DEFAULT_POLICY.sanity).map((g) => `${g.id}:${g.status}`);
    expect(ids).toEqual(["sanity.fp8.gap:pass", "sanity.fp8.auc:pass", "sanity.parallel:pass", "sanity.throughput:skip", "sanity.throughput:skip", "sanity.throughput:skip"]);
  });
});
