// `windtunnel cost`: the seed's arithmetic from the same environment variables, then the whole
// campaign (Phase 2, sanity day, imperfect filters, presets, break-even) for the booking decision.
import { ratesFromEnv } from "../../cost/rates.ts";
import { seedReport } from "../../cost/arithmetic.ts";
import { extendedReport, PRESETS, type Campaign } from "../../cost/campaign.ts";
import { UsageError } from "../../common/errors.ts";
import { months, num, ratio, usd } from "../render.ts";
import type { Io } from "../io.ts";

export interface CostFlags {
  json?: boolean;
  preset?: string;
  gpus?: number;
  wrongPickRate?: number;
  postFilterRates?: number[];
  stressHours?: number;
  sanityHours?: number;
  campaignsPerYear?: number;
}

export async function costCommand(flags: CostFlags, io: Io): Promise<number> {
  const rates = ratesFromEnv(io.env);
  const blind = flags.wrongPickRate ?? 0.5;
  for (const p of flags.postFilterRates ?? []) {
    if (p > blind) throw new UsageError(`--post-filter-rates: ${p} is above the blind wrong-pick rate ${blind}; a filter cannot make picks worse`);
  }
  let campaign: Campaign = { gpus: flags.gpus ?? 8, gpuHourlyUsd: rates.h100_hourly_usd, hours: rates.final_node_hours };
  if (flags.preset !== undefined) {
    const preset = PRESETS.find((p) => p.name === flags.preset);
    if (!preset) throw new UsageError(`--preset: unknown preset ${JSON.stringify(flags.preset)}; known: ${PRESETS.map((p) => p.name).join(", ")}`);
    campaign = { gpus: flags.gpus ?? preset.gpus, gpuHourlyUsd: preset.gpuHourlyUsd, hours: preset.hours };
  }
  const seed = seedReport(rates, blind);
  const ext = extendedReport(rates, {
    campaign,
    ...(flags.preset !== undefined ? { presetName: flags.preset } : {}),
    wrongPickRate: blind,
    ...(flags.postFilterRates ? { postFilterRates: flags.postFilterRates } : {}),
    ...(flags.stressHours !== undefined ? { stressHours: flags.stressHours } : {}),
    ...(flags.sanityHours !== undefined ? { sanityHours: flags.sanityHours } : {}),
    ...(flags.campaignsPerYear !== undefined ? { campaignsPerYear: flags.campaignsPerYear } : {}),
  });
  if (flags.json) {
    io.out(JSON.stringify({ ...seed, windtunnel: ext }, null, 2));
    return 0;
  }
  renderCost(seed, ext, io, await import("../tables.ts"));
  return 0;
}

