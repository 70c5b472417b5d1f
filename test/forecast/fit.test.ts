import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { evalPowerLaw, fitPowerLaw } from "../../src/forecast/fit.ts";
import { expectedAt, forecast } from "../../src/forecast/envelope.ts";
import { DEFAULT_POLICY } from "../helpers/policy.ts";

const curve = (a: number, b: number, c: number, xs: number[], noise = (_i: number) => 0) => xs.map((x, i) => ({ x, y: (a + b * x ** -c) * (1 + noise(i)) }));
const grid = (from: number, to: number, n: number) => Array.from({ length: n }, (_, i) => from + ((to - from) * i) / (n - 1));

describe("power-law fit", () => {
  it("recovers a, b, c from a clean curve", () => {
    const r = fitPowerLaw(curve(2.5, 40, 0.5, grid(100, 5000, 50)));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.fit.a).toBeCloseTo(2.5, 3);
    expect(r.fit.c).toBeCloseTo(0.5, 3);
    expect(r.fit.b).toBeCloseTo(40, 1);
    expect(r.fit.r2).toBeGreaterThan(0.9999);
  });

  it("any saturating curve with 0.5% noise extrapolates 5× past its data within 2%", () => {
    fc.assert(
      fc.property(fc.double({ min: 1.5, max: 4, noNaN: true }), fc.double({ min: 5, max: 200, noNaN: true }), fc.double({ min: 0.2, max: 1.2, noNaN: true }), fc.integer({ min: 1, max: 1e6 }), (a, b, c, seed) => {
        let s = seed;
        const noise = () => ((s = (s * 16807) % 2147483647) / 2147483647 - 0.5) * 0.01;
        const xs = grid(50, 1000, 40);
        const r = fitPowerLaw(curve(a, b, c, xs, noise), { minR2: 0 });
        if (!r.ok) return r.reason.includes("did not converge") || r.reason.includes("does not fall");
        const truth = a + b * 5000 ** -c;
        return Math.abs(evalPowerLaw(r.fit, 5000) - truth) / truth < 0.02;
      }),
      { numRuns: 60 },
    );
  });

  it("a few loss spikes barely move the robust fit", () => {
    const clean = curve(2.5, 40, 0.5, grid(100, 5000, 60));
    const spiked = clean.map((p, i) => (i % 15 === 7 ? { ...p, y: p.y * 1.4 } : p));
    const r = fitPowerLaw(spiked, { minR2: 0 });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(Math.abs(evalPowerLaw(r.fit, 20000) - (2.5 + 40 * 20000 ** -0.5)) / (2.5 + 40 * 20000 ** -0.5)).toBeLessThan(0.01);
  });

  it.each([
    ["too few points", curve(2.5, 40, 0.5, grid(100, 500, 5)), "too few points to fit: 5 finite points with x > 0, at least 8 needed"],
    ["a rising curve", grid(100, 1000, 20).map((x) => ({ x, y: 2 + x / 1000 })), "does not fall"],
    ["pure noise", grid(100, 1000, 30).map((x, i) => ({ x, y: 3 + (i % 2 ? 0.05 : -0.05) })), ""],
  ])("refuses %s, saying why", (_name, pts, why) => {
    const r = fitPowerLaw(pts);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain(why);
  });
});

describe("envelope", () => {
  const policy = DEFAULT_POLICY.forecast;
  const points = grid(60, 1000, 48).map((s) => ({ step: Math.round(s), tokens: Math.round(s) * 1000, loss: 2.5 + 40 * (Math.round(s) * 1000) ** -0.3 }));

  it("projects the fitted curve, shifted by the size term, over the window; the band widens with the horizon", () => {
    const r = forecast({ points, policy, nProxy: 124e6, nTarget: 7e9, until: 1e7 });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.axis).toBe("tokens");
    const x = 5e6;
    const truth = 2.5 + 40 * x ** -0.3 - 0.5371;
    expect(Math.abs((expectedAt(r.envelope, x) as number) / truth - 1)).toBeLessThan(0.002);
    expect(r.envelope.points[0]?.x).toBe(1e6);
    expect(r.envelope.points.at(-1)?.x).toBe(1e7);
    expect(expectedAt(r.envelope, 1e4)).toBeUndefined();
    // No learning rate logged and no schedule: the schedule-free laws, weighed by the backtest.
    expect(r.envelope.fit.lr).toBe("none");
    expect(r.envelope.fit.candidates.map((c) => c.law)).toEqual(["saturating", "power"]);
    const bands = r.envelope.points.map((p) => p.band as number);
    expect(bands[0]).toBe(policy.band.floor);
    expect(bands.every((b, i) => i === 0 || b >= (bands[i - 1] as number))).toBe(true);
    expect(r.envelope.band).toBeGreaterThan(policy.band.floor);
    expect(r.envelope.band).toBe(bands.at(-1));
  });

  it("a curve in bits per byte needs the tokenizer's bytes per token to shift", () => {
    const bpb = points.map((p) => ({ step: p.step, tokens: p.tokens, val_bpb: p.loss / Math.LN2 }));
    const r = forecast({ points: bpb, policy, nProxy: 124e6, nTarget: 7e9 });
    expect(r).toMatchObject({ ok: false, reason: expect.stringContaining("bytes per token") });
    const ok = forecast({ points: bpb, policy, nProxy: 124e6, nTarget: 7e9, bytesPerToken: 4 });
    expect(ok.ok && ok.envelope.projection?.shift).toBeCloseTo(-0.5371 / (Math.LN2 * 4), 4);
  });

  it("excludes warmup: points at or before exclude_steps are not fitted", () => {
    const warm = [{ step: 10, tokens: 10_000, loss: 9 }, { step: 40, tokens: 40_000, loss: 7 }, ...points];
    const r = forecast({ points: warm, policy });
    expect(r.ok && r.envelope.fit.n).toBe(points.filter((p) => p.step > policy.exclude_steps).length);
  });
});
