// The report's sections, each a figure with its title and caption, assembled from the outcomes
// the gates already computed: what the sweep found, where the stress gates failed, the forecast
// with the cloud curve over it, the sanity day's runs, the money. Pure: the report command reads
// the files and writes the HTML or PNGs.
import { pct } from "../common/format.ts";
import type { MetricPoint } from "../evidence/schemas.ts";
import type { Policy } from "../policy/schema.ts";
import type { Rates } from "../cost/rates.ts";
import { extendedReport } from "../cost/campaign.ts";
import { restartCost, type CampaignPlan } from "../cost/campaign-plan.ts";
import type { GateResult } from "../gates/types.ts";
import { separationThreshold, type SweepOutcome } from "../gates/sweep.ts";
import type { SanityNodes } from "../gates/sanity.ts";
import { maxOf, minOf } from "../gates/stats.ts";
import { assumptionOf, describeFit, type Envelope } from "../forecast/envelope.ts";
import { readPoint, SERIES_WORDS, type LossSeries } from "../forecast/reading.ts";
import { minMaxDownsample } from "./downsample.ts";
import { failuresOf, forecastSpec, moneySpec, sanitySpec, stressSpec, sweepSpec, type Series, type Spec, type SweepCandidate } from "./figures.ts";

export interface Section {
  id: string;
  title: string;
  caption: string;
  spec: Spec;
}

/** A curve the report draws, named as the gate table names it. */
export interface NamedCurve {
  name: string;
  points: readonly MetricPoint[];
}

/** Points a figure draws per curve: min–max buckets keep every spike. */
const BUCKETS = 400;

/** A curve as a figure draws it: the stress gates' series (training loss, else validation loss) by step. */
export const lossSeries = (name: string, points: readonly MetricPoint[]): Series => {
  const useLoss = points.some((p) => p.loss !== undefined);
  return readSeries(name, points, { axis: "step", series: useLoss ? "loss" : "val_loss" });
};

/** A curve on a forecast's series and axis: the core's one reading rule. */
export const readSeries = (name: string, points: readonly MetricPoint[], sel: { axis: "step" | "tokens"; series?: LossSeries | undefined }): Series => {
  const xy = points.map((p) => readPoint(sel, p)).filter((r) => r !== undefined).map((r) => ({ x: r.x, y: r.y }));
  return { name, points: minMaxDownsample(xy, BUCKETS) };
};

/** Phase 1: every distinct candidate, repeats as spread, the finalists marked, the separation line. */
export function sweepSection(s: SweepOutcome, policy: Policy): Section {
  const finalists = new Set(s.finalists.map((f) => f.hash));
  const candidates: SweepCandidate[] = s.groups.map((g) => ({ id: g.id, label: g.label, mean: g.mean, min: minOf(g.values), max: maxOf(g.values), n: g.n, kind: finalists.has(g.hash) ? "finalist" : g.baseline ? "baseline" : g.separable ? "separable" : "other" }));
  const threshold = separationThreshold(s, policy);
  const knobs = new Map<string, Set<string>>();
  for (const g of s.groups) for (const [k, v] of Object.entries(g.config)) (knobs.get(k) ?? knobs.set(k, new Set()).get(k))?.add(JSON.stringify(v));
  const varied = [...knobs].filter(([, v]) => v.size > 1).map(([k, v]) => `${k} ×${v.size}`);
  const evaluations = s.groups.reduce((n, g) => n + g.n, 0);
  return {
    id: "sweep",
    title: "Phase 1: the recipe lab",
    caption: `${evaluations} evaluations of ${s.groups.length} distinct configs (${evaluations - s.groups.length} were repeats); knobs varied: ${varied.join(", ") || "none"}. Noise σ ${s.noise.sigma.toPrecision(3)} (${s.noise.source}).`,
    spec: sweepSpec({ metric: policy.sweep.metric.name, candidates, ...(s.reference ? { reference: { label: s.reference.label, value: s.reference.value } } : {}), ...(threshold !== undefined ? { threshold } : {}), sigma: s.noise.sigma, z: policy.sweep.separation.z }),
  };
}

/** Phase 2: the finalists' curves side by side, each failing stress gate marked or told. */
export function stressSection(curves: readonly NamedCurve[], gates: readonly GateResult[]): Section {
  const series = curves.map((c) => lossSeries(c.name, c.points));
  const failures = failuresOf(gates, series);
  const sentences = failures.map((f) => `${f.curve}: ${f.gate} at step ${f.x}: ${f.message}`);
  // The caption tells every failing stress gate, also those the figure cannot mark (no step,
  // a curve with no finite point, the campaign-level ones): it once said "No stress gate
  // failed" under three failures.
  const marked = new Set(failures.map((f) => `${f.gate}\u0000${f.curve}`));
  const unmarked = gates.filter((g) => g.phase === "stress" && g.status === "fail" && !marked.has(`${g.id}\u0000${g.subject}`)).map((g) => `${g.subject}: ${g.id}: ${g.message}`);
  const told = [...sentences, ...unmarked];
  return { id: "stress", title: "Phase 2: the stress test", caption: `${curves.length} curves, training loss (else validation loss) by step; each failing gate is marked where its trouble starts.${told.length > 0 ? ` ${told.join(" · ")}` : " No stress gate failed."}`, spec: stressSpec(series, failures, "step") };
}