function renderCost(seed: ReturnType<typeof seedReport>, ext: ReturnType<typeof extendedReport>, io: Io, { grid, keyValueTable }: typeof import("../tables.ts")): void {
  const r = seed.rates;
  io.out("Seed arithmetic (cost_arithmetic.py; override with H100_HOURLY_USD, FINAL_NODE_HOURS, … )");
  io.out(
    keyValueTable([
      ["H100 / H200 per GPU-h", `${usd(r.h100_hourly_usd)} / ${usd(r.h200_hourly_usd)}`],
      ["8×H100 node per hour", usd(r.cloud_8xh100_hourly)],
      ["Spark per hour", `${usd(r.spark_total_hourly)} total = ${usd(r.spark_amortized_hourly)} amortised (${usd(r.spark_capex_usd)} over ${r.spark_life_years} y) + ${usd(r.spark_electricity_hourly)} electricity (${r.spark_kw} kW × ${usd(r.kwh_usd)}/kWh)`],
      ["Phase 1 sweep", `${r.campaign_iters} candidates × ${r.iter_seconds} s`],
    ]),
  );
  const p = seed.per_iter_usd;
  const c = seed.campaign_100_iters_usd;
  io.out(
    grid(
      ["where the sweep runs", "per candidate", `${r.campaign_iters} candidates`],
      [
        ["Spark, electricity only", usd(p.spark_electricity_only), usd(c.spark_electricity_only)],
        ["Spark, total cost of use", usd(p.spark_total_cost_of_use), usd(c.spark_total_cost_of_use)],
        ["1× H100, proxy", usd(p.h100_single), usd(c.h100_single_proxy)],
        ["8× H100 node, proxy", usd(p.h100_8gpu_node), usd(c.h100_8gpu_node_proxy)],
        ["8× H100 node, target scale (60×)", usd(p.h100_8gpu_node_target_scale_60x), usd(c.h100_8gpu_node_target_scale)],
      ],
      ["left", "right", "right"],
    ),
  );
  const ev = seed.expected_value_argument;
  io.out(
    keyValueTable([
      ["final run", `8×H100 × ${r.final_node_hours} h = ${usd(seed.final_pretrain_usd["8xh100_one_week"])}`],
      ["wrong-pick rate", `${ev.wrong_pick_rate * 100}% (blind booking)`],
      ["expected loss, blind", usd(ev.expected_loss_from_blind_booking_usd)],
      ["Spark recipe search", usd(ev.spark_recipe_search_cost_usd)],
      ["expected savings", `${usd(ev.expected_savings_per_campaign_usd)} per campaign (${ratio(ev.ratio_savings_to_spark_cost)} the Spark cost)`],
      ["break-even", `${months(ext.seed_break_even_months)} at ${ext.campaigns_per_year} campaigns a year`],
      ["H100 vs Spark", `${ratio(seed.ratios.h100_single_vs_spark_electricity)} per candidate (electricity); 8×H100 ${ratio(seed.ratios.h100_8gpu_vs_spark_total)}; target scale ${ratio(seed.ratios.target_scale_8gpu_vs_spark_total)} (total cost)`],
    ]),
  );

  const cm = ext.campaign;
  const ph = ext.phases_usd;
  io.out("");
  io.out(`Whole campaign${cm.preset ? ` (${cm.preset})` : ""}: ${cm.gpus} GPUs × ${usd(cm.gpu_hourly_usd)}/GPU-h × ${cm.hours} h`);
  io.out(
    grid(
      ["phase", "where", "cost"],
      [
        ["1 recipe lab", `Spark, ${r.campaign_iters} × ${r.iter_seconds} s`, `${usd(ph.phase1_recipe_lab_spark)} (${usd(ph.phase1_recipe_lab_electricity_only)} electricity)`],
        ["2 stress test", `Spark, ${ph.phase2_stress_hours} h`, `${usd(ph.phase2_stress_spark)} (${usd(ph.phase2_stress_electricity_only)} electricity)`],
        ["3 sanity day", `cloud, ${ph.sanity_day_hours} h on ${cm.gpus} GPUs`, usd(ph.sanity_day_cloud)],
        ["3 final run", `cloud, ${cm.hours} h on ${cm.gpus} GPUs`, usd(ph.final_run_cloud)],
        ["total", "", usd(ph.total)],
      ],
      ["left", "left", "right"],
    ),
  );
  io.out(`What the filter is worth when it leaves some wrong picks (blind rate ${ext.wrong_pick.blind_rate * 100}%; filter = Phase 1 + Phase 2 + sanity day)`);
  io.out(
    grid(
      ["wrong picks left", "losses avoided", "filter cost", "expected savings", "savings ÷ cost", "Spark break-even"],
      ext.wrong_pick.scenarios.map((s) => [
        `${num(s.post_filter_wrong_pick_rate * 100)}%`,
        usd(s.wrong_picks_avoided_usd),
        usd(s.filter_cost_usd),
        usd(s.expected_savings_usd),
        ratio(s.ratio_savings_to_filter_cost),
        months(s.break_even_months),
      ]),
      ["right", "right", "right", "right", "right", "right"],
    ),
  );
  io.out("Campaign presets (seed model: blind rate, Phase 1 cost only)");
  io.out(
    grid(
      ["preset", "GPUs × h × $/GPU-h", "campaign", "expected savings", "Spark break-even"],
      ext.presets.map((pr) => [pr.name, `${pr.gpus} × ${pr.hours} × ${usd(pr.gpu_hourly_usd)}`, usd(pr.campaign_usd), usd(pr.expected_savings_per_campaign_usd), months(pr.break_even_months)]),
      ["left", "left", "right", "right", "right"],
    ),
  );
}
