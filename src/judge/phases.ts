// How each phase is judged from files: what evidence it needs (the missing-evidence check) and how
// it reads that evidence and runs its pure gates. One entry per phase, in a mapped type over Phase:
// a phase added to the registry (gates/phases.ts) without its judge here does not compile.
import { pct } from "../common/format.ts";
import { createHash } from "node:crypto";
import { basename } from "node:path";
import { InputError } from "../common/errors.ts";
import { openEvidence, readTrajectoryFile, type ReadOptions } from "../evidence/read.ts";
import type { MetricPoint } from "../evidence/schemas.ts";
import type { LoadedPolicy } from "../policy/load.ts";
import type { Rates } from "../cost/rates.ts";
import type { Phase } from "../gates/phases.ts";
import { gate, type GateResult } from "../gates/types.ts";
import type { EvidenceRef, PhaseOutcomes } from "../gates/verdict.ts";
import { evaluateSweep, type SweepOutcome } from "../gates/sweep.ts";
import { CurveMonitor, survivorsGate, type CurveOutcome } from "../gates/stress.ts";
import { evaluateSpend } from "../gates/spend.ts";
import { evaluateSanityNodes, groupSanityRuns, sanitySource, type SanitySource } from "../gates/sanity.ts";
import { EnvelopeMonitor } from "../gates/verify.ts";
import { candidateOfFile, curveCoverage, type JudgedCurve } from "../gates/finalists.ts";
import { seriesOf, SERIES_WORDS } from "../forecast/reading.ts";
import { describeFit, type Envelope } from "../forecast/envelope.ts";
import { curveNames, readMetricPoints, type Campaign, type EvidenceFile } from "./evidence.ts";

/** What a judgement was given: the phases' evidence, already sorted by kind. */
export interface PhaseEvidence {
  trajectory?: EvidenceFile;
  curves: readonly EvidenceFile[];
  campaign?: Campaign;
  envelope?: { file: string; envelope: Envelope; sha256: string };
}

/** What every phase's judge shares: the evidence, the policy, and the list of files it bound. */
export interface JudgeContext {
  evidence: PhaseEvidence;
  read: ReadOptions;
  policy: LoadedPolicy;
  rates: Rates;
  phases: readonly Phase[];
  /** A path as the verdict writes it (relative to the verdict's folder). */
  rel(file: string): string;
  /** The files read so far, with their role and sha256, in the order they were read. */
  used: EvidenceRef[];
  /** The trajectory's sweep outcome, read once for sweep and stress (which checks its curves are the finalists'). */
  sweep(): Promise<SweepOutcome | undefined>;
}

interface PhaseJudge<P extends Phase> {
  /** Why this phase cannot be judged from the evidence given (empty: it can). */
  missing(e: PhaseEvidence, phases: readonly Phase[]): string[];
  evaluate(ctx: JudgeContext): Promise<PhaseOutcomes[P]>;
}

export type PhaseJudges<K extends Phase = Phase> = { readonly [P in K]: PhaseJudge<P> };

