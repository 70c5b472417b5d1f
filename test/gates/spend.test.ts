import { describe, expect, it } from "vitest";
import { evaluateSpend } from "../../src/gates/spend.ts";
import { ratesFromEnv } from "../../src/cost/rates.ts";
import { campaignPlanSchema, MARKETS, type CampaignPlan } from "../../src/cost/campaign-plan.ts";
import { DEFAULT_POLICY, policyWith } from "../helpers/policy.ts";
import type { InterruptionPolicy } from "../../src/policy/schema.ts";
import type { JudgedPrice } from "../../src/cost/live-price.ts";
import fc from "fast-check";
import { usd } from "../../src/common/format.ts";
import { campaignFailed, type GateResult } from "../../src/gates/types.ts";

const rates = ratesFromEnv({});
const plan = (o: Partial<CampaignPlan> = {}): CampaignPlan => campaignPlanSchema().parse({ instance_type: "p5.48xlarge", nodes: 1, market: "spot", node_hourly_usd: 28, hours: 168, budget_usd: 6000, hours_cap: 200, ...o });
const ids = (p: CampaignPlan) => Object.fromEntries(evaluateSpend("plan", p, DEFAULT_POLICY.spend, rates).results.map((r) => [r.id, r.status]));

describe("spend gates", () => {
  it("pass a plan inside every limit, forecasting node rate × nodes × (hours + sanity day) + the expected spot restarts", () => {
    const o = evaluateSpend("plan", plan({ max_price_usd: 40 }), DEFAULT_POLICY.spend, rates);
    // 0.2 restarts a node-day × 8 days, each 10 + 10 + 5 + 30/2 = 40 min of the $28/h node
    expect(o.forecastUsd).toBeCloseTo(28 * 192 + 0.2 * 8 * (40 / 60) * 28, 9);
    expect(o.results.map((r) => `${r.id} ${r.status}`)).toEqual(["spend.budget pass", "spend.hours pass", "spend.instance pass", "spend.price pass", "spend.max_price pass", "spend.ev pass"]);
    // (0.5 − 0.2) × 28·168 − (1.01 + 9.05 + 28·24) from the cost module
    expect(o.expectedSavingsUsd).toBeCloseTo(0.3 * 4704 - (1.0076 + 22 * 0.41147 + 672), 0);
  });

  it.each([
    ["budget", { budget_usd: 5000 }, "spend.budget"],
    ["hours cap", { hours_cap: 150 }, "spend.hours"],
    ["instance type", { instance_type: "g5.48xlarge" }, "spend.instance"],
    ["price", { node_hourly_usd: 98.32, budget_usd: 1e6 }, "spend.price"],
    ["expected value", { node_hourly_usd: 2, hours: 10, sanity_hours: 24, budget_usd: 1e6 }, "spend.ev"],
  ])("fail the %s", (_n, over, id) => {
    expect(ids(plan(over as Partial<CampaignPlan>))[id]).toBe("fail");
  });

  // Red-team finding 25: a cap far below any spot price was accepted without a word.
  describe("spend.max_price", () => {
    const gate = (p: CampaignPlan) => evaluateSpend("plan", p, DEFAULT_POLICY.spend, rates).results.find((r) => r.id === "spend.max_price");

    it.each([
      [1, "fail"],
      [27.99, "fail"],
      [28, "pass"],
      [40, "pass"],
    ])("a cap of $%d/h against the $28/h the forecast assumes: %s", (cap, status) => {
      expect(gate(plan({ max_price_usd: cap }))).toMatchObject({ status, measured: cap, op: "≥", threshold: 28 });
    });

    it("says both numbers, why it matters and what AWS recommends", () => {
      expect(gate(plan({ max_price_usd: 5 }))?.message).toBe(
        "max price $5/h is below the $28/h per node the forecast assumes (node_hourly_usd): a spot request capped below the price it must pay is never fulfilled, or is reclaimed at once; AWS recommends not setting a max price",
      );
    });

    it("fails the campaign, not only a candidate", () => {
      const r = gate(plan({ max_price_usd: 5 }));
      expect(r?.scope).toBeUndefined();
      expect(campaignFailed([r as GateResult])).toBe(true);
    });

    it("skips, with the reason, when no cap is set", () => {
      expect(gate(plan())).toMatchObject({ status: "skip", measured: null, message: "no spot max price set (as AWS recommends): the request pays the spot price, at most on-demand" });
      expect(gate(plan({ market: "on-demand", node_hourly_usd: 55.04, budget_usd: 1e5 }))).toMatchObject({ status: "skip", message: "on-demand: no spot max price applies" });
    });

    it("the plan schema takes max_price_usd for spot only", () => {
      expect(plan({ max_price_usd: 40 }).max_price_usd).toBe(40);
      const r = campaignPlanSchema().safeParse({ instance_type: "p5.48xlarge", nodes: 1, market: "on-demand", node_hourly_usd: 55, hours: 1, budget_usd: 100, hours_cap: 30, max_price_usd: 60 });
      expect(r.success).toBe(false);
      expect(r.error?.issues.map((i) => [i.path.join("."), i.message])).toEqual([["max_price_usd", "max_price_usd is only for market spot"]]);
    });
  });

  it("count every node: each is interrupted on its own, and each restart stalls all of them", () => {
    const o = evaluateSpend("plan", plan({ nodes: 4, budget_usd: 1e6 }), DEFAULT_POLICY.spend, rates);
    expect(o.forecastUsd).toBeCloseTo(4 * 28 * 192 + 0.2 * 4 * 8 * (40 / 60) * 4 * 28, 9);
    expect(o.results.find((r) => r.id === "spend.budget")?.message).toBe(
      "4 × p5.48xlarge at $28/h × (168 h + 24 h sanity day) = $21,504 + $477.87 for 6.4 expected spot restarts × 40 min of all 4 nodes each = $21,981.87 against a budget of $1,000,000",
    );
  });
});

