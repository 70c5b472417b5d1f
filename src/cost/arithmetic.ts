// The seed article's cost arithmetic, reproduced key for key and rounding for rounding
// (cost_arithmetic.py); every extension lives in campaign.ts so this stays a faithful port.
import { pyRound } from "./round.ts";
import type { Rates } from "./rates.ts";

/** The seed's blind wrong-pick rate. */
export const SEED_WRONG_PICK_RATE = 0.5;
/** Target-scale iterations are 60× longer: the target model is ~60× the proxy. */
export const TARGET_SCALE_FACTOR = 60;

export interface Derived {
  sparkAmortizedHourly: number;
  sparkElectricityHourly: number;
  sparkTotalHourly: number;
  cloud8xH100Hourly: number;
  perIter: { sparkElectricity: number; sparkTotal: number; h100Single: number; h100Node: number; h200Single: number; targetScaleNode: number };
  campaign: { sparkElectricity: number; sparkTotal: number; h100Single: number; h100Node: number; targetScaleNode: number };
  finalPretrainNode: number;
}

export function derive(r: Rates): Derived {
  const sparkAmortizedHourly = r.spark_capex_usd / (r.spark_life_years * 365.25 * 24);
  const sparkElectricityHourly = r.spark_kw * r.kwh_usd;
  const sparkTotalHourly = sparkAmortizedHourly + sparkElectricityHourly;
  const cloud8xH100Hourly = 8 * r.h100_hourly_usd;
  const perIter = (hourly: number): number => (hourly * r.iter_seconds) / 3600.0;
  const p = {
    sparkElectricity: perIter(sparkElectricityHourly),
    sparkTotal: perIter(sparkTotalHourly),
    h100Single: perIter(r.h100_hourly_usd),
    h100Node: perIter(cloud8xH100Hourly),
    h200Single: perIter(r.h200_hourly_usd),
    targetScaleNode: 0,
  };
  p.targetScaleNode = p.h100Node * TARGET_SCALE_FACTOR;
  const n = r.campaign_iters;
  return {
    sparkAmortizedHourly,
    sparkElectricityHourly,
    sparkTotalHourly,
    cloud8xH100Hourly,
    perIter: p,
    campaign: {
      sparkElectricity: p.sparkElectricity * n,
      sparkTotal: p.sparkTotal * n,
      h100Single: p.h100Single * n,
      h100Node: p.h100Node * n,
      targetScaleNode: p.targetScaleNode * n,
    },
    finalPretrainNode: cloud8xH100Hourly * r.final_node_hours,
  };
}

const ratio = (a: number, b: number, digits: number): number | null => (b > 0 ? pyRound(a / b, digits) : null);

/** The seed's JSON object, same keys, same order, same rounding. */
export function seedReport(r: Rates, wrongPickRate = SEED_WRONG_PICK_RATE) {
  const d = derive(r);
  const expectedLossBlind = wrongPickRate * d.finalPretrainNode;
  const sparkFilterCost = d.campaign.sparkTotal;
  const expectedSavings = expectedLossBlind - sparkFilterCost;
  return {
    rates: {
      ...r,
      spark_amortized_hourly: pyRound(d.sparkAmortizedHourly, 4),
      spark_electricity_hourly: pyRound(d.sparkElectricityHourly, 4),
      spark_total_hourly: pyRound(d.sparkTotalHourly, 4),
      cloud_8xh100_hourly: pyRound(d.cloud8xH100Hourly, 2),
    },
    per_iter_usd: {
      spark_electricity_only: pyRound(d.perIter.sparkElectricity, 4),
      spark_total_cost_of_use: pyRound(d.perIter.sparkTotal, 4),
      h100_single: pyRound(d.perIter.h100Single, 3),
      h100_8gpu_node: pyRound(d.perIter.h100Node, 3),
      h200_single: pyRound(d.perIter.h200Single, 3),
      h100_8gpu_node_target_scale_60x: pyRound(d.perIter.targetScaleNode, 2),
    },
    campaign_100_iters_usd: {
      spark_electricity_only: pyRound(d.campaign.sparkElectricity, 2),
      spark_total_cost_of_use: pyRound(d.campaign.sparkTotal, 2),
      h100_single_proxy: pyRound(d.campaign.h100Single, 2),
      h100_8gpu_node_proxy: pyRound(d.campaign.h100Node, 2),
      h100_8gpu_node_target_scale: pyRound(d.campaign.targetScaleNode, 2),
    },
    final_pretrain_usd: {
      "8xh100_one_week": pyRound(d.finalPretrainNode, 2),
    },
    expected_value_argument: {
      wrong_pick_rate: wrongPickRate,
      expected_loss_from_blind_booking_usd: pyRound(expectedLossBlind, 2),
      spark_recipe_search_cost_usd: pyRound(sparkFilterCost, 2),
      expected_savings_per_campaign_usd: pyRound(expectedSavings, 2),
      ratio_savings_to_spark_cost: ratio(expectedSavings, sparkFilterCost, 1),
    },
    ratios: {
      h100_single_vs_spark_electricity: ratio(d.perIter.h100Single, d.perIter.sparkElectricity, 1),
      h100_8gpu_vs_spark_total: ratio(d.perIter.h100Node, d.perIter.sparkTotal, 1),
      target_scale_8gpu_vs_spark_total: ratio(d.perIter.targetScaleNode, d.perIter.sparkTotal, 1),
    },
  };
}
