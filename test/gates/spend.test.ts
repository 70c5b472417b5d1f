import { describe, expect, it } from "vitest";
import { evaluateSpend } from "../../src/gates/spend.ts";
import { ratesFromEnv } from "../../src/cost/rates.ts";
import { campaignPlanSchema, type CampaignPlan } from "../../src/cost/campaign-plan.ts";
import { DEFAULT_POLICY } from "../helpers/policy.ts";
import { usd } from "../../src/common/format.ts";
import { campaignFailed, type GateResult } from "../../src/gates/types.ts";

const rates = ratesFromEnv({});
const plan = (o: Partial<CampaignPlan> = {}): CampaignPlan => campaignPlanSchema().parse({ instance_type: "p5.48xlarge", nodes: 1, market: "spot", node_hourly_usd: 28, hours: 168, budget_usd: 6000, hours_cap: 200, ...o });
const ids = (p: CampaignPlan) => Object.fromEntries(evaluateSpend("plan", p, DEFAULT_POLICY.spend, rates).results.map((r) => [r.id, r.status]));

describe("spend gates", () => {
  it("pass a plan inside every limit, forecasting node rate × nodes × (hours + sanity day)", () => {
    const o = evaluateSpend("plan", plan({ max_price_usd: 40 }), DEFAULT_POLICY.spend, rates);
    expect(o.forecastUsd).toBe(28 * 192);
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

  it("count every node", () => {
    const o = evaluateSpend("plan", plan({ nodes: 4, budget_usd: 1e6 }), DEFAULT_POLICY.spend, rates);
    expect(o.forecastUsd).toBe(4 * 28 * 192);
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
