// `windtunnel report`: the evidence a lead brings to the booking decision, as one self-contained
// HTML file (or one PNG per figure): the sweep, the stress curves with their failures, the
// forecast (and the cloud curve over it), the sanity day, the money, the spot attempts (from the
// watchdog's state.json, the record `watch` reads), and the gate table. The gates are the same run
// as `windtunnel gate` on the same files.
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { UsageError } from "../../common/errors.ts";
import { assertNotAnInput, describeWriteError, makeDirs, writeFileAtomic } from "../../common/files.ts";
import type { ReadOptions } from "../../evidence/read.ts";
import type { MetricPoint } from "../../evidence/schemas.ts";
import { loadPolicy, policyFileOf } from "../../policy/load.ts";
import { ratesFromEnv } from "../../cost/rates.ts";
import { campaignFailed } from "../../gates/types.ts";
import { LOCAL_PHASES } from "../../gates/phases.ts";
import { missingEvidence, type PhaseEvidence } from "../../judge/phases.ts";
import { given } from "../flags.ts";
import { verdictDigest, type Verdict } from "../../gates/verdict.ts";
import { forecast, type Envelope } from "../../forecast/envelope.ts";
import { groupSanityRuns, sanitySource, type SanitySource } from "../../gates/sanity.ts";
import { judge, judgeWithOutcomes } from "../../judge/evaluate.ts";
import { classifyEvidence, curveNames, readCampaignFile, readEnvelopeFile, readMetricPoints, type EvidenceFile } from "../../judge/evidence.ts";
import { FIGURE_IDS } from "../../report/figures.ts";
import { forecastSection, moneySection, sanitySection, stressSection, sweepSection, type Section } from "../../report/sections.ts";
import { reportHtml, type ReportFigure } from "../../report/html.ts";
import { attemptsSection, type ReportTable } from "../../report/attempts.ts";
import { attemptsStateSchema } from "../../campaign/attempt-ledger.ts";
import { readJsonFile } from "../../evidence/json-file.ts";
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
  /** The watchdog's state.json (watchdog/<campaign>/<stage>/state.json in the bucket): the spot attempts. */
  attempts?: string;
  title?: string;
  /** Why there is no forecast (the caller tried one and it refused): the report says so. */
  forecastNote?: string;
  read: ReadOptions;
}

export async function reportCommand(files: readonly string[], flags: ReportFlags, io: Io): Promise<number> {
  const inputs = [...files, ...flags.sanity, ...[policyFileOf(flags.policy), flags.campaign, flags.envelope, flags.cloud, flags.attempts].filter((f): f is string => f !== undefined)];
  assertNotAnInput("--out", flags.format === "png" ? [flags.out, ...FIGURE_IDS.map((id) => join(flags.out, `${id}.png`))] : [flags.out], inputs);
  const loaded = await loadPolicy(flags.policy);
  const policy = loaded.policy;
  const ev = await classifyEvidence(files, flags.read);
  const campaignFile = flags.campaign ?? ev.campaignFile;
  if (!ev.trajectory && ev.curves.length === 0) throw new UsageError("report needs evidence: a Phase 1 trajectory and/or Phase 2 curves");
  const rates = ratesFromEnv(io.env);
  const base = resolve(flags.format === "html" ? join(flags.out, "..") : flags.out);
  const campaign = campaignFile !== undefined ? await readCampaignFile(campaignFile) : undefined;
  const local: PhaseEvidence = { curves: ev.curves, ...given("trajectory", ev.trajectory), ...given("campaign", campaign) };
  // Every phase judged before a booking whose evidence is here, as the registry says.
  const phases = LOCAL_PHASES.filter((p) => missingEvidence([p], local).length === 0);
  // One policy load and one read of the trajectory for every gate and figure below.
  const judged = { policyRef: flags.policy, policy: loaded, read: flags.read, rates, base };
  const { verdict, sweep } = await judgeWithOutcomes({ ...judged, ...local, phases });
  const gates = [...verdict.gates];
  const notes: string[] = [];
  const specs: Section[] = [];

  // The sweep: every distinct candidate, repeats as spread, the finalists marked.
  if (sweep) specs.push(sweepSection(sweep, policy));

  // The stress test: the finalists' curves side by side, failures at their steps.
  const curves: { file: EvidenceFile; name: string; points: MetricPoint[] }[] = [];
  const names = curveNames(ev.curves.map((c) => c.file));
  for (const [i, c] of ev.curves.entries()) curves.push({ file: c, name: names[i] as string, points: (await readMetricPoints(c, flags.read)).points });
  if (curves.length > 0) specs.push(stressSection(curves, gates));

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
    // `forecast` records the curve's file name; the report names curves without the extension.
    const sourceName = env.source?.curve;
    const source = curves.find((c) => sourceName !== undefined && (c.name === sourceName || c.name === sourceName.replace(/\.(jsonl|log|txt)$/, "")));
    specs.push(forecastSection(env, policy, source, cloudPoints));
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
    specs.push(sanitySection(nodes));
    gates.push(...(await judge({ ...judged, phases: ["sanity"], curves: sanityFiles })).gates);
  }

  // The money.
  if (campaign) specs.push(moneySection(campaign.plan, policy, rates));

  // The spot attempts, as the watchdog recorded them: each at the price it recorded (a state from
  // before prices were kept is priced at the campaign plan's, when one is given).
  const tables: ReportTable[] = [];
  if (flags.attempts !== undefined) {
    const { value, sha256 } = readJsonFile(flags.attempts, attemptsStateSchema(), "watchdog state");
    tables.push(attemptsSection(value, { file: flags.attempts, sha256 }, { now: new Date(), hourlyUsd: campaign ? campaign.plan.node_hourly_usd * campaign.plan.nodes : undefined }));
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
    io.out(`wrote ${figures.length} figures to ${join(flags.out, "/")}: ${figures.map((f) => `${f.id}.png`).join(", ")}${tables.length > 0 ? ` (the ${tables.map((t) => t.id).join(", ")} table is in the HTML report only)` : ""}`);
  } else {
    await writeFileAtomic(flags.out, reportHtml({ title: flags.title ?? "windtunnel campaign report", generated: `generated ${new Date().toISOString()}`, verdict: shownVerdict, digest: verdictDigest(verdict), figures, tables, notes }));
    io.out(`wrote ${flags.out} (${[...figures, ...tables].map((f) => f.id).join(", ")}; ${gates.length} gates, ${shownVerdict.pass ? "PASS" : "FAIL"})`);
  }
  return 0;
}
