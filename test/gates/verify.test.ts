// The verify gate: a real held-out run passes against a forecast from its own early part; the
// same run with a real divergence (the learning rate × 30 at step 900) fails right there.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { forecast, type Envelope } from "../../src/forecast/envelope.ts";
import { EnvelopeMonitor } from "../../src/gates/verify.ts";
import { DEFAULT_POLICY, policyWith } from "../helpers/policy.ts";
import { REPO, describeWithSharedFixtures } from "../helpers/shared.ts";

interface P { step: number; loss: number; tokens: number }
const DIR = join(REPO, "test/fixtures/cloud");
const cases = JSON.parse(readFileSync(join(DIR, "cases.json"), "utf8")) as { verify: { fitToStep: number; jumpAt: number; logEvery: number } };
const read = (f: string): P[] => readFileSync(join(DIR, f), "utf8").trim().split("\n").map((l) => JSON.parse(l) as P);
const steady = read("verify-steady.jsonl");
const jumped = read("verify-lr-jump.jsonl");

function envelopeFrom(points: readonly P[], until: number): Envelope {
  const r = forecast({ points: points.filter((p) => p.step <= cases.verify.fitToStep), policy: DEFAULT_POLICY.forecast, until });
  if (!r.ok) throw new Error(r.reason);
  return r.envelope;
}

function judge(points: readonly P[], env: Envelope, policy = DEFAULT_POLICY.verify) {
  const m = new EnvelopeMonitor("cloud", env, policy);
  for (const p of points) m.push(p);
  return m.finish();
}

