// The campaign plan's fast path may only accept what campaignPlanSchema accepts, and what it
// accepts is used as parsed, so it must return exactly the schema's output (defaults, key order).
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { campaignPlanSchema, MARKETS, plainCampaignPlan } from "../../src/cost/campaign-plan.ts";

const value = fc.oneof(
  fc.integer({ min: -3, max: 10 }),
  fc.double(),
  fc.constantFrom(Number.NaN, Infinity, -Infinity, -0, 0, 2 ** 53, 2 ** 53 + 2, 1e308, 0.5, -0.5, -1, 8, 24),
  fc.string({ maxLength: 3 }),
  fc.constantFrom("", "spot", "on-demand", "capacity-block", "p5.48xlarge"),
  fc.constant(null),
  fc.boolean(),
  fc.constant([1]),
  fc.constant({ a: 1 }),
);
const KEYS = ["instance_type", "nodes", "gpus_per_node", "market", "node_hourly_usd", "hours", "sanity_hours", "budget_usd", "hours_cap", "max_price_usd", "extra"] as const;
const arbitrary = fc.record(Object.fromEntries(KEYS.map((k) => [k, value])) as Record<(typeof KEYS)[number], typeof value>, { requiredKeys: [] });
/** Usually a valid value of the field, sometimes anything. */
const mostly = <T,>(good: fc.Arbitrary<T>) => fc.oneof({ arbitrary: good, weight: 12 }, { arbitrary: value, weight: 1 });
const positive = fc.oneof(fc.double({ min: 1e-6, max: 1e6, noNaN: true }), fc.integer({ min: 1, max: 1000 }));
const nearlyValid = fc.record(
  {
    instance_type: mostly(fc.string({ minLength: 1, maxLength: 12 })),
    nodes: mostly(fc.integer({ min: 1, max: 64 })),
    gpus_per_node: mostly(fc.integer({ min: 1, max: 16 })),
    market: mostly(fc.constantFrom(...MARKETS)),
    node_hourly_usd: mostly(positive),
    hours: mostly(positive),
    sanity_hours: mostly(fc.oneof(positive, fc.constantFrom(0, -0), fc.double({ min: -2, max: 0, noNaN: true }))),
    budget_usd: mostly(positive),
    hours_cap: mostly(positive),
    max_price_usd: mostly(positive),
    extra: fc.oneof({ arbitrary: fc.constant(undefined), weight: 5 }, { arbitrary: value, weight: 1 }),
  },
  { requiredKeys: ["instance_type", "nodes", "market", "node_hourly_usd", "hours", "budget_usd", "hours_cap"] },
);

describe("campaign plan fast path", () => {
  it.each([
    ["arbitrary objects", arbitrary, 0],
    ["nearly valid plans", nearlyValid, 100],
  ])("never accepts what campaignPlanSchema rejects, and returns its output exactly (%s)", (_name, arb, atLeast) => {
    let accepted = 0;
    fc.assert(
      fc.property(arb, (raw) => {
        // fast-check's records have no prototype; YAML's maps are plain objects. Both must be safe.
        for (const o of [raw, { ...raw }]) {
          const fast = plainCampaignPlan(o);
          if (fast === undefined) continue;
          accepted++;
          const r = campaignPlanSchema().safeParse(o);
          expect(r.success, JSON.stringify(o)).toBe(true);
          if (!r.success) continue;
          expect(Object.keys(fast)).toEqual(Object.keys(r.data));
          for (const k of Object.keys(r.data) as (keyof typeof fast)[]) expect(Object.is(fast[k], r.data[k]), k).toBe(true);
        }
      }),
      { numRuns: 3000, seed: 16 },
    );
    expect(accepted).toBeGreaterThanOrEqual(atLeast);
  });

  it("takes most plans the schema takes: the fast path is the common path", () => {
    let schema = 0;
    let fast = 0;
    fc.assert(
      fc.property(nearlyValid, (raw) => {
        const o = { ...raw };
        if (!campaignPlanSchema().safeParse(o).success) return;
        schema++;
        if (plainCampaignPlan(o) !== undefined) fast++;
      }),
      { numRuns: 2000, seed: 17 },
    );
    // Only what the schema itself cannot tell from a plain object differs: none in these plans.
    expect(fast).toBe(schema);
  });

  it.each([
    ["a fractional node count", { nodes: 1.5 }],
    ["an unknown key", { gpu: 8 }],
    ["a max price off spot", { market: "on-demand", max_price_usd: 30 }],
    ["an infinite budget", { budget_usd: Infinity }],
    ["a negative sanity day", { sanity_hours: -0.5 }],
    ["no nodes", { nodes: 0 }],
    ["an empty instance type", { instance_type: "" }],
  ])("leaves %s to the schema, which rejects it", (_name, change) => {
    const plan = { instance_type: "p5.48xlarge", nodes: 1, market: "spot", node_hourly_usd: 28, hours: 168, budget_usd: 6000, hours_cap: 200, ...change };
    expect(plainCampaignPlan(plan)).toBeUndefined();
    expect(campaignPlanSchema().safeParse(plan).success).toBe(false);
  });

  it("fills the schema's defaults", () => {
    expect(plainCampaignPlan({ instance_type: "p5.48xlarge", nodes: 1, market: "spot", node_hourly_usd: 28, hours: 168, budget_usd: 6000, hours_cap: 200 })).toMatchObject({ gpus_per_node: 8, sanity_hours: 24 });
  });
});
