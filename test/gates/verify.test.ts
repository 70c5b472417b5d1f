// The verify gate: a real held-out run passes against a forecast from its own early part; the
// same run with a real divergence (the learning rate × 30 at step 900) fails right there.
import { readFileSync } from "node:fs";
import { join } from "node:path";
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
  for (const p of points) m.push({ step: p.step, x: p.tokens, loss: p.loss });
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
    expect(r.message).toMatch(/loss left the ±5\.00% band at step \d+ .* for 5 points in a row; worst \+\d+\.\d+% at step \d+/);
  });

  it("one spike is not a failure; the same spike held for `patience` points is", () => {
    const spiky = steady.map((p, i) => (i === 35 ? { ...p, loss: p.loss * 1.5 } : p));
    expect(judge(spiky, env).status).toBe("pass");
    const held = steady.map((p, i) => (i >= 35 && i < 41 ? { ...p, loss: p.loss * 1.5 } : p));
    expect(judge(held, env, { ...DEFAULT_POLICY.verify, smooth: 1 })).toMatchObject({ status: "fail", step: (steady[35] as P).step });
  });

  it("better than forecast passes under `above` (reported) and fails under `both`", () => {
    const better = steady.map((p) => (p.step > 700 ? { ...p, loss: p.loss * 0.9 } : p));
    const above = judge(better, env);
    expect(above.status).toBe("pass");
    expect(above.message).toContain("better than forecast by up to");
    expect(judge(better, env, policyWith({ verify: { direction: "both" } }).verify).status).toBe("fail");
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
    for (const p of pts) m.push({ step: p.step, x: p.step, loss: p.val_loss });
    const g = m.finish();
    expect(g.status).toBe("pass");
    expect(g.message).toMatch(/^20\d points inside the window/);
  });
});
