// A stress curve's gate results, read from what its monitor saw (stress.ts): one small function per
// gate, so each rule reads on its own; and the campaign-level stress.survivors gate over every
// finalist's outcome. Pure.
import type { StressPolicy } from "../policy/schema.ts";
import { gate, type GateResult } from "./types.ts";
import { median } from "./stats.ts";
import { fmt, pct, round } from "../common/format.ts";
import type { CurveSeries, GradTrack, SeriesTrack } from "./stress-track.ts";

export interface CurveOutcome {
  subject: string;
  results: GateResult[];
  /** True when no gate failed. */
  survived: boolean;
  points: number;
  series: CurveSeries;
  lastStep?: number;
}

/** The fields of a point that must be finite. */
export const FINITE_FIELDS = ["loss", "val_loss", "val_bpb", "grad_norm"] as const;

/** The first non-finite value of a curve, where every gate after stress.finite stops reading it. */
export interface NonFinite {
  step: number;
  line: number;
  field: (typeof FINITE_FIELDS)[number];
  value: number;
}

/** What the gates read of a curve: its monitor's state, with the track of the series it is judged on. */
export interface CurveState {
  subject: string;
  policy: StressPolicy;
  series: CurveSeries;
  track: SeriesTrack;
  grad: GradTrack;
  points: number;
  lastStep: number | undefined;
  nonFinite: NonFinite | undefined;
  nonFiniteCount: number;
}

export function curveOutcome(c: CurveState): CurveOutcome {
  const results = [stepsGate(c), intervalGate(c), finiteGate(c), divergenceGate(c), flatlineGate(c), gradNormGate(c)];
  const survived = !results.some((r) => r.status === "fail");
  // A curve's failure rejects that finalist only; stress.survivors decides for the campaign.
  for (const r of results) r.scope = "candidate";
  return { subject: c.subject, results, survived, points: c.points, series: c.series, ...(c.lastStep !== undefined ? { lastStep: c.lastStep } : {}) };
}

/** A failure no later point can undo has been seen (what lets a run stop short of min_steps). */
function decided(c: CurveState): boolean {
  return c.nonFinite !== undefined || c.grad.blown !== undefined || c.track.diverged !== undefined;
}

function stepsGate(c: CurveState): GateResult {
  const g = gate("stress", "stress.steps", c.subject);
  const last = c.lastStep ?? 0;
  const min = c.policy.min_steps;
  if (last >= min) return g.pass({ measured: last, op: "≥", threshold: min, message: `ran to step ${last} (${c.points} points)` });
  if (decided(c)) return g.skip(`stopped at step ${last}, after a failure below that no further steps could undo; not judged`);
  return g.fail({ measured: last, op: "≥", threshold: min, message: `stopped at step ${last}; a stress test runs ${min} steps`, step: last });
}

function intervalGate(c: CurveState): GateResult {
  const g = gate("stress", "stress.interval", c.subject);
  const t = c.track;
  const max = c.policy.max_log_interval;
  if (t.gaps.length === 0) return g.fail({ measured: null, op: "≤", threshold: max, message: `${c.series} has ${t.n} point${plural(t.n)}: no interval to judge` });
  const interval = median(t.gaps);
  return g.judged(interval <= max, { measured: interval, op: "≤", threshold: max, message: `${c.series} logged every ${fmt(interval)} steps (median)` });
}

function finiteGate(c: CurveState): GateResult {
  const g = gate("stress", "stress.finite", c.subject);
  const nf = c.nonFinite;
  if (nf === undefined) return g.pass({ measured: 0, op: "≤", threshold: 0, message: `no NaN or Infinity in ${c.points} points` });
  const count = c.nonFiniteCount;
  return g.fail({ measured: count, op: "≤", threshold: 0, message: `${nf.field} is ${String(nf.value)} at step ${nf.step} (line ${nf.line}), ${count} non-finite point${plural(count)} in all; the gates below judge only the steps before it`, step: nf.step });
}

function divergenceGate(c: CurveState): GateResult {
  const g = gate("stress", "stress.divergence", c.subject);
  const t = c.track;
  const dp = c.policy.divergence;
  if (t.n < 2) return g.skip(`${c.series} has too few points to judge`);
  const d = t.diverged;
  if (d === undefined) return g.pass({ measured: round(t.maxSustained, 4), op: "≤", threshold: dp.rise, message: heldWithin(c) });
  const rise = (d.value - d.min) / Math.abs(d.min);
  return g.fail({ measured: round(rise, 4), op: "≤", threshold: dp.rise, message: `${c.series} rises from step ${d.onset}: smoothed ${fmt(d.value)} at step ${d.detectedAt} is ${pct(rise)} above its minimum ${fmt(d.min)} (step ${d.minStep}), over ${pct(dp.rise)} for ${dp.patience} logged points`, step: d.onset });
}

