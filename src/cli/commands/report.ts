// `windtunnel report`: the evidence a lead brings to the booking decision, as one self-contained
// HTML file (or one PNG per figure): the sweep, the stress curves with their failures, the
// forecast (and the cloud curve over it), the sanity day, the money, and the gate table. The
// gates are the same run as `windtunnel gate` on the same files.
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { UsageError } from "../../common/errors.ts";
import { assertNotAnInput, describeWriteError, makeDirs, writeFileAtomic } from "../../common/files.ts";
import type { ReadOptions } from "../../evidence/read.ts";
import type { MetricPoint } from "../../evidence/schemas.ts";
import { loadPolicy, policyFileOf } from "../../policy/load.ts";
import { ratesFromEnv } from "../../cost/rates.ts";
import { extendedReport } from "../../cost/campaign.ts";
import { campaignFailed } from "../../gates/types.ts";
import { LOCAL_PHASES, type Phase } from "../../gates/phases.ts";
import { verdictDigest, type Verdict } from "../../gates/verdict.ts";
import { assumptionOf, describeFit, forecast, type Envelope } from "../../forecast/envelope.ts";
import { readPoint, SERIES_WORDS, type LossSeries } from "../../forecast/reading.ts";
import { groupSanityRuns, sanitySource, type SanitySource } from "../../gates/sanity.ts";
import { judge, judgeWithOutcomes } from "../../judge/evaluate.ts";
import { classifyEvidence, curveNames, readCampaignFile, readEnvelopeFile, readMetricPoints, type EvidenceFile } from "../../judge/evidence.ts";
import { FIGURE_IDS, failuresOf, forecastSpec, moneySpec, sanitySpec, stressSpec, sweepSpec, type Series, type Spec, type SweepCandidate } from "../../report/figures.ts";
import { minMaxDownsample } from "../../report/downsample.ts";
import { maxOf, minOf } from "../../gates/stats.ts";
import { reportHtml, type ReportFigure } from "../../report/html.ts";
import { toPng, toSvg } from "../../report/render.ts";
import type { Io } from "../io.ts";

export interface ReportFlags {
  out: string;
  format: "html" | "png";
  policy: string;
  campaign?: string;
  envelope?: string;
  cloud?: string;
  sanity: string[];
  title?: string;
  /** Why there is no forecast (the caller tried one and it refused): the report says so. */
  forecastNote?: string;
  read: ReadOptions;
}

/** Points a figure draws per curve: min–max buckets keep every spike. */
const BUCKETS = 400;

/** A curve as a figure draws it: the stress gates' series (training loss, else validation loss) by step. */
const lossSeries = (name: string, points: readonly MetricPoint[]): Series => {
  const useLoss = points.some((p) => p.loss !== undefined);
  return readSeries(name, points, { axis: "step", series: useLoss ? "loss" : "val_loss" });
};

/** A curve on a forecast's series and axis: the core's one reading rule. */
const readSeries = (name: string, points: readonly MetricPoint[], sel: { axis: "step" | "tokens"; series?: LossSeries | undefined }): Series => {
  const xy = points.map((p) => readPoint(sel, p)).filter((r) => r !== undefined).map((r) => ({ x: r.x, y: r.y }));
  return { name, points: minMaxDownsample(xy, BUCKETS) };
};

