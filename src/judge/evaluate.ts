// The I/O shell around the gate engine: read evidence files, run the pure gates, bind the verdict
// to the files by sha256. `windtunnel gate`, the Pulumi program and `windtunnel plan` all call
// this, so a campaign is judged the same way wherever it is judged.
import { createHash } from "node:crypto";
import { basename, extname, relative, resolve } from "node:path";
import { InputError, UsageError } from "../common/errors.ts";
import { detectFormat, openEvidence, readTrajectoryFile, TRAJECTORY_FORMATS, type Detected, type ReadOptions } from "../evidence/read.ts";
import { parseYaml, validateYaml } from "../evidence/yaml.ts";
import { readInputFile } from "../common/files.ts";
import { parseJsonText } from "../evidence/json.ts";
import { describeIssue } from "../evidence/issues.ts";
import { loadPolicy, BUILTIN_POLICIES, BUILTIN_POLICY_DIR, type LoadedPolicy } from "../policy/load.ts";
import { ratesFromEnv, type Rates } from "../cost/rates.ts";
import { campaignPlanSchema, type CampaignPlan } from "../cost/campaign-plan.ts";
import type { GateResult } from "../gates/types.ts";
import type { Phase } from "../gates/phases.ts";
import { evaluateSweep, type SweepOutcome } from "../gates/sweep.ts";
import { CurveMonitor, survivorsGate, type CurveOutcome } from "../gates/stress.ts";
import { evaluateSpend, type SpendOutcome } from "../gates/spend.ts";
import { buildVerdict, verdictSchema, type EvidenceRef, type ReadRecord, type Verdict } from "../gates/verdict.ts";
import { evaluateSanityNodes, groupSanityRuns, sanitySource, type SanitySource } from "../gates/sanity.ts";
import { EnvelopeMonitor } from "../gates/verify.ts";
import { seriesOf, SERIES_WORDS } from "../forecast/reading.ts";
import { candidateOfFile, curveCoverage, type JudgedCurve } from "../gates/finalists.ts";
import { describeFit, envelopeSchema, type Envelope } from "../forecast/envelope.ts";
import type { MetricPoint } from "../evidence/schemas.ts";
import type * as z from "zod/mini";
import pkg from "../../package.json" with { type: "json" };

export interface EvidenceFile {
  file: string;
  detected: Detected;
}

export interface ClassifiedEvidence {
  trajectory?: EvidenceFile;
  curves: EvidenceFile[];
  /** A campaign plan YAML named among the evidence files. */
  campaignFile?: string;
}

/** Sort evidence files by what they hold: one trajectory, loss curves, at most one campaign plan. */
export async function classifyEvidence(files: readonly string[], read: ReadOptions): Promise<ClassifiedEvidence> {
  const out: ClassifiedEvidence = { curves: [] };
  for (const file of files) {
    if ([".yaml", ".yml"].includes(extname(file))) {
      if (out.campaignFile !== undefined) throw new UsageError(`two campaign plans given: ${out.campaignFile} and ${file}`);
      out.campaignFile = file;
      continue;
    }
    const detected = await detectFormat(file, read);
    if ((TRAJECTORY_FORMATS as readonly string[]).includes(detected.format)) {
      if (out.trajectory !== undefined) throw new UsageError(`two trajectories given: ${out.trajectory.file} and ${file}; gate one sweep at a time`);
      out.trajectory = { file, detected };
    } else {
      out.curves.push({ file, detected });
    }
  }
  return out;
}

export interface Campaign {
  /** Where the plan came from, as the gate table names it (a file name, or the stack). */
  subject: string;
  plan: CampaignPlan;
  sha256: string;
  /** Set when the plan is a file, so the verdict can bind it by path. */
  file?: string;
}

/** A campaign plan YAML file, validated, hashed from the bytes that were read. */
export async function readCampaignFile(file: string): Promise<Campaign> {
  const bytes = readInputFile(file);
  const plan = await validateYaml(parseYaml(file, bytes.toString("utf8")), campaignPlanSchema());
  return { subject: basename(file), plan, sha256: createHash("sha256").update(bytes).digest("hex"), file };
}