// Issue 17: a spot plan's forecast prices the restarts its interruptions are expected to cost.
describe("spend.budget: the expected spot restarts", () => {
  const budget = (p: CampaignPlan, policy = DEFAULT_POLICY) => evaluateSpend("plan", p, policy.spend, rates).results.find((r) => r.id === "spend.budget");
  const interruptions = (i: Partial<InterruptionPolicy>) => policyWith({ spend: { interruptions: i } });

  it("says what they add, how many and how long each, in the row's sentence", () => {
    expect(budget(plan())).toMatchObject({
      status: "pass",
      measured: 5405.87,
      threshold: 6000,
      message: "1 × p5.48xlarge at $28/h × (168 h + 24 h sanity day) = $5,376 + $29.87 for 1.6 expected spot restarts × 40 min each = $5,405.87 against a budget of $6,000",
    });
  });

  it.each([
    ["on-demand", { market: "on-demand", node_hourly_usd: 55.04, budget_usd: 11000 }, 55.04 * 192],
    ["capacity-block", { market: "capacity-block" }, 28 * 192],
  ] as const)("%s is never interrupted: the forecast and the sentence are the node-hours alone", (_m, over, usd) => {
    const o = evaluateSpend("plan", plan(over as Partial<CampaignPlan>), DEFAULT_POLICY.spend, rates);
    expect(o.forecastUsd).toBe(usd);
    expect(o.restarts).toEqual({ restarts: 0, minutesEach: 0, usd: 0 });
    expect(o.results[0]?.message).toMatch(/sanity day\) = \$[\d,.]+ against a budget/);
  });

  it("can be what breaks the budget: the same plan on demand at the spot price would fit", () => {
    expect(budget(plan({ budget_usd: 5400 }))).toMatchObject({ status: "fail", measured: 5405.87, threshold: 5400 });
    expect(budget(plan({ budget_usd: 5400, market: "on-demand" }))).toMatchObject({ status: "pass", measured: 5376 });
  });

  it.each([
    ["a rate of 0 prices none, and the sentence says nothing of restarts", { per_node_day: 0 }, 5376, 0],
    ["twice the rate, twice the cost", { per_node_day: 0.4 }, 5376 + 2 * 29.8667, 3.2],
    ["lost work is half the checkpoint interval: 90 min between checkpoints adds 30 min a restart", { checkpoint_every_minutes: 90 }, 5376 + 1.6 * (70 / 60) * 28, 1.6],
    ["boot, image pull and checkpoint reload each add their minutes", { boot_minutes: 20, image_pull_minutes: 0, checkpoint_reload_minutes: 15 }, 5376 + 1.6 * (50 / 60) * 28, 1.6],
  ])("%s", (_n, over, usd, restarts) => {
    const o = evaluateSpend("plan", plan({ budget_usd: 1e5 }), interruptions(over).spend, rates);
    expect(o.forecastUsd).toBeCloseTo(usd, 3);
    expect(o.restarts.restarts).toBeCloseTo(restarts, 9);
    if (restarts === 0) expect(o.results[0]?.message).not.toContain("restart");
  });

  it("property: the forecast is the node-hours plus a cost that is zero exactly off spot or at a zero rate, and grows with the rate", () => {
    fc.assert(
      fc.property(fc.constantFrom(...MARKETS), fc.integer({ min: 1, max: 16 }), fc.oneof(fc.constant(0), fc.double({ min: 1e-6, max: 5, noNaN: true })), fc.double({ min: 1, max: 2000, noNaN: true }), (market, nodes, rate, hours) => {
        const p = plan({ market, nodes, hours, budget_usd: 1e9 });
        const a = evaluateSpend("plan", p, interruptions({ per_node_day: rate }).spend, rates);
        const b = evaluateSpend("plan", p, interruptions({ per_node_day: rate * 2 }).spend, rates);
        const nodeHours = 28 * nodes * (hours + 24);
        expect(a.forecastUsd).toBe(nodeHours + a.restarts.usd);
        expect(a.restarts.usd === 0).toBe(market !== "spot" || rate === 0);
        expect(b.restarts.usd).toBeCloseTo(2 * a.restarts.usd, 6);
      }),
    );
  });
});

