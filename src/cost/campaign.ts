// Beyond the seed: what a whole evidence-gated campaign costs (Phase 1, the Phase 2 stress test,
// the cloud sanity day, the final run), what the filter is worth when it does not remove every
// wrong pick, and how long the desk box takes to pay for itself.
import { pyRound } from "./round.ts";
import { derive, SEED_WRONG_PICK_RATE } from "./arithmetic.ts";
import type { Rates } from "./rates.ts";

export interface Campaign {
  /** GPUs booked for the final run. */
  gpus: number;
  gpuHourlyUsd: number;
  hours: number;
}

export interface Preset extends Campaign {
  name: string;
  description: string;
  source: string;
}

/** The seed's three campaign sizes. */
export const PRESETS: readonly Preset[] = [
  {
    name: "7b-spot-week",
    description: "7B on one 8×H100 node, spot, one week",
    gpus: 8,
    gpuHourlyUsd: 2.5,
    hours: 168,
    source: "seed §2.5: $2.50/GPU-h neocloud spot, 168 h ≈ $3,360",
  },
  {
    name: "ondemand-3wk",
    description: "slightly larger target on one 8×H100 node, on-demand, three weeks",
    gpus: 8,
    gpuHourlyUsd: 3.5,
    hours: 504,
    source: "seed §2.5: H100_HOURLY_USD=3.50 FINAL_NODE_HOURS=504 ≈ $14,112",
  },
  {
    name: "70b-1024gpu-21d",
    description: "70B Llama-class on 1,024 H100s for 21 days",
    gpus: 1024,
    gpuHourlyUsd: 6.88,
    hours: 504,
    source: "seed §2.9 (\"roughly $3M\"); rate = AWS p5.48xlarge on-demand ≈ $55.04/h ÷ 8 GPUs, us-east-1",
  },
];

export interface ExtendedOptions {
  campaign: Campaign;
  presetName?: string;
  /** Wrong-pick rate of a blind booking. @default 0.5 (the seed) */
  wrongPickRate?: number;
  /** Wrong-pick rates left after the filter; 0 is the seed's implicit assumption. @default [0, 0.1, 0.2] */
  postFilterRates?: readonly number[];
  /** Spark wall hours of Phase 2 (top 3 × 1,000 steps). @default 22 (seed §2.4) */
  stressHours?: number;
  /** Cloud hours of the sanity day on the campaign's GPUs. @default 24 (seed §2.7) */
  sanityHours?: number;
  /** @default 4 (one campaign per quarter, seed §2.5) */
  campaignsPerYear?: number;
}


export function campaignCost(c: Campaign): number {
  return c.gpus * c.gpuHourlyUsd * c.hours;
}

/** Months until the saved money repays the desk box; null when the filter saves nothing. */
export function breakEvenMonths(capexUsd: number, savingsPerCampaign: number, campaignsPerYear: number): number | null {
  if (savingsPerCampaign <= 0 || campaignsPerYear <= 0) return null;
  return pyRound((capexUsd / savingsPerCampaign) * (12 / campaignsPerYear), 1);
}

export function extendedReport(r: Rates, o: ExtendedOptions) {
  const d = derive(r);
  const blind = o.wrongPickRate ?? SEED_WRONG_PICK_RATE;
  const stressHours = o.stressHours ?? 22;
  const sanityHours = o.sanityHours ?? 24;
  const perYear = o.campaignsPerYear ?? 4;
  const finalRun = campaignCost(o.campaign);
  const phase1 = d.campaign.sparkTotal;
  const phase2 = stressHours * d.sparkTotalHourly;
  const sanityDay = o.campaign.gpus * o.campaign.gpuHourlyUsd * sanityHours;
  const filterCost = phase1 + phase2 + sanityDay;

  const scenarios = (o.postFilterRates ?? [0, 0.1, 0.2]).map((post) => {
    const savings = (blind - post) * finalRun - filterCost;
    return {
      post_filter_wrong_pick_rate: post,
      wrong_picks_avoided_usd: pyRound((blind - post) * finalRun, 2),
      filter_cost_usd: pyRound(filterCost, 2),
      expected_savings_usd: pyRound(savings, 2),
      ratio_savings_to_filter_cost: filterCost > 0 ? pyRound(savings / filterCost, 1) : null,
      break_even_months: breakEvenMonths(r.spark_capex_usd, savings, perYear),
    };
  });

  const presets = PRESETS.map((p) => {
    const cost = campaignCost(p);
    const seedSavings = blind * cost - phase1;
    return {
      name: p.name,
      description: p.description,
      gpus: p.gpus,
      gpu_hourly_usd: p.gpuHourlyUsd,
      hours: p.hours,
      campaign_usd: pyRound(cost, 2),
      expected_loss_from_blind_booking_usd: pyRound(blind * cost, 2),
      expected_savings_per_campaign_usd: pyRound(seedSavings, 2),
      ratio_savings_to_spark_cost: phase1 > 0 ? pyRound(seedSavings / phase1, 1) : null,
      break_even_months: breakEvenMonths(r.spark_capex_usd, seedSavings, perYear),
      source: p.source,
    };
  });

  return {
    campaign: {
      preset: o.presetName ?? null,
      gpus: o.campaign.gpus,
      gpu_hourly_usd: o.campaign.gpuHourlyUsd,
      hours: o.campaign.hours,
      final_run_usd: pyRound(finalRun, 2),
    },
    phases_usd: {
      phase1_recipe_lab_spark: pyRound(phase1, 2),
      phase1_recipe_lab_electricity_only: pyRound(d.campaign.sparkElectricity, 2),
      phase2_stress_spark: pyRound(phase2, 2),
      phase2_stress_electricity_only: pyRound(stressHours * d.sparkElectricityHourly, 2),
      phase2_stress_hours: stressHours,
      sanity_day_cloud: pyRound(sanityDay, 2),
      sanity_day_hours: sanityHours,
      final_run_cloud: pyRound(finalRun, 2),
      total: pyRound(filterCost + finalRun, 2),
    },
    wrong_pick: {
      blind_rate: blind,
      scenarios,
    },
    seed_break_even_months: breakEvenMonths(r.spark_capex_usd, blind * d.finalPretrainNode - phase1, perYear),
    campaigns_per_year: perYear,
    presets,
  };
}