/** A plan that lives in memory (the Pulumi stack's config): hashed as canonical JSON. */
export function campaignFromPlan(subject: string, plan: CampaignPlan): Campaign {
  const canonical = JSON.stringify(Object.fromEntries(Object.entries(plan).sort(([a], [b]) => a.localeCompare(b))));
  return { subject, plan, sha256: createHash("sha256").update(canonical).digest("hex") };
}

export function missingEvidence(phases: readonly Phase[], e: { trajectory?: unknown; curves: readonly unknown[]; campaign?: unknown; envelope?: unknown }): string[] {
  const missing: string[] = [];
  if (phases.includes("sanity") && e.curves.length === 0) missing.push("sanity needs the sanity-day metrics (tagged runs in one file, or one file per run)");
  if (phases.includes("verify") && e.curves.length === 0) missing.push("verify needs the cloud run's metrics");
  if (phases.includes("verify") && !e.envelope) missing.push("verify needs the forecast (--envelope envelope.json from windtunnel forecast)");
  if ((phases.includes("sanity") || phases.includes("verify")) && phases.includes("stress")) missing.push("judge stress curves and sanity/verify metrics in separate gate runs (metrics files would be ambiguous)");
  if (phases.includes("sweep") && !e.trajectory) missing.push("sweep needs a Phase 1 trajectory (trajectory JSONL, agent-loop trajectory.jsonl or results.tsv)");
  if (phases.includes("stress") && e.curves.length === 0) missing.push("stress needs at least one Phase 2 curve (metrics JSONL or a training log)");
  if (phases.includes("spend") && !e.campaign) missing.push("spend needs a campaign plan (--campaign plan.yaml)");
  return missing;
}

/** Curve names: file names (without the extension), or paths when two curves share a name. */
export function curveNames(files: readonly string[], extension = false): string[] {
  const names = files.map((f) => (extension ? basename(f) : basename(f).replace(/\.(jsonl|log|txt)$/, "")));
  return names.map((n, i) => (names.indexOf(n) !== names.lastIndexOf(n) ? (files[i] as string) : n));
}

// Each file is hashed while it is read, so binding the verdict to it costs no second read.
async function streamCurve({ file, detected }: EvidenceFile, subject: string, read: ReadOptions, policy: LoadedPolicy): Promise<{ outcome: CurveOutcome; sha256: string; fingerprint: string }> {
  const hash = createHash("sha256");
  const ev = await openEvidence(file, { ...read, detected, hash });
  if (ev.kind !== "metrics") throw InputError.at(file, 1, "format", "expected a loss curve");
  const monitor = new CurveMonitor(subject, policy.policy.stress);
  const fingerprint = new PointsFingerprint();
  for await (const b of ev.points) {
    for (const p of b) monitor.push(p);
    fingerprint.add(b);
  }
  if (!ev.diag.ok) throw new InputError(ev.diag.problems.filter((p) => p.kind === "error"));
  return { outcome: monitor.finish(), sha256: hash.digest("hex"), fingerprint: fingerprint.digest() };
}

/**
 * sha256 of a curve's points (what the gates read: step, the losses, grad norm, tokens), not its
 * bytes, so a copy with another line ending, a trailing newline or reordered keys is the same
 * curve. One Float64Array per batch: this runs over million-point curves.
 */
class PointsFingerprint {
  private readonly hash = createHash("sha256");
  private static readonly FIELDS = 6;

  add(points: readonly MetricPoint[]): void {
    const a = new Float64Array(points.length * PointsFingerprint.FIELDS);
    let k = 0;
    for (const p of points) {
      a[k++] = p.step;
      a[k++] = p.loss ?? Number.NaN;
      a[k++] = p.val_loss ?? Number.NaN;
      a[k++] = p.val_bpb ?? Number.NaN;
      a[k++] = p.grad_norm ?? Number.NaN;
      a[k++] = p.tokens ?? Number.NaN;
    }
    this.hash.update(new Uint8Array(a.buffer));
  }

  digest(): string {
    return this.hash.digest("hex");
  }
}

