import { describe, expect, it } from "vitest";
import { moneySection } from "../../src/report/sections.ts";
import { campaignPlanSchema, type CampaignPlan } from "../../src/cost/campaign-plan.ts";
import { ratesFromEnv } from "../../src/cost/rates.ts";
import { DEFAULT_POLICY } from "../helpers/policy.ts";

const plan = (o: Partial<CampaignPlan> = {}): CampaignPlan => campaignPlanSchema().parse({ instance_type: "p5.48xlarge", nodes: 1, market: "spot", node_hourly_usd: 28, hours: 168, budget_usd: 6000, hours_cap: 200, ...o });
const phases = (p: CampaignPlan) => ((moneySection(p, DEFAULT_POLICY, ratesFromEnv({})).spec as { vconcat: { data: { values: { phase: string; usd: number }[] } }[] }).vconcat[1]?.data.values ?? []).map((v) => v.phase);

// Issue 17: the report's money counts what the spend gate counts.
describe("the money section", () => {
  it("a spot plan: the expected restarts are a phase of their own and part of the forecast", () => {
    const s = moneySection(plan(), DEFAULT_POLICY, ratesFromEnv({}));
    expect(phases(plan())).toContain("expected spot restarts (cloud)");
    expect(s.caption).toContain(", of which $29.87 for the expected spot restarts.");
  });

  it("on demand: none", () => {
    const p = plan({ market: "on-demand" });
    expect(phases(p)).not.toContain("expected spot restarts (cloud)");
    expect(moneySection(p, DEFAULT_POLICY, ratesFromEnv({})).caption).not.toContain("restarts");
  });
});