export async function reportCommand(files: readonly string[], flags: ReportFlags, io: Io): Promise<number> {
  const inputs = [...files, ...flags.sanity, ...[policyFileOf(flags.policy), flags.campaign, flags.envelope, flags.cloud].filter((f): f is string => f !== undefined)];
  assertNotAnInput("--out", flags.format === "png" ? [flags.out, ...FIGURE_IDS.map((id) => join(flags.out, `${id}.png`))] : [flags.out], inputs);
  const loaded = await loadPolicy(flags.policy);
  const policy = loaded.policy;
  const ev = await classifyEvidence(files, flags.read);
  const campaignFile = flags.campaign ?? ev.campaignFile;
  if (!ev.trajectory && ev.curves.length === 0) throw new UsageError("report needs evidence: a Phase 1 trajectory and/or Phase 2 curves");
  const phases: Phase[] = LOCAL_PHASES.filter((p) => (p === "sweep" ? ev.trajectory : p === "stress" ? ev.curves.length > 0 : campaignFile !== undefined));
  const rates = ratesFromEnv(io.env);
  const base = resolve(flags.format === "html" ? join(flags.out, "..") : flags.out);
  const campaign = campaignFile !== undefined ? await readCampaignFile(campaignFile) : undefined;
  // One policy load and one read of the trajectory for every gate and figure below.
  const judged = { policyRef: flags.policy, policy: loaded, read: flags.read, rates, base };
  const { verdict, sweep } = await judgeWithOutcomes({ ...judged, phases, curves: ev.curves, ...(ev.trajectory ? { trajectory: ev.trajectory } : {}), ...(campaign ? { campaign } : {}) });
  const gates = [...verdict.gates];
  const notes: string[] = [];
  const specs: { id: string; title: string; caption: string; spec: Spec }[] = [];

  // The sweep: every distinct candidate, repeats as spread, the finalists marked.
  if (sweep) {
    const s = sweep;
    const finalists = new Set(s.finalists.map((f) => f.hash));
    const candidates: SweepCandidate[] = s.groups.map((g) => ({ id: g.id, label: g.label, mean: g.mean, min: minOf(g.values), max: maxOf(g.values), n: g.n, kind: finalists.has(g.hash) ? "finalist" : g.baseline ? "baseline" : g.separable ? "separable" : "other" }));
    const sign = policy.sweep.metric.goal === "min" ? -1 : 1;
    const threshold = s.reference ? s.reference.value + sign * policy.sweep.separation.z * s.noise.sigma * Math.sqrt(1 + 1 / s.reference.n) : undefined;
    const knobs = new Map<string, Set<string>>();
    for (const g of s.groups) for (const [k, v] of Object.entries(g.config)) (knobs.get(k) ?? knobs.set(k, new Set()).get(k))?.add(JSON.stringify(v));
    const varied = [...knobs].filter(([, v]) => v.size > 1).map(([k, v]) => `${k} ×${v.size}`);
    const evaluations = s.groups.reduce((n, g) => n + g.n, 0);
    specs.push({
      id: "sweep",
      title: "Phase 1: the recipe lab",
      caption: `${evaluations} evaluations of ${s.groups.length} distinct configs (${evaluations - s.groups.length} were repeats); knobs varied: ${varied.join(", ") || "none"}. Noise σ ${s.noise.sigma.toPrecision(3)} (${s.noise.source}).`,
      spec: sweepSpec({ metric: policy.sweep.metric.name, candidates, ...(s.reference ? { reference: { label: s.reference.label, value: s.reference.value } } : {}), ...(threshold !== undefined ? { threshold } : {}), sigma: s.noise.sigma, z: policy.sweep.separation.z }),
    });
  }

  // The stress test: the finalists' curves side by side, failures at their steps.
  const curves: { file: EvidenceFile; name: string; points: MetricPoint[] }[] = [];
  const names = curveNames(ev.curves.map((c) => c.file));
  for (const [i, c] of ev.curves.entries()) curves.push({ file: c, name: names[i] as string, points: (await readMetricPoints(c, flags.read)).points });
  if (curves.length > 0) {
    const series = curves.map((c) => lossSeries(c.name, c.points));
    const failures = failuresOf(gates, series);
    const sentences = failures.map((f) => `${f.curve}: ${f.gate} at step ${f.x}: ${f.message}`);
    // The caption tells every failing stress gate, also those the figure cannot mark (no step,
    // a curve with no finite point, the campaign-level ones): it once said "No stress gate
    // failed" under three failures.
    const marked = new Set(failures.map((f) => `${f.gate}\u0000${f.curve}`));
    const unmarked = gates.filter((g) => g.phase === "stress" && g.status === "fail" && !marked.has(`${g.id}\u0000${g.subject}`)).map((g) => `${g.subject}: ${g.id}: ${g.message}`);
    const told = [...sentences, ...unmarked];
    specs.push({ id: "stress", title: "Phase 2: the stress test", caption: `${curves.length} curves, training loss (else validation loss) by step; each failing gate is marked where its trouble starts.${told.length > 0 ? ` ${told.join(" · ")}` : " No stress gate failed."}`, spec: stressSpec(series, failures, "step") });
  }

  // The forecast: the given envelope, or one made here from the best surviving curve.
  let envFile: ReturnType<typeof readEnvelopeFile> | undefined;
  let env: Envelope | undefined;
  let envWhy = "";
  if (flags.envelope !== undefined) {
    envFile = readEnvelopeFile(flags.envelope);
    env = envFile.envelope;
  } else if (curves.length > 0) {
    const alive = verdict.stress?.curves.filter((c) => c.survived).map((c) => c.subject) ?? [];
    const pick = curves.find((c) => alive.includes(c.name)) ?? curves[0];
    if (pick) {
      const r = forecast({ points: pick.points, policy: policy.forecast });
      if (r.ok) env = { ...r.envelope, source: { curve: pick.name } };
      else envWhy = `no forecast from ${pick.name}: ${r.reason}`;
    }
  }
  let cloudPoints: MetricPoint[] | undefined;
  if (flags.cloud !== undefined) {
    const c = (await classifyEvidence([flags.cloud], flags.read)).curves[0];
    if (!c) throw new UsageError(`--cloud ${flags.cloud}: expected metrics`);
    cloudPoints = (await readMetricPoints(c, flags.read)).points;
    // An envelope made here is bound by the sha256 of its JSON, as a file's is by its bytes.
    const made = env && !envFile ? { file: "envelope (made by the report)", envelope: env, sha256: createHash("sha256").update(JSON.stringify(env)).digest("hex") } : undefined;
    const against = envFile ?? made;
    if (against) gates.push(...(await judge({ ...judged, phases: ["verify"], curves: [c], envelope: against })).gates);
  }
  if (env) {
    const axis = env.axis;
    const f = env.fit;
    // `forecast` records the curve's file name; the report names curves without the extension.
    const sourceName = env.source?.curve;
    const source = curves.find((c) => sourceName !== undefined && (c.name === sourceName || c.name === sourceName.replace(/\.(jsonl|log|txt)$/, "")));
    const what = SERIES_WORDS[env.series ?? "loss"];
    specs.push({
      id: "forecast",
      title: "The forecast",
      caption: `${describeFit(env)} (${what})${env.projection ? `, shifted ${env.projection.shift.toPrecision(3)} ${env.unit} to ${env.projection.n_target.toPrecision(3)} parameters (${env.projection.constants})` : "; no size shift: the proxy's own curve extended, not the target's (forecast --proxy-params --target-params)"}${assumptionOf(env) ? `; ${assumptionOf(env)}` : ""}. Its own band: ±${((env.points[0]?.band ?? env.band) * 100).toFixed(1)}% → ±${(env.band * 100).toFixed(1)}%${env.coverage !== undefined ? `, calibrated to hold ${Math.round(env.coverage * 100)}% of held-out points` : ""}; the verify gate's: ±${(policy.verify.band * 100).toFixed(0)}%${env.band > policy.verify.band ? " (narrower than the forecast's own at the end: too uncertain to verify at that band there)" : ""}.`,
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
    });
  } else if (curves.length > 0) {
    notes.push(`Forecast: ${flags.forecastNote ?? (envWhy || "none given")} (windtunnel forecast --out envelope.json, then report --envelope).`);
  }

  // The sanity day.
  if (flags.sanity.length > 0) {
    const sanityFiles = (await classifyEvidence(flags.sanity, flags.read)).curves;
    // The runs as the sanity gates group them: by node, then by tag (one node's runs never mix with another's).
    const sources: SanitySource[] = [];
    for (const c of sanityFiles) sources.push(sanitySource(c.file, (await readMetricPoints(c, flags.read)).points));
    const { nodes } = groupSanityRuns(sources);
    const runs = [...nodes].flatMap(([node, byTag]) => [...byTag].map(([tag, pts]) => ({ name: nodes.size > 1 ? `${node}/${tag}` : tag, points: pts.map((p, line) => ({ step: p.step, line, loss: p.loss })) })));
    specs.push({ id: "sanity", title: "The sanity day", caption: `${runs.length} runs by ${nodes.size > 1 ? "node and " : ""}tag: ${runs.map((r) => r.name).join(", ")}.`, spec: sanitySpec(runs.map((r) => lossSeries(r.name, r.points)), "step") });
    gates.push(...(await judge({ ...judged, phases: ["sanity"], curves: sanityFiles })).gates);
  }

  // The money.
  if (campaign) {
    const plan = campaign.plan;
    const x = extendedReport(rates, { campaign: { gpus: plan.nodes * plan.gpus_per_node, gpuHourlyUsd: plan.node_hourly_usd / plan.gpus_per_node, hours: plan.hours }, wrongPickRate: policy.spend.wrong_pick_rate, postFilterRates: [policy.spend.post_filter_wrong_pick_rate], sanityHours: plan.sanity_hours });
    const sc = x.wrong_pick.scenarios[0];
    specs.push({
      id: "money",
      title: "The money",
      caption: `A blind booking picks wrong ${(policy.spend.wrong_pick_rate * 100).toFixed(0)}% of the time (seed §2.2), the filter leaves ${(policy.spend.post_filter_wrong_pick_rate * 100).toFixed(0)}%: expected savings $${sc?.expected_savings_usd.toLocaleString("en-US")} for $${sc?.filter_cost_usd.toLocaleString("en-US")} of lab and sanity day. Campaign forecast $${x.phases_usd.total.toLocaleString("en-US")}.`,
      spec: moneySpec({
        blindLossUsd: x.wrong_pick.blind_rate * x.campaign.final_run_usd,
        filterCostUsd: sc?.filter_cost_usd ?? 0,
        savingsUsd: sc?.expected_savings_usd ?? 0,
        phases: [
          { phase: "Phase 1: recipe lab (Spark)", usd: x.phases_usd.phase1_recipe_lab_spark },
          { phase: "Phase 2: stress test (Spark)", usd: x.phases_usd.phase2_stress_spark },
          { phase: "sanity day (cloud)", usd: x.phases_usd.sanity_day_cloud },
          { phase: "final run (cloud)", usd: x.phases_usd.final_run_cloud },
        ],
      }),
    });
  }

  const svgs = await Promise.all(specs.map((s) => toSvg(s.spec)));
  const figures: ReportFigure[] = specs.map((s, i) => ({ id: s.id, title: s.title, caption: s.caption, svg: svgs[i] as string }));
  const shownVerdict: Verdict = { ...verdict, gates, pass: !campaignFailed(gates) };
  if (flags.format === "png") {
    try {
      makeDirs(flags.out);
    } catch (err) {
      throw new UsageError(`--out ${flags.out}: cannot create the folder: ${describeWriteError(err)}`, { cause: err });
    }
    for (const f of figures) writeFileSync(join(flags.out, `${f.id}.png`), await toPng(f.svg));
    io.out(`wrote ${figures.length} figures to ${join(flags.out, "/")}: ${figures.map((f) => `${f.id}.png`).join(", ")}`);
  } else {
    await writeFileAtomic(flags.out, reportHtml({ title: flags.title ?? "windtunnel campaign report", generated: `generated ${new Date().toISOString()}`, verdict: shownVerdict, digest: verdictDigest(verdict), figures, notes }));
    io.out(`wrote ${flags.out} (${figures.map((f) => f.id).join(", ")}; ${gates.length} gates, ${shownVerdict.pass ? "PASS" : "FAIL"})`);
  }
  return 0;
}