/** Every point of a metrics file (sanity runs and cloud curves are small), hashed as read. */
export async function readMetricPoints(f: EvidenceFile, read: ReadOptions): Promise<{ points: MetricPoint[]; sha256: string }> {
  const hash = createHash("sha256");
  const ev = await openEvidence(f.file, { ...read, detected: f.detected, hash });
  if (ev.kind !== "metrics") throw InputError.at(f.file, 1, "format", "expected metrics (JSON lines or a training log)");
  const points: MetricPoint[] = [];
  for await (const b of ev.points) for (const p of b) points.push(p);
  if (!ev.diag.ok) throw new InputError(ev.diag.problems.filter((p) => p.kind === "error"));
  return { points, sha256: hash.digest("hex") };
}


/** A cloud curve the envelope cannot judge at all is bad input, not a pass: wrong axis or series. */
function checkReadable(file: string, points: readonly MetricPoint[], env: Envelope): void {
  if (points.length === 0) return;
  if (env.axis === "tokens" && !points.some((p) => p.tokens !== undefined)) throw InputError.at(file, 0, "tokens", `the envelope is on the tokens axis, but this curve logs no tokens (make the envelope on steps: policy forecast.axis step, or log tokens)`);
  const series = seriesOf(env);
  if (!points.some((p) => p[series] !== undefined)) throw InputError.at(file, 0, series, `the envelope forecasts ${series} (${SERIES_WORDS[series]}${env.series === undefined ? ", the default of an envelope that names no series" : ""}), but this curve logs none`);
}

/** An envelope.json, validated (bad input names the file and the field). */
export function readEnvelopeFile(file: string): { file: string; envelope: Envelope; sha256: string } {
  const { value, sha256 } = readJsonFile(file, envelopeSchema(), "envelope");
  return { file, envelope: value as Envelope, sha256 };
}

/** A JSON file of one of our formats: the value (as the schema checked it) and the sha256 of its bytes. */
function readJsonFile<S extends z.ZodMiniType>(file: string, schema: S, what: string): { value: z.output<S>; sha256: string } {
  const bytes = readInputFile(file);
  const j = parseJsonText(bytes.toString("utf8"));
  if (!j.ok) {
    if (j.problem === "duplicate") throw InputError.at(file, 0, j.key, `written twice in one object; JSON keeps only the last, so the ${what} is ambiguous`);
    throw InputError.at(file, 0, "file", j.problem === "too-deep" ? j.message : `not JSON: ${j.message}`);
  }
  const raw = j.value;
  const r = schema.safeParse(raw);
  if (!r.success) throw new InputError(r.error.issues.map((issue) => ({ file, line: 0, kind: "error" as const, field: issue.path.length > 0 ? issue.path.join(".") : what, message: `not a windtunnel ${what}: ${describeIssue(issue, raw).message}` })));
  return { value: r.data, sha256: createHash("sha256").update(bytes).digest("hex") };
}

/** The forecast behind a verify verdict, as a row of the gate table (it judges nothing itself). */
function forecastRow(env: Envelope, file: string): GateResult {
  const shift = env.projection ? `; shifted ${env.projection.shift > 0 ? "+" : ""}${env.projection.shift.toPrecision(3)} ${env.unit} for ${env.projection.n_proxy.toPrecision(3)} → ${env.projection.n_target.toPrecision(3)} params (${env.projection.constants})` : "";
  const what = `${describeFit(env)}${shift}`;
  const first = env.points[0]?.band ?? env.band;
  const own = first === env.band ? `±${(env.band * 100).toFixed(2)}%` : `±${(first * 100).toFixed(2)}% → ±${(env.band * 100).toFixed(2)}%`;
  return { id: "verify.forecast", phase: "verify", subject: file, status: "pass", measured: env.band, threshold: null, message: `${what}; ${seriesOf(env)} against ${env.axis}, its own band ${own}${env.coverage !== undefined ? ` (calibrated to hold ${Math.round(env.coverage * 100)}%)` : ""}` };
}

export interface JudgeInput {
  phases: readonly Phase[];
  /** A policy file or a built-in name. */
  policyRef: string;
  /** The policy `policyRef` names, when the caller loaded it already (several judgements, one load). */
  policy?: LoadedPolicy;
  trajectory?: EvidenceFile;
  curves: readonly EvidenceFile[];
  campaign?: Campaign;
  envelope?: { file: string; envelope: Envelope; sha256: string };
  read: ReadOptions;
  rates: Rates;
  /** Paths in the verdict are written relative to this folder. */
  base: string;
  time?: Date;
}