describe("verify gate on really trained cloud-like runs", () => {
  const env = envelopeFrom(steady, (steady.at(-1) as P).tokens);

  it("the steady run stays inside the ±5% band after its own early part made the forecast", () => {
    const r = judge(steady, env);
    expect(r).toMatchObject({ id: "verify.envelope", phase: "verify", status: "pass" });
    expect(r.measured).toBeLessThan(0.02);
  });

  it("the same run with the learning rate × 30 after step 900 fails within four logged points of it", () => {
    const r = judge(jumped, env);
    expect(r.status).toBe("fail");
    expect(r.step).toBeGreaterThan(cases.verify.jumpAt);
    expect(r.step).toBeLessThanOrEqual(cases.verify.jumpAt + 4 * cases.verify.logEvery);
    expect(r.message).toMatch(/^worse than forecast: the training loss stayed above the ±5\.00% band for 5 points in a row from step \d+ \(tokens \d+\): [\d.]+ against [\d.]+ expected \(\+\d+\.\d+%\)$/);
    expect(r.measured as number).toBeGreaterThan(r.threshold as number);
  });

  it("one spike is not a failure; the same spike held for `patience` points is", () => {
    const spiky = steady.map((p, i) => (i === 35 ? { ...p, loss: p.loss * 1.5 } : p));
    expect(judge(spiky, env).status).toBe("pass");
    const held = steady.map((p, i) => (i >= 35 && i < 41 ? { ...p, loss: p.loss * 1.5 } : p));
    expect(judge(held, env, { ...DEFAULT_POLICY.verify, smooth: 1 })).toMatchObject({ status: "fail", step: (steady[35] as P).step });
  });

  it("sustained below the band fails as 'proxy substitution broken' (two-sided, the seed's rule); under `above` it passes and says what it did not judge", () => {
    const better = steady.map((p) => (p.step > 700 ? { ...p, loss: p.loss * 0.9 } : p));
    const both = judge(better, env);
    expect(both).toMatchObject({ status: "fail", op: "≤" });
    expect(both.message).toMatch(/^better than the forecast can explain: the training loss stayed below the ±5\.00% band .*proxy substitution broken: investigate/);
    expect(both.measured as number).toBeGreaterThan(both.threshold as number);
    const above = judge(better, env, policyWith({ verify: { direction: "above" } }).verify);
    expect(above.status).toBe("pass");
    expect(above.message).toMatch(/below the forecast by 1\d\.\d\d% for 5 points from step \d+, not judged \(verify.direction is above\)/);
    expect(above.measured as number).toBeLessThanOrEqual(above.threshold as number);
  });

  it("a ✓ row never shows a measured value beyond its threshold, even after a short excursion past it", () => {
    // Four points 8% high (one short of patience), then back: a pass whose measured value is the
    // deviation held for `patience` points, not the spike.
    const brief = steady.map((p, i) => (i >= 40 && i < 44 ? { ...p, loss: p.loss * 1.08 } : p));
    const r = judge(brief, env, { ...DEFAULT_POLICY.verify, smooth: 1 });
    expect(r.status).toBe("pass");
    expect(r.measured as number).toBeLessThanOrEqual(r.threshold as number);
    expect(r.message).toMatch(/^\d+ points inside the window stayed within ±\d+\.\d\d% of the forecast: the largest deviation held for 5 points in a row was [+−]\d\.\d\d% from step \d+/);
  });

  it("where the forecast's own band is wider than ±5%, the gate says it is too uncertain to verify at ±5% and judges against the band", () => {
    const r = judge(steady, env);
    const widest = Math.max(...env.points.map((p) => p.band as number));
    expect(widest).toBeGreaterThan(0.05);
    expect(r.status).toBe("pass");
    expect(r.threshold).toBeCloseTo(widest, 3);
    expect(r.message).toMatch(/too uncertain to verify at ±5\.00% from step \d+ \(tokens \d+\) on: the forecast's own band is wider there, up to ±\d\.\d\d%/);
    // A narrow hand-written envelope (no bands of its own) is judged at ±5% and says nothing of it.
    const narrow = { ...env, band: 0.01, points: env.points.map(({ x, expected }) => ({ x, expected })) };
    const n = judge(steady, narrow);
    expect(n.threshold).toBe(0.05);
    expect(n.message).not.toContain("too uncertain");
  });

  it("every row is a sentence that matches its ✓/✗: a pass never shows a value past its threshold, a fail always does", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 59 }), fc.integer({ min: 1, max: 20 }), fc.double({ min: 0.7, max: 1.4, noNaN: true }), fc.constantFrom("both" as const, "above" as const), (from, length, factor, direction) => {
        const bent = steady.map((p, i) => (i >= from && i < from + length ? { ...p, loss: p.loss * factor } : p));
        const r = judge(bent, env, { ...DEFAULT_POLICY.verify, direction });
        const m = r.measured as number;
        const t = r.threshold as number;
        if (r.status === "pass") return m <= t && /^\d+ points inside the window stayed within ±\d+\.\d\d% of the forecast: /.test(r.message) && r.message.includes(`±${(t * 100).toFixed(2)}%`);
        if (r.status === "fail") return m > t && /^(worse than forecast: the training loss stayed above|better than the forecast can explain: the training loss stayed below) the ±\d+\.\d\d% band for 5 points in a row from step \d+/.test(r.message) && (factor > 1 || direction === "both");
        return false;
      }),
      { numRuns: 200 },
    );
  });

  it("a NaN fails at once; a run that has not reached the window is skipped", () => {
    const nan = steady.map((p, i) => (i === 40 ? { ...p, loss: Number.NaN } : p));
    expect(judge(nan, env)).toMatchObject({ status: "fail", step: (steady[40] as P).step });
    expect(judge(steady.filter((p) => p.step <= 300), env)).toMatchObject({ status: "skip" });
  });
});

describeWithSharedFixtures("verify gate on a real 60K-step run (GPT-2 medium, modded-nanogpt)", (fixtures) => {
  it("a forecast from steps 50–10,000 holds the curve to step 60,000 within ±5%", () => {
    const pts = readFileSync(join(fixtures, "curves/modded-nanogpt-speedrun/gpt2-medium-60k-val.log"), "utf8")
      .split("\n")
      .map((l) => /^s:(\d+)\s+tel:(\S+)/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ step: Number(m[1]), val_loss: Number(m[2]) }));
    const r = forecast({ points: pts.filter((p) => p.step <= 10_000), policy: { ...DEFAULT_POLICY.forecast, axis: "step" }, until: 60_000 });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const m = new EnvelopeMonitor("gpt2-medium", r.envelope, DEFAULT_POLICY.verify);
    for (const p of pts) m.push(p);
    const g = m.finish();
    expect(g.status).toBe("pass");
    expect(g.message).toMatch(/^20\d points inside the window/);
  });
});
