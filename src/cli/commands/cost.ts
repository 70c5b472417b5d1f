// `windtunnel cost`: the seed's arithmetic from the same environment variables, then the whole
// campaign (Phase 2, sanity day, imperfect filters, presets, break-even) for the booking decision.
import { ratesFromEnv } from "../../cost/rates.ts";
import { seedReport } from "../../cost/arithmetic.ts";
import { extendedReport, PRESETS, type Campaign } from "../../cost/campaign.ts";
import { UsageError } from "../../common/errors.ts";
import { months, num, ratio, usd } from "../render.ts";
import type { Io } from "../io.ts";
import { REGION_FORM } from "../../infra/instance-types.ts";
import { CAPACITY_BLOCK_WARNING, perNodeHourUsd, type SpotQuote } from "../../cost/live-price.ts";
import type { Ec2Api, LiveReport, Unavailable } from "../../infra/live-prices.ts";

export interface CostFlags {
  json?: boolean;
  /** Ask AWS for today's prices of the node too (issue 17). */
  live?: boolean;
  instanceType?: string;
  regions?: string[];
  /** An EC2 endpoint URL (moto_server in the tests). */
  endpoint?: string;
  preset?: string;
  gpus?: number;
  wrongPickRate?: number;
  postFilterRates?: number[];
  stressHours?: number;
  sanityHours?: number;
  campaignsPerYear?: number;
}

/** What the live prices are asked through: the tests pass stand-ins where moto_server lacks an API. */
export interface CostDeps {
  ec2?: (region: string) => Ec2Api;
  now?: Date;
}

export async function costCommand(flags: CostFlags, io: Io, deps: CostDeps = {}): Promise<number> {
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
  const live = flags.live ? await liveReport(flags, campaign, flags.sanityHours ?? 24, io, deps) : undefined;
  if (flags.json) {
    io.out(JSON.stringify({ ...seed, windtunnel: ext, ...(live ? { live } : {}) }, null, 2));
    return 0;
  }
  const tables = await import("../tables.ts");
  renderCost(seed, ext, io, tables);
  if (live) renderLive(live, io, tables);
  return 0;
}

/** The campaign's node (8 GPUs each) as AWS prices it now, in each region asked. */
async function liveReport(flags: CostFlags, campaign: Campaign, sanityHours: number, io: Io, deps: CostDeps): Promise<LiveReport> {
  const { askLivePrices, ec2Clients } = await import("../../infra/live-prices.ts");
  const regions = flags.regions ?? [io.env["AWS_REGION"] ?? io.env["AWS_DEFAULT_REGION"] ?? "us-east-1"];
  for (const r of regions) if (!REGION_FORM.test(r)) throw new UsageError(`--regions: expected AWS region names such as us-east-1, got ${JSON.stringify(r)}`);
  return askLivePrices(deps.ec2 ?? ec2Clients(flags.endpoint), {
    instanceType: flags.instanceType ?? "p5.48xlarge",
    regions,
    nodes: Math.ceil(campaign.gpus / GPUS_PER_NODE),
    bookingHours: campaign.hours + sanityHours,
    now: deps.now ?? new Date(),
  });
}

const GPUS_PER_NODE = 8;
const unavailable = (x: object): x is Unavailable => "unavailable" in x;

function renderLive(live: LiveReport, io: Io, { grid }: typeof import("../tables.ts")): void {
  io.out("");
  io.out(`Live prices for ${live.nodes} × ${live.instance_type} (AWS, asked ${live.asked_at}; a spot price holds from "since" until it changes)`);
  const spot = live.regions.flatMap((r) => (r.spot.length === 0 ? [[r.region, "none quoted", "", "", ""]] : r.spot.map((q) => [r.region, q.az, usd(q.usd), usd(q.usd / GPUS_PER_NODE), q.at])));
  io.out(grid(["region", "AZ", "spot $/node-h", "$/GPU-h", "since"], spot, ["left", "left", "right", "right", "left"]));
  for (const r of live.regions) {
    const top = r.spot.reduce<SpotQuote | undefined>((a, b) => (a === undefined || b.usd > a.usd ? b : a), undefined);
    if (top) io.out(`${r.region}: the highest is ${usd(top.usd)}/node-h in ${top.az}, what plan --live judges for a node without a subnet (EC2 picks its AZ)`);
  }
  const scores = live.placement_scores;
  if (unavailable(scores)) io.out(`Spot placement scores: not available (${scores.unavailable})`);
  else {
    io.out(`Spot placement scores for ${live.nodes} node${live.nodes === 1 ? "" : "s"} (1: unlikely to be fulfilled, 10: very likely; advice, not a reservation)`);
    io.out(grid(["region", "AZ id", "score"], scores.map((s) => [s.region, s.azId ?? "(region)", String(s.score)]), ["left", "left", "right"]));
  }
  for (const r of live.regions) {
    const cb = r.capacity_blocks;
    if (unavailable(cb)) io.out(`Capacity Blocks, ${r.region}: not available (${cb.unavailable})`);
    else if (cb.offerings.length === 0) io.out(`Capacity Blocks, ${r.region}: none on sale for ${live.nodes} × ${live.instance_type}, ${cb.hours} h`);
    else {
      io.out(`Capacity Blocks, ${r.region}: ${live.nodes} × ${live.instance_type} for ${cb.hours} h`);
      io.out(grid(["AZ", "start", "end", "upfront", "$/node-h"], cb.offerings.map((o) => [o.az, o.start, o.end, `${usd(o.upfrontUsd)}${o.currency === "USD" ? "" : ` ${o.currency}`}`, usd(perNodeHourUsd(o))]), ["left", "left", "left", "right", "right"]));
    }
  }
  io.out(CAPACITY_BLOCK_WARNING);
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
