// Spend gates: the plan must fit the budget (its node-hours and, on spot, its expected restarts),
// the hours cap, the allowed instance types and a sane price, a spot max price must not sit below
// the price the forecast assumes, and the evidence-gated filter must be worth more than it costs
// (cost module's arithmetic). The price judged is the plan's own, or a live quote the shell passes.
import type { SpendPolicy } from "../policy/schema.ts";
import type { Rates } from "../cost/rates.ts";
import { extendedReport } from "../cost/campaign.ts";
import { nodeHoursUsd, restartCost, type CampaignPlan, type RestartCost } from "../cost/campaign-plan.ts";
import { priceWords, type JudgedPrice } from "../cost/live-price.ts";
import { gate, type GateResult } from "./types.ts";
import { fmt, round, usd } from "../common/format.ts";

export interface SpendOutcome {
  results: GateResult[];
  forecastUsd: number;
  expectedSavingsUsd: number;
  restarts: RestartCost;
  /** The node price the gates judged, and where it came from. */
  price: JudgedPrice;
}

/**
 * `price` replaces the plan's node_hourly_usd everywhere it is judged (a live spot quote); without
 * it the plan's own price is judged, and the outcome says so.
 */
export function evaluateSpend(subject: string, typed: CampaignPlan, policy: SpendPolicy, rates: Rates, price: JudgedPrice = { source: "typed", hourly_usd: typed.node_hourly_usd }): SpendOutcome {
  const plan: CampaignPlan = { ...typed, node_hourly_usd: price.hourly_usd };
  const restarts = restartCost(plan, policy.interruptions);
  const forecast = nodeHoursUsd(plan) + restarts.usd;
  const wall = plan.hours + plan.sanity_hours;
  const perGpu = plan.node_hourly_usd / plan.gpus_per_node;
  const gpus = plan.nodes * plan.gpus_per_node;
  const ev = extendedReport(rates, {
    campaign: { gpus, gpuHourlyUsd: perGpu, hours: plan.hours },
    wrongPickRate: policy.wrong_pick_rate,
    postFilterRates: [policy.post_filter_wrong_pick_rate],
    sanityHours: plan.sanity_hours,
  });
  const scenario = ev.wrong_pick.scenarios[0];
  const savings = scenario?.expected_savings_usd ?? 0;
  const results: GateResult[] = [
    gate("spend", "spend.budget", subject).judged(forecast <= plan.budget_usd, {
      measured: round(forecast, 2),
      op: "≤",
      threshold: plan.budget_usd,
      message: `${plan.nodes} × ${plan.instance_type} at ${priceWords(price)} × (${plan.hours} h + ${plan.sanity_hours} h sanity day) = ${usd(nodeHoursUsd(plan))}${restartWords(restarts, plan.nodes, forecast)} against a budget of ${usd(plan.budget_usd)}`,
    }),
    gate("spend", "spend.hours", subject).judged(wall <= plan.hours_cap, {
      measured: wall,
      op: "≤",
      threshold: plan.hours_cap,
      message: `${wall} h of wall time (final run + sanity day) against a cap of ${plan.hours_cap} h`,
    }),
    gate("spend", "spend.instance", subject).judged(policy.allowed_instance_types.includes(plan.instance_type), {
      measured: plan.instance_type,
      op: "in",
      threshold: policy.allowed_instance_types.join(", "),
      message: policy.allowed_instance_types.includes(plan.instance_type) ? `${plan.instance_type} is allowed` : `${plan.instance_type} is not an allowed instance type (${policy.allowed_instance_types.join(", ")})`,
    }),
    gate("spend", "spend.price", subject).judged(perGpu <= policy.max_gpu_hourly_usd, {
      measured: round(perGpu, 4),
      op: "≤",
      threshold: policy.max_gpu_hourly_usd,
      message: `${usd(perGpu)} per GPU-hour (${plan.market}, ${usd(plan.node_hourly_usd)}/h${price.source === "live" ? ` live in ${price.az}` : ""} ÷ ${plan.gpus_per_node} GPUs)`,
    }),
    maxPrice(plan, subject, price.source),
    policy.require_positive_ev
      ? gate("spend", "spend.ev", subject).judged(savings > 0, {
          measured: savings,
          op: ">",
          threshold: 0,
          message: `filter worth ${usd(savings)}: (${policy.wrong_pick_rate * 100}% − ${policy.post_filter_wrong_pick_rate * 100}% wrong picks) × ${usd(ev.campaign.final_run_usd)} − ${usd(scenario?.filter_cost_usd ?? 0)} (Phase 1 + Phase 2 + sanity day)`,
        })
      : gate("spend", "spend.ev", subject).skip("not required by the policy", { measured: savings }),
  ];
  return { results, forecastUsd: forecast, expectedSavingsUsd: savings, restarts, price };
}

/** ", + $29.87 for 1.6 expected spot restarts × 40 min each = $5,405.87", or nothing off spot. */
function restartWords(r: RestartCost, nodes: number, forecast: number): string {
  if (r.restarts === 0) return "";
  const each = `${fmt(r.minutesEach)} min${nodes > 1 ? ` of all ${nodes} nodes` : ""} each`;
  return ` + ${usd(r.usd)} for ${fmt(r.restarts)} expected spot restart${r.restarts === 1 ? "" : "s"} × ${each} = ${usd(forecast)}`;
}

/**
 * A spot request capped below the price the forecast assumes is never fulfilled, or is reclaimed
 * as soon as the spot price passes the cap (red-team finding 25): the campaign waits, or its node
 * dies mid-run, while the budget says all is well. No policy value: the plan's own hourly price is
 * the threshold. AWS recommends not setting a max price at all (the spot price applies, capped at
 * on-demand), so no cap is a skip, not a failure.
 */
function maxPrice(plan: CampaignPlan, subject: string, source: JudgedPrice["source"]): GateResult {
  const g = gate("spend", "spend.max_price", subject);
  const cap = plan.max_price_usd;
  if (cap === undefined) {
    const message = plan.market === "spot" ? "no spot max price set (as AWS recommends): the request pays the spot price, at most on-demand" : `${plan.market}: no spot max price applies`;
    return g.skip(message);
  }
  const ok = cap >= plan.node_hourly_usd;
  return g.judged(ok, {
    measured: cap,
    op: "≥",
    threshold: plan.node_hourly_usd,
    message: ok
      ? `max price ${usd(cap)}/h covers the ${usd(plan.node_hourly_usd)}/h per node the forecast assumes`
      : `max price ${usd(cap)}/h is below the ${usd(plan.node_hourly_usd)}/h per node the forecast assumes (${source === "live" ? "the live spot price" : "node_hourly_usd"}): a spot request capped below the price it must pay is never fulfilled, or is reclaimed at once; AWS recommends not setting a max price`,
  });
}