// Issue 17: `plan --live` hands the gates a spot quote instead of the plan's typed price.
describe("spend gates at a live price", () => {
  const live: JudgedPrice = { source: "live", market: "spot", hourly_usd: 31.46, typed_usd: 28, region: "us-east-1", az: "us-east-1b", at: "2026-12-01T09:00:00Z", asked_at: "2026-12-01T10:00:00Z", rule: "any", zones: ["us-east-1a", "us-east-1b", "us-east-1c"] };
  const judged = (p: CampaignPlan) => evaluateSpend("plan", p, DEFAULT_POLICY.spend, rates, live);

  it("judge the quote everywhere the plan's price was judged, and record it", () => {
    const o = judged(plan({ budget_usd: 7000 }));
    expect(o.price).toBe(live);
    expect(o.forecastUsd).toBeCloseTo(31.46 * 192 + 1.6 * (40 / 60) * 31.46, 9);
    expect(o.results.find((r) => r.id === "spend.budget")?.message).toBe(
      "1 × p5.48xlarge at $31.46/h (live spot price in us-east-1b since 2026-12-01T09:00:00Z, the highest of 3 AZs; typed $28/h) × (168 h + 24 h sanity day) = $6,040.32 + $33.56 for 1.6 expected spot restarts × 40 min each = $6,073.88 against a budget of $7,000",
    );
    expect(o.results.find((r) => r.id === "spend.price")).toMatchObject({ measured: 3.9325, message: "$3.93 per GPU-hour (spot, $31.46/h live in us-east-1b ÷ 8 GPUs)" });
  });

  it("a budget that holds at the typed price can fail at the quote", () => {
    expect(evaluateSpend("plan", plan(), DEFAULT_POLICY.spend, rates).results[0]?.status).toBe("pass");
    expect(judged(plan()).results[0]).toMatchObject({ status: "fail", measured: 6073.88 });
  });

  it("a spot cap is judged against the quote, and says so", () => {
    expect(judged(plan({ max_price_usd: 30, budget_usd: 7000 })).results.find((r) => r.id === "spend.max_price")).toMatchObject({
      status: "fail",
      threshold: 31.46,
      message: expect.stringContaining("is below the $31.46/h per node the forecast assumes (the live spot price)"),
    });
  });

  it("without a quote, the verdict records the typed price", () => {
    expect(evaluateSpend("plan", plan(), DEFAULT_POLICY.spend, rates).price).toEqual({ source: "typed", hourly_usd: 28 });
  });
});

describe("usd", () => {
  it.each([
    [5376, "$5,376"],
    [729.14, "$729.14"],
    [3550740.48, "$3,550,740.48"],
    [0.5, "$0.50"],
    [-1234.5, "-$1,234.50"],
    [999.999, "$1,000"],
  ])("%d → %s", (x, s) => {
    expect(usd(x)).toBe(s);
  });
});

describe("usd for tables", () => {
  it.each([
    [0.0008, "$0.0008"],
    [0.0101, "$0.0101"],
    [0.08, "$0.08"],
    [1.01, "$1.01"],
    [5000, "$5,000.00"],
    [2933.333, "$2,933.33"],
  ])("%d → %s", (x, s) => {
    expect(usd(x, true)).toBe(s);
  });
});