/** Why a curve that did not diverge passes: it never rose past the line, or not for long enough. */
function heldWithin(c: CurveState): string {
  const t = c.track;
  const dp = c.policy.divergence;
  if (t.maxRise > dp.rise) {
    return `smoothed ${c.series} rose at most ${pct(t.maxSustained)} above its running minimum for ${dp.patience} points in a row; it peaked at ${pct(t.maxRise)} (step ${t.maxRiseStep}) for only ${t.longestStreak} point${plural(t.longestStreak)}`;
  }
  const worst = t.maxRiseStep !== undefined && t.maxRise > 0 ? ` (worst at step ${t.maxRiseStep})` : "";
  return `smoothed ${c.series} stayed within ${pct(t.maxRise)} of its running minimum${worst}; limit ${pct(dp.rise)} for ${dp.patience} points`;
}

function flatlineGate(c: CurveState): GateResult {
  const g = gate("stress", "stress.flatline", c.subject);
  const f = c.policy.flatline;
  const t = c.track;
  const early = t.early.n > 0 ? t.early.sum / t.early.n : t.early.interp;
  const late = t.late.n > 0 ? t.late.sum / t.late.n : t.late.interp;
  const span = `steps ${f.early[0]}–${f.early[1]} to ${f.late[0]}–${f.late[1]}`;
  if (early === undefined || late === undefined) {
    const why = t.diverged !== undefined ? `it diverged at step ${t.diverged.onset} first` : c.nonFinite !== undefined ? `it went non-finite at step ${c.nonFinite.step} first` : `the curve does not reach step ${f.late[1]}`;
    return g.skip(`not judged: ${why}`);
  }
  const drop = (early - late) / Math.abs(early);
  if (drop >= f.min_drop) return g.pass({ measured: round(drop, 4), op: "≥", threshold: f.min_drop, message: `mean ${c.series} fell ${pct(drop)} from ${span} (${fmt(early)} → ${fmt(late)})` });
  const since = stoppedImproving(c, drop, late);
  const moved = drop >= 0 ? `fell only ${pct(drop)}` : `rose ${pct(-drop)}`;
  return g.fail({ measured: round(drop, 4), op: "≥", threshold: f.min_drop, message: `mean ${c.series} ${moved} from ${span} (${fmt(early)} → ${fmt(late)}); no real improvement since step ${since}`, step: since });
}

/**
 * Where a flat curve stopped improving: the first point already within the late level's noise
 * (two standard deviations of the late window, at least min_drop) of that level; for a loss that
 * clearly rose (beyond that noise), its best point.
 */
function stoppedImproving(c: CurveState, drop: number, late: number): number {
  const f = c.policy.flatline;
  const t = c.track;
  const sd = t.late.n > 1 ? Math.sqrt(Math.max(0, t.late.sq / t.late.n - late ** 2)) : 0;
  const tolerance = Math.max(f.min_drop, (2 * sd) / Math.abs(late));
  const best = t.history.reduce((b, h) => (h.smooth < b.smooth ? h : b), t.history[0] ?? { step: f.late[1], smooth: late });
  if (drop < -tolerance) return best.step;
  return t.history.find((h) => h.smooth <= late + Math.abs(late) * tolerance)?.step ?? f.late[1];
}

function gradNormGate(c: CurveState): GateResult {
  const g = gate("stress", "stress.grad_norm", c.subject);
  const s = c.grad;
  const p = c.policy.grad_norm;
  if (s.seen === 0) return g.skip("no grad_norm logged after warmup");
  const b = s.blown;
  if (b !== undefined) return g.fail({ measured: round(b.value / b.ref, 4), op: "≤", threshold: p.factor, message: `grad norm ${fmt(b.value)} at step ${b.step} is ${fmt(b.value / b.ref)}× the largest of the first ${p.reference_steps} steps after warmup (${fmt(b.ref)})`, step: b.step });
  if (s.maxRatioStep === undefined) return g.skip(`not judged: the curve ends within the reference steps ${p.after_step}–${p.after_step + p.reference_steps}`);
  return g.pass({ measured: round(s.maxRatio, 4), op: "≤", threshold: p.factor, message: `grad norm peaked at ${fmt(s.maxRatio)}× its early reference ${fmt(s.refMax)} (step ${s.maxRatioStep})` });
}

/**
 * At least `min_survivors` curves pass every gate; fewer than two leaves no fallback. `ignored`:
 * curves given that do not count (not a finalist's, or a copy; see stress.coverage).
 */
export function survivorsGate(outcomes: readonly CurveOutcome[], policy: StressPolicy, ignored = 0): GateResult {
  const alive = outcomes.filter((o) => o.survived).map((o) => o.subject);
  const fallback = alive.length < 2 ? "; no fallback" : "";
  const given = outcomes.length + ignored;
  const not = ignored > 0 ? ` (${ignored} more curve${ignored === 1 ? " does" : "s do"} not count: see stress.coverage)` : "";
  return gate("stress", "stress.survivors", `${given} curve${plural(given)}`).judged(alive.length >= policy.min_survivors, {
    measured: alive.length,
    op: "≥",
    threshold: policy.min_survivors,
    message: `${alive.length} of ${outcomes.length} pass every stress gate${alive.length > 0 ? `: ${alive.join(", ")}` : ""}${not}${fallback}`,
  });
}

const plural = (n: number): string => (n === 1 ? "" : "s");