/** The forecast, with the Phase 2 points it fitted and the cloud run over it when given. */
export function forecastSection(env: Envelope, policy: Policy, source: NamedCurve | undefined, cloudPoints: readonly MetricPoint[] | undefined): Section {
  const axis = env.axis;
  const f = env.fit;
  const what = SERIES_WORDS[env.series ?? "loss"];
  return {
    id: "forecast",
    title: "The forecast",
    caption: `${describeFit(env)} (${what})${env.projection ? `, shifted ${env.projection.shift.toPrecision(3)} ${env.unit} to ${env.projection.n_target.toPrecision(3)} parameters (${env.projection.constants})` : "; no size shift: the proxy's own curve extended, not the target's (forecast --proxy-params --target-params)"}${assumptionOf(env) ? `; ${assumptionOf(env)}` : ""}. Its own band: ±${pct(env.points[0]?.band ?? env.band, 1)} → ±${pct(env.band, 1)}${env.coverage !== undefined ? `, calibrated to hold ${pct(env.coverage, 0)} of held-out points` : ""}; the verify gate's: ±${pct(policy.verify.band, 0)}${env.band > policy.verify.band ? " (narrower than the forecast's own at the end: too uncertain to verify at that band there)" : ""}.`,
    spec: forecastSpec({
      axis,
      unit: env.unit,
      envelope: env.points,
      ownBand: env.band,
      coverage: env.coverage,
      band: policy.verify.band,
      ...(f && Array.isArray(f.curve) ? { fitted: { name: "fitted law", points: f.curve } } : {}),
      // The points that were fitted: the envelope's own series (validation points when validation was fitted).
      ...(source ? { proxy: readSeries(`Phase 2: ${source.name} (${what})`, source.points.filter((p) => p.step > policy.forecast.exclude_steps), env) } : {}),
      ...(cloudPoints ? { cloud: readSeries("cloud run", cloudPoints, env) } : {}),
    }),
  };
}

/** The sanity day's runs, by node and tag as the sanity gates group them. */
export function sanitySection(nodes: SanityNodes): Section {
  const runs = [...nodes].flatMap(([node, byTag]) => [...byTag].map(([tag, pts]) => ({ name: nodes.size > 1 ? `${node}/${tag}` : tag, points: pts.map((p, line) => ({ step: p.step, line, loss: p.loss })) })));
  return { id: "sanity", title: "The sanity day", caption: `${runs.length} runs by ${nodes.size > 1 ? "node and " : ""}tag: ${runs.map((r) => r.name).join(", ")}.`, spec: sanitySpec(runs.map((r) => lossSeries(r.name, r.points)), "step") };
}

/** What the filter is worth against a blind booking, and where the campaign's money goes. */
export function moneySection(plan: CampaignPlan, policy: Policy, rates: Rates): Section {
  const x = extendedReport(rates, { campaign: { gpus: plan.nodes * plan.gpus_per_node, gpuHourlyUsd: plan.node_hourly_usd / plan.gpus_per_node, hours: plan.hours }, wrongPickRate: policy.spend.wrong_pick_rate, postFilterRates: [policy.spend.post_filter_wrong_pick_rate], sanityHours: plan.sanity_hours });
  const sc = x.wrong_pick.scenarios[0];
  const restarts = restartCost(plan, policy.spend.interruptions).usd;
  return {
    id: "money",
    title: "The money",
    caption: `A blind booking picks wrong ${pct(policy.spend.wrong_pick_rate, 0)} of the time (seed §2.2), the filter leaves ${pct(policy.spend.post_filter_wrong_pick_rate, 0)}: expected savings $${sc?.expected_savings_usd.toLocaleString("en-US")} for $${sc?.filter_cost_usd.toLocaleString("en-US")} of lab and sanity day. Campaign forecast $${(x.phases_usd.total + restarts).toLocaleString("en-US")}${restarts > 0 ? `, of which $${restarts.toLocaleString("en-US", { maximumFractionDigits: 2 })} for the expected spot restarts` : ""}.`,
    spec: moneySpec({
      blindLossUsd: x.wrong_pick.blind_rate * x.campaign.final_run_usd,
      filterCostUsd: sc?.filter_cost_usd ?? 0,
      savingsUsd: sc?.expected_savings_usd ?? 0,
      phases: [
        { phase: "Phase 1: recipe lab (Spark)", usd: x.phases_usd.phase1_recipe_lab_spark },
        { phase: "Phase 2: stress test (Spark)", usd: x.phases_usd.phase2_stress_spark },
        { phase: "sanity day (cloud)", usd: x.phases_usd.sanity_day_cloud },
        { phase: "final run (cloud)", usd: x.phases_usd.final_run_cloud },
        ...(restarts > 0 ? [{ phase: "expected spot restarts (cloud)", usd: restarts }] : []),
      ],
    }),
  };
}