export const JUDGES: PhaseJudges = {
  sweep: {
    missing: (e) => (e.trajectory ? [] : ["sweep needs a Phase 1 trajectory (trajectory JSONL, agent-loop trajectory.jsonl or results.tsv)"]),
    evaluate: async (ctx) => (await ctx.sweep()) as SweepOutcome,
  },
  stress: {
    missing: (e, phases) => [
      ...(e.curves.length === 0 ? ["stress needs at least one Phase 2 curve (metrics JSONL or a training log)"] : []),
      ...(phases.includes("sanity") || phases.includes("verify") ? ["judge stress curves and sanity/verify metrics in separate gate runs (metrics files would be ambiguous)"] : []),
    ],
    evaluate: async (ctx) => {
      const finalists = (await ctx.sweep())?.finalists;
      const { curves } = ctx.evidence;
      const names = curveNames(curves.map((x) => x.file));
      const fileNames = curveNames(curves.map((x) => x.file), true);
      const judged: JudgedCurve[] = [];
      for (const [n, c] of curves.entries()) {
        const { outcome, sha256, fingerprint } = await streamCurve(c, names[n] as string, ctx.read, ctx.policy);
        judged.push({ outcome, candidate: candidateOfFile(c.file), file: fileNames[n] as string, fingerprint });
        ctx.used.push({ file: ctx.rel(c.file), role: "curve", format: c.detected.format, sha256 });
      }
      const coverage = curveCoverage(judged, finalists);
      return { outcomes: judged.map((c) => c.outcome), coverage: coverage.result, survivors: survivorsGate(coverage.counted, ctx.policy.policy.stress, judged.length - coverage.counted.length) };
    },
  },
  spend: {
    missing: (e) => (e.campaign ? [] : ["spend needs a campaign plan (--campaign plan.yaml)"]),
    evaluate: async (ctx) => {
      const c = ctx.evidence.campaign as Campaign;
      ctx.used.push({ file: c.file !== undefined ? ctx.rel(c.file) : c.subject, role: "campaign", sha256: c.sha256 });
      return evaluateSpend(c.subject, c.plan, ctx.policy.policy.spend, ctx.rates, c.price);
    },
  },
  sanity: {
    missing: (e) => (e.curves.length === 0 ? ["sanity needs the sanity-day metrics (tagged runs in one file, or one file per run)"] : []),
    evaluate: async (ctx) => {
      // Each node on its own (its node-<rank>/ folder); runs by tag, else by file name.
      const sources: SanitySource[] = [];
      for (const c of ctx.evidence.curves) {
        const { points, sha256 } = await readMetricPoints(c, ctx.read);
        sources.push(sanitySource(ctx.rel(c.file), points));
        ctx.used.push({ file: ctx.rel(c.file), role: "sanity", format: c.detected.format, sha256 });
      }
      const grouped = groupSanityRuns(sources);
      if (grouped.duplicates.length > 0) {
        throw new InputError(grouped.duplicates.map((d) => ({ file: d.sources[1] as string, line: 0, field: "tag", kind: "error" as const, message: `run ${JSON.stringify(d.tag)} of ${d.node} is also in ${d.sources.filter((_, k) => k !== 1).join(", ")}; one tag names one run per node (which one is the sanity day's?)` })));
      }
      return evaluateSanityNodes(grouped.nodes, ctx.policy.policy.sanity);
    },
  },
  verify: {
    missing: (e) => [
      ...(e.curves.length === 0 ? ["verify needs the cloud run's metrics"] : []),
      ...(e.envelope ? [] : ["verify needs the forecast (--envelope envelope.json from windtunnel forecast)"]),
    ],
    evaluate: async (ctx) => {
      const { envelope: given, curves } = ctx.evidence;
      const { file, envelope: env, sha256: envSha } = given as NonNullable<PhaseEvidence["envelope"]>;
      const names = curveNames(curves.map((x) => x.file));
      const out: GateResult[] = [forecastRow(env, basename(file))];
      for (const [n, c] of curves.entries()) {
        const { points, sha256 } = await readMetricPoints(c, ctx.read);
        checkReadable(c.file, points, env);
        const monitor = new EnvelopeMonitor(names[n] as string, env, ctx.policy.policy.verify);
        for (const p of points) monitor.push(p);
        // The whole curve is here: a curve that never reached the window verified nothing.
        out.push(monitor.finish(true));
        ctx.used.push({ file: ctx.rel(c.file), role: "cloud", format: c.detected.format, sha256 });
      }
      ctx.used.push({ file: ctx.rel(file), role: "envelope", sha256: envSha });
      return out;
    },
  },
};

/** Everything the phases lack, in the registry's order: what a judgement refuses to start without. */
export function missingEvidence(phases: readonly Phase[], e: PhaseEvidence): string[] {
  return [...new Set(phases.flatMap((p) => JUDGES[p].missing(e, phases)))];
}

/** Judge one phase: the registry's entry for it, with the outcome typed by the phase. */
export function judgePhase<P extends Phase>(phase: P, ctx: JudgeContext): Promise<PhaseOutcomes[P]> {
  return JUDGES[phase].evaluate(ctx);
}

/** The trajectory's sweep outcome, bound as evidence, for sweep and stress alike. */
export async function sweepOf(trajectory: EvidenceFile, ctx: Pick<JudgeContext, "read" | "policy" | "rel" | "used">): Promise<SweepOutcome> {
  const t = await readTrajectoryFile(trajectory.file, { ...ctx.read, detected: trajectory.detected });
  ctx.used.push({ file: ctx.rel(trajectory.file), role: "trajectory", format: trajectory.detected.format, sha256: t.sha256 });
  return evaluateSweep({ subject: basename(trajectory.file), rows: t.rows, unreadable: t.unreadable }, ctx.policy.policy);
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

/** A cloud curve the envelope cannot judge at all is bad input, not a pass: wrong axis or series. */
function checkReadable(file: string, points: readonly MetricPoint[], env: Envelope): void {
  if (points.length === 0) return;
  if (env.axis === "tokens" && !points.some((p) => p.tokens !== undefined)) throw InputError.at(file, 0, "tokens", `the envelope is on the tokens axis, but this curve logs no tokens (make the envelope on steps: policy forecast.axis step, or log tokens)`);
  const series = seriesOf(env);
  if (!points.some((p) => p[series] !== undefined)) throw InputError.at(file, 0, series, `the envelope forecasts ${series} (${SERIES_WORDS[series]}${env.series === undefined ? ", the default of an envelope that names no series" : ""}), but this curve logs none`);
}

/** The forecast behind a verify verdict, as a row of the gate table (it judges nothing itself). */
function forecastRow(env: Envelope, file: string): GateResult {
  const shift = env.projection ? `; shifted ${env.projection.shift > 0 ? "+" : ""}${env.projection.shift.toPrecision(3)} ${env.unit} for ${env.projection.n_proxy.toPrecision(3)} → ${env.projection.n_target.toPrecision(3)} params (${env.projection.constants})` : "";
  const what = `${describeFit(env)}${shift}`;
  const first = env.points[0]?.band ?? env.band;
  const own = first === env.band ? `±${pct(env.band, 2)}` : `±${pct(first, 2)} → ±${pct(env.band, 2)}`;
  return gate("verify", "verify.forecast", file).pass({ measured: env.band, threshold: null, message: `${what}; ${seriesOf(env)} against ${env.axis}, its own band ${own}${env.coverage !== undefined ? ` (calibrated to hold ${pct(env.coverage, 0)})` : ""}` });
}

