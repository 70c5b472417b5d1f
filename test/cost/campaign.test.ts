import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { breakEvenMonths, extendedReport, PRESETS } from "../../src/cost/campaign.ts";
import { ratesFromEnv } from "../../src/cost/rates.ts";

const rates = ratesFromEnv({});
const small = { gpus: 8, gpuHourlyUsd: 2.5, hours: 168 };

describe("campaign economics beyond the seed", () => {
  it("breaks even in about nine months at one campaign a quarter (seed §2.5)", () => {
    expect(extendedReport(rates, { campaign: small }).seed_break_even_months).toBe(8.9);
  });

  it("prices every phase: Phase 2 on the Spark, the sanity day on the campaign's GPUs", () => {
    const r = extendedReport(rates, { campaign: small });
    expect(r.phases_usd).toMatchObject({ phase1_recipe_lab_spark: 1.01, phase2_stress_spark: 9.05, phase2_stress_electricity_only: 0.69, sanity_day_cloud: 480, final_run_cloud: 3360, total: 3850.06 });
  });

  it("values a filter that leaves 10–20% wrong picks at (blind − left) × campaign − filter cost", () => {
    const r = extendedReport(rates, { campaign: small, postFilterRates: [0, 0.1, 0.2] });
    expect(r.wrong_pick.scenarios.map((s) => [s.post_filter_wrong_pick_rate, s.wrong_picks_avoided_usd, s.expected_savings_usd])).toEqual([
      [0, 1680, 1189.94],
      [0.1, 1344, 853.94],
      [0.2, 1008, 517.94],
    ]);
  });

  it("prices the seed's three presets", () => {
    const r = extendedReport(rates, { campaign: small });
    expect(r.presets.map((p) => [p.name, p.campaign_usd, p.expected_savings_per_campaign_usd])).toEqual([
      ["7b-spot-week", 3360, 1678.99],
      ["ondemand-3wk", 14112, 7054.99],
      ["70b-1024gpu-21d", 3550740.48, 1775369.23],
    ]);
    expect(PRESETS.every((p) => p.source.length > 0)).toBe(true);
  });

  it("never breaks even when the filter saves nothing", () => {
    expect(breakEvenMonths(5000, 0, 4)).toBeNull();
    expect(breakEvenMonths(5000, -10, 4)).toBeNull();
  });

  it("saves less, the more wrong picks the filter leaves (property)", () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 0.5, noNaN: true }), fc.double({ min: 0, max: 0.5, noNaN: true }), (a, b) => {
        const [lo, hi] = a < b ? [a, b] : [b, a];
        const r = extendedReport(rates, { campaign: small, postFilterRates: [lo, hi] });
        const [s0, s1] = r.wrong_pick.scenarios;
        expect(s0!.expected_savings_usd).toBeGreaterThanOrEqual(s1!.expected_savings_usd);
      }),
    );
  });
});
