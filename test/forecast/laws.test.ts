// The laws behind the forecast: the floor is a loss (never negative), on real curves cut anywhere,
// and the annealing law needs the learning rate to bend where the schedule decays.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fitLaws } from "../../src/forecast/laws.ts";
import { forecast } from "../../src/forecast/envelope.ts";
import { lrSeries, parseSchedule } from "../../src/forecast/schedule.ts";
import { fixtureCurves } from "../../bench/forecast-accuracy.ts";
import { DEFAULT_POLICY } from "../helpers/policy.ts";
import { describeWithSharedFixtures } from "../helpers/shared.ts";

describe("forecast laws", () => {
  it("never fits a negative floor, even to a curve that would want one", () => {
    // y = 10 − 2·ln x falls below zero past x ≈ 150: the unconstrained a + b·x^−c wants a < 0.
    const pts = Array.from({ length: 30 }, (_, i) => ({ x: 2 + i, y: 10 - 2 * Math.log(2 + i) }));
    const r = fitLaws({ points: pts, until: 100 });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    for (const c of r.fit.candidates) if (c.law === "saturating") expect(c.params["a"]).toBeGreaterThanOrEqual(0);
  });

  it("with a decaying schedule, the annealing law foresees the late drop that a power law cannot", () => {
    // A curve made by the law itself from a linear decay over the last 60% of 3000 steps.
    const sched = parseSchedule("total=3000,shape=linear,cooldown=0.6");
    if (!sched.ok) throw new Error(sched.reason);
    const lr = lrSeries(sched.schedule, 3001);
    let s1 = 0, s2 = 0, m = 0;
    const truth: number[] = [];
    for (let k = 0; k <= 3000; k++) {
      truth.push(3 + 4 * Math.max(s1, 1e-9) ** -0.5 - 0.0004 * s2);
      const eta = lr[k] ?? 0;
      m = 0.999 * m + Math.max(0, (lr[k - 1] ?? eta) - eta);
      s1 += eta;
      s2 += m;
    }
    const points = Array.from({ length: 24 }, (_, i) => (i + 1) * 125).map((step) => ({ step, val_loss: truth[step] as number }));
    const fitted = points.filter((p) => p.step <= 1500);
    const withSchedule = forecast({ points: fitted, policy: DEFAULT_POLICY.forecast, schedule: sched.schedule });
    const without = forecast({ points: fitted, policy: DEFAULT_POLICY.forecast, until: 3000 });
    expect(withSchedule.ok && without.ok).toBe(true);
    if (!withSchedule.ok || !without.ok) return;
    const end = truth[3000] as number;
    const err = (e: typeof withSchedule.envelope) => Math.abs((e.points.at(-1)?.expected as number) / end - 1);
    expect(withSchedule.envelope.fit.lr).toBe("schedule");
    expect(err(withSchedule.envelope)).toBeLessThan(0.01);
    expect(err(without.envelope)).toBeGreaterThan(2 * err(withSchedule.envelope));
  });

  it("parses a schedule and names what is wrong with a bad one", () => {
    expect(parseSchedule("total=4000,warmup=100,shape=cosine,final=0.1")).toMatchObject({ ok: true, schedule: { total_steps: 4000, warmup_steps: 100, shape: "cosine", cooldown_frac: 1, final_frac: 0.1 } });
    expect(parseSchedule("total=4000,shape=sine")).toMatchObject({ ok: false, reason: expect.stringContaining("shape") });
    expect(parseSchedule("steps=4000")).toMatchObject({ ok: false, reason: expect.stringContaining('"steps=4000"') });
  });
});

describeWithSharedFixtures("forecast laws on real curves", (fixtures) => {
  it("a negative floor is impossible: every fixture curve, cut at random, fits every candidate with L0, a ≥ 0", async () => {
    const curves = await fixtureCurves(fixtures);
    expect(curves.length).toBe(52);
    expect(readdirSync(join(fixtures, "curves/modded-nanogpt-optimizers")).length).toBe(12);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: curves.length - 1 }), fc.double({ min: 0.15, max: 0.9, noNaN: true }), fc.boolean(), (i, f, withSchedule) => {
        const c = curves[i] as (typeof curves)[number];
        const fitted = c.points.filter((p) => p.step <= f * c.end);
        const r = forecast({ points: fitted, policy: { ...DEFAULT_POLICY.forecast, axis: "step" }, until: c.end, ...(withSchedule && c.schedule ? { schedule: c.schedule } : {}) });
        if (!r.ok) return /too few points/.test(r.reason);
        return r.envelope.fit.candidates.every((k) => (k.params["L0"] ?? k.params["a"] ?? 0) >= 0 && (k.params["A"] ?? k.params["b"] ?? 0) >= 0) && r.envelope.points.every((p) => p.expected > 0);
      }),
      { numRuns: 60 },
    );
  }, 60_000);
});