/** Run the required gates over the evidence: the verdict, with every file bound by sha256. */
export async function judge(i: JudgeInput): Promise<Verdict> {
  return (await judgeWithOutcomes(i)).verdict;
}

/** The verdict, and the sweep's full outcome (every distinct config) for a caller that draws it. */
export async function judgeWithOutcomes(i: JudgeInput): Promise<{ verdict: Verdict; sweep?: SweepOutcome }> {
  const missing = missingEvidence(i.phases, i);
  if (missing.length > 0) throw new UsageError(missing.join("\n"));
  const policy = i.policy ?? (await loadPolicy(i.policyRef));
  let sweep: SweepOutcome | undefined;
  let stress: { outcomes: CurveOutcome[]; coverage: GateResult; survivors: GateResult } | undefined;
  let spend: SpendOutcome | undefined;
  const rel = (f: string): string => relative(i.base, resolve(f)) || ".";
  const used: EvidenceRef[] = [];
  const names = curveNames(i.curves.map((x) => x.file));

  // The trajectory is read for the sweep gates, and for stress too: it names the finalists the
  // curves must belong to (then it is evidence of the stress verdict, and bound like any other).
  let finalists: SweepOutcome["finalists"] | undefined;
  if (i.trajectory && (i.phases.includes("sweep") || i.phases.includes("stress"))) {
    const t = await readTrajectoryFile(i.trajectory.file, { ...i.read, detected: i.trajectory.detected });
    const outcome = evaluateSweep({ subject: basename(i.trajectory.file), rows: t.rows, unreadable: t.unreadable }, policy.policy);
    if (i.phases.includes("sweep")) sweep = outcome;
    finalists = outcome.finalists;
    used.push({ file: rel(i.trajectory.file), role: "trajectory", format: i.trajectory.detected.format, sha256: t.sha256 });
  }
  if (i.phases.includes("stress")) {
    const judged: JudgedCurve[] = [];
    const fileNames = curveNames(i.curves.map((x) => x.file), true);
    for (const [n, c] of i.curves.entries()) {
      const { outcome, sha256, fingerprint } = await streamCurve(c, names[n] as string, i.read, policy);
      judged.push({ outcome, candidate: candidateOfFile(c.file), file: fileNames[n] as string, fingerprint });
      used.push({ file: rel(c.file), role: "curve", format: c.detected.format, sha256 });
    }
    const coverage = curveCoverage(judged, finalists);
    stress = { outcomes: judged.map((c) => c.outcome), coverage: coverage.result, survivors: survivorsGate(coverage.counted, policy.policy.stress, judged.length - coverage.counted.length) };
  }
  let sanity: GateResult[] | undefined;
  if (i.phases.includes("sanity")) {
    // Each node on its own (its node-<rank>/ folder); runs by tag, else by file name.
    const sources: SanitySource[] = [];
    for (const c of i.curves) {
      const { points, sha256 } = await readMetricPoints(c, i.read);
      sources.push(sanitySource(rel(c.file), points));
      used.push({ file: rel(c.file), role: "sanity", format: c.detected.format, sha256 });
    }
    const grouped = groupSanityRuns(sources);
    if (grouped.duplicates.length > 0) {
      throw new InputError(grouped.duplicates.map((d) => ({ file: d.sources[1] as string, line: 0, field: "tag", kind: "error" as const, message: `run ${JSON.stringify(d.tag)} of ${d.node} is also in ${d.sources.filter((_, k) => k !== 1).join(", ")}; one tag names one run per node (which one is the sanity day's?)` })));
    }
    sanity = evaluateSanityNodes(grouped.nodes, policy.policy.sanity);
  }
  let verify: GateResult[] | undefined;
  if (i.phases.includes("verify") && i.envelope) {
    const env = i.envelope.envelope;
    verify = [forecastRow(env, basename(i.envelope.file))];
    for (const [n, c] of i.curves.entries()) {
      const { points, sha256 } = await readMetricPoints(c, i.read);
      checkReadable(c.file, points, env);
      const monitor = new EnvelopeMonitor(names[n] as string, env, policy.policy.verify);
      for (const p of points) monitor.push(p);
      // The whole curve is here: a curve that never reached the window verified nothing.
      verify.push(monitor.finish(true));
      used.push({ file: rel(c.file), role: "cloud", format: c.detected.format, sha256 });
    }
    used.push({ file: rel(i.envelope.file), role: "envelope", sha256: i.envelope.sha256 });
  }
  if (i.phases.includes("spend") && i.campaign) {
    spend = evaluateSpend(i.campaign.subject, i.campaign.plan, policy.policy.spend, i.rates);
    used.push({ file: i.campaign.file !== undefined ? rel(i.campaign.file) : i.campaign.subject, role: "campaign", sha256: i.campaign.sha256 });
  }

  const isBuiltin = (file: string): boolean => BUILTIN_POLICIES.some((b) => resolve(file) === resolve(BUILTIN_POLICY_DIR, `${b}.yaml`));
  const verdict = buildVerdict({
    version: pkg.version,
    time: i.time ?? new Date(),
    phases: i.phases,
    read: readRecordOf(i.read),
    rates: i.rates,
    policy: {
      ref: (BUILTIN_POLICIES as readonly string[]).includes(i.policyRef) ? i.policyRef : rel(i.policyRef),
      files: policy.files.map((f) => (isBuiltin(f) ? `builtin:${basename(f, ".yaml")}` : rel(f))),
      sha256: policy.sha256,
    },
    evidence: used,
    ...(sweep ? { sweep } : {}),
    ...(stress ? { stress } : {}),
    ...(spend ? { spend } : {}),
    ...(sanity ? { sanity } : {}),
    ...(verify ? { verify } : {}),
  });
  return { verdict, ...(sweep ? { sweep } : {}) };
}

/** A verdict.json, checked to be one (bad input names the file and the field). */
export function readVerdictFile(file: string): Verdict {
  return readJsonFile(file, verdictSchema(), "verdict").value as unknown as Verdict;
}

/** The reading options a verdict records (only those that change what is read). */
function readRecordOf(r: ReadOptions): ReadRecord {
  return { ...(r.statusMap ? { statusMap: r.statusMap } : {}), ...(r.logPreset ? { logPreset: r.logPreset } : {}), ...(r.logRegex ? { logRegex: r.logRegex } : {}) };
}

/**
 * Judge a verdict's own evidence again, as it was judged: the files it lists (relative to `base`,
 * the verdict's folder), read as it records, under its policy, rates and time. `gate --check`
 * compares the result with what the verdict says; a file that is not the evidence it claims to be
 * fails here like any bad input.
 */
export async function rejudge(v: Verdict, base: string, policyRef: string, policy: LoadedPolicy, env: Readonly<Record<string, string | undefined>>): Promise<Verdict> {
  const read: ReadOptions = { ...(v.read ?? {}) };
  const abs = (f: string): string => resolve(base, f);
  const files = (role: EvidenceRef["role"]): EvidenceRef[] => v.evidence.filter((e) => e.role === role);
  const evidenceFile = async (e: EvidenceRef): Promise<EvidenceFile> => ({ file: abs(e.file), detected: await detectFormat(abs(e.file), read) });
  const curveRole = v.phases.includes("stress") ? "curve" : v.phases.includes("sanity") ? "sanity" : "cloud";
  const curves: EvidenceFile[] = [];
  for (const e of files(curveRole)) curves.push(await evidenceFile(e));
  const trajectory = files("trajectory")[0];
  const campaign = files("campaign")[0];
  const envelope = files("envelope")[0];
  if (campaign && v.phases.includes("spend") && !campaign.file.endsWith(".yaml") && !campaign.file.endsWith(".yml")) throw new UsageError(`the verdict's campaign plan is ${campaign.file} (a stack's config, not a file): judge it with windtunnel plan`);
  return judge({
    phases: v.phases,
    policyRef,
    policy,
    curves,
    ...(trajectory ? { trajectory: await evidenceFile(trajectory) } : {}),
    ...(campaign && v.phases.includes("spend") ? { campaign: await readCampaignFile(abs(campaign.file)) } : {}),
    ...(envelope ? { envelope: readEnvelopeFile(abs(envelope.file)) } : {}),
    read,
    rates: (v.rates as Rates | undefined) ?? ratesFromEnv(env),
    base,
    time: new Date(v.time),
  });
}
