// Phase 2 gates on one loss curve per finalist, as a streaming monitor: push points one at a
// time, read the verdict at the end. Memory is bounded by the policy's windows, never by the
// curve's length, so the same monitor can follow a cloud run for a week.
import type { MetricPoint } from "../evidence/schemas.ts";
import type { StressPolicy } from "../policy/schema.ts";
import { gate, type GateResult } from "./types.ts";
import { fmt, median, minOf, pct } from "./stats.ts";

export type CurveSeries = "loss" | "val_loss";

export interface CurveOutcome {
  subject: string;
  results: GateResult[];
  /** True when no gate failed. */
  survived: boolean;
  points: number;
  series: CurveSeries;
  lastStep?: number;
}

/** Gaps kept for the median logging interval: enough to be representative, bounded. */
const MAX_GAPS = 2048;

interface Divergence {
  onset: number;
  detectedAt: number;
  min: number;
  minStep: number;
  value: number;
}

/** One series (training or validation loss): interval, smoothing, divergence and flatline state. */
class SeriesTrack {
  n = 0;
  lastStep: number | undefined;
  readonly gaps: number[] = [];
  /** Points inside the smoothing window, oldest first; `sorted` holds their values in order. */
  private readonly window: { step: number; value: number }[] = [];
  private readonly sorted: number[] = [];
  private min = Infinity;
  private minStep = 0;
  private streak = 0;
  /** First point that left the band near the running minimum since the loss was last there. */
  private leftFloor: number | undefined;
  maxRise = 0;
  maxRiseStep: number | undefined;
  /** Longest run of points above the line (shorter than patience, or it would have diverged). */
  longestStreak = 0;
  /** The rise held over `patience` consecutive points, at its largest: what the gate judges. */
  maxSustained = 0;
  private readonly recent: number[] = [];
  diverged: Divergence | undefined;
  /** Smoothed values up to the end of the flatline's late window (bounded by that step). */
  readonly history: { step: number; smooth: number }[] = [];
  readonly early = { sum: 0, sq: 0, n: 0, interp: undefined as number | undefined };
  readonly late = { sum: 0, sq: 0, n: 0, interp: undefined as number | undefined };
  private prev: { step: number; value: number } | undefined;

  private readonly p: StressPolicy;

  constructor(p: StressPolicy) {
    this.p = p;
  }

  /** Everything but the policy, as plain data (bounded by the policy's windows). */
  snapshot(): Record<string, unknown> {
    const { p: _policy, ...data } = this;
    return data;
  }

  restore(data: Record<string, unknown>): void {
    Object.assign(this, data);
  }

  push(step: number, value: number): void {
    this.n++;
    if (this.lastStep !== undefined && this.gaps.length < MAX_GAPS) this.gaps.push(step - this.lastStep);
    this.lastStep = step;
    const smooth = this.smooth(step, value);
    if (this.diverged === undefined) this.flatline(step, value, smooth);
    this.divergence(step, smooth);
    this.prev = { step, value };
  }

  private smooth(step: number, value: number): number {
    const w = this.window;
    w.push({ step, value });
    insertSorted(this.sorted, value);
    while (w.length > 1 && step - (w[0] as { step: number }).step >= this.p.divergence.window_steps) {
      removeSorted(this.sorted, (w.shift() as { value: number }).value);
    }
    return median(this.sorted);
  }

  private divergence(step: number, smooth: number): void {
    const d = this.p.divergence;
    if (step < d.after_step || this.diverged !== undefined) return;
    if (smooth < this.min) {
      this.min = smooth;
      this.minStep = step;
    }
    const rise = (smooth - this.min) / Math.abs(this.min);
    if (rise > this.maxRise) {
      this.maxRise = rise;
      this.maxRiseStep = step;
    }
    this.recent.push(rise);
    if (this.recent.length > d.patience) this.recent.shift();
    if (this.recent.length === d.patience) this.maxSustained = Math.max(this.maxSustained, minOf(this.recent));
    // A quarter of the allowed rise is "still at the floor": where the loss last left that band is
    // where the trouble starts, which the 10% line itself only confirms later.
    const band = this.min + (Math.abs(this.min) * d.rise) / 4;
    if (smooth <= band) this.leftFloor = undefined;
    // The smoothed series lags: credit the first raw point above the band inside its window.
    else this.leftFloor ??= this.window.find((q) => q.value > band)?.step ?? step;
    if (rise <= d.rise) {
      this.streak = 0;
      return;
    }
    this.streak++;
    this.longestStreak = Math.max(this.longestStreak, this.streak);
    if (this.streak >= d.patience) this.diverged = { onset: this.leftFloor ?? step, detectedAt: step, min: this.min, minStep: this.minStep, value: smooth };
  }

  private flatline(step: number, value: number, smooth: number): void {
    const f = this.p.flatline;
    if (step <= f.late[1]) this.history.push({ step, smooth });
    // Two plain calls rather than a loop over [window, range] pairs: this runs for every point.
    this.accumulate(this.early, f.early[0], f.early[1], step, value);
    this.accumulate(this.late, f.late[0], f.late[1], step, value);
  }

  private accumulate(acc: { sum: number; sq: number; n: number; interp: number | undefined }, from: number, to: number, step: number, value: number): void {
    if (step >= from && step <= to) {
      acc.sum += value;
      acc.sq += value * value;
      acc.n++;
    }
    // A curve logged more sparsely than the window still has a value there: interpolate at its middle.
    const mid = (from + to) / 2;
    const prev = this.prev;
    if (prev !== undefined && prev.step < mid && step >= mid) acc.interp = prev.value + ((value - prev.value) * (mid - prev.step)) / (step - prev.step);
  }
}

/** Gates whose failure stands whatever the rest of the run does. */
const DECISIVE = new Set(["stress.finite", "stress.divergence", "stress.grad_norm"]);

export interface MonitorSnapshot {
  points: number;
  lastStep: number | undefined;
  nonFinite: { step: number; line: number; field: string; value: number } | undefined;
  nonFiniteCount: number;
  grad: { refMax: number; refCount: number; seen: number; maxRatio: number; maxRatioStep: number | undefined; blown: { step: number; value: number; ref: number } | undefined };
  tracks: { loss: Record<string, unknown>; val_loss: Record<string, unknown> };
}

export class CurveMonitor {
  private readonly tracks: Record<CurveSeries, SeriesTrack>;
  private points = 0;
  private lastStep: number | undefined;
  private nonFinite: { step: number; line: number; field: string; value: number } | undefined;
  private nonFiniteCount = 0;
  private grad = { refMax: 0, refCount: 0, seen: 0, maxRatio: 0, maxRatioStep: undefined as number | undefined, blown: undefined as { step: number; value: number; ref: number } | undefined };

  readonly subject: string;
  private readonly p: StressPolicy;

  constructor(subject: string, p: StressPolicy) {
    this.subject = subject;
    this.p = p;
    this.tracks = { loss: new SeriesTrack(p), val_loss: new SeriesTrack(p) };
  }

  /**
   * The monitor's state as plain data, to be resumed later: the watchdog keeps one per cloud
   * metrics file between ticks instead of re-reading the file. Non-finite numbers (the running
   * minimum starts at Infinity) need an encoding that keeps them: see gates/snapshot.ts.
   */
  snapshot(): MonitorSnapshot {
    return { points: this.points, lastStep: this.lastStep, nonFinite: this.nonFinite, nonFiniteCount: this.nonFiniteCount, grad: this.grad, tracks: { loss: this.tracks.loss.snapshot(), val_loss: this.tracks.val_loss.snapshot() } };
  }

  static restore(subject: string, p: StressPolicy, snap: MonitorSnapshot): CurveMonitor {
    const m = new CurveMonitor(subject, p);
    m.points = snap.points;
    m.lastStep = snap.lastStep;
    m.nonFinite = snap.nonFinite;
    m.nonFiniteCount = snap.nonFiniteCount;
    m.grad = snap.grad;
    m.tracks.loss.restore(snap.tracks.loss);
    m.tracks.val_loss.restore(snap.tracks.val_loss);
    return m;
  }

  push(pt: MetricPoint): void {
    this.points++;
    this.lastStep = pt.step;
    for (const field of ["loss", "val_loss", "val_bpb", "grad_norm"] as const) {
      const v = pt[field];
      if (v !== undefined && !Number.isFinite(v)) {
        this.nonFiniteCount++;
        this.nonFinite ??= { step: pt.step, line: pt.line, field, value: v };
        return;
      }
    }
    if (this.nonFinite !== undefined) return; // everything after the first NaN is judged by it alone
    if (pt.loss !== undefined) this.tracks.loss.push(pt.step, pt.loss);
    if (pt.val_loss !== undefined) this.tracks.val_loss.push(pt.step, pt.val_loss);
    if (pt.grad_norm !== undefined) this.gradNorm(pt.step, pt.grad_norm);
  }

  private gradNorm(step: number, g: number): void {
    const p = this.p.grad_norm;
    const s = this.grad;
    if (step <= p.after_step) return;
    s.seen++;
    if (step <= p.after_step + p.reference_steps || s.refCount === 0) {
      s.refMax = Math.max(s.refMax, g);
      s.refCount++;
      return;
    }
    const ratio = g / s.refMax;
    if (ratio > s.maxRatio) {
      s.maxRatio = ratio;
      s.maxRatioStep = step;
    }
    if (s.blown === undefined && ratio > p.factor) s.blown = { step, value: g, ref: s.refMax };
  }

  /**
   * A failure no later point can undo (a non-finite value, a sustained divergence, a grad-norm
   * blowup), as the gate reports it, so a live run can be stopped early; undefined otherwise.
   */
  decisiveFailure(): GateResult | undefined {
    if (this.nonFinite === undefined && this.grad.blown === undefined && this.tracks.loss.diverged === undefined && this.tracks.val_loss.diverged === undefined) return undefined;
    return this.finish().results.find((r) => r.status === "fail" && DECISIVE.has(r.id));
  }

  finish(): CurveOutcome {
    const p = this.p;
    const subject = this.subject;
    const series: CurveSeries = p.series === "auto" ? (this.tracks.loss.n >= 2 ? "loss" : "val_loss") : p.series;
    const t = this.tracks[series];
    const results: GateResult[] = [];
    const last = this.lastStep ?? 0;

    const decided = this.nonFinite !== undefined || this.grad.blown !== undefined || t.diverged !== undefined;
    results.push(
      last < p.min_steps && decided
        ? gate("stress", "stress.steps", subject).skip(`stopped at step ${last}, after a failure below that no further steps could undo; not judged`)
        : gate("stress", "stress.steps", subject).judged(last >= p.min_steps, {
        measured: last,
        op: "≥",
        threshold: p.min_steps,
        message: last >= p.min_steps ? `ran to step ${last} (${this.points} points)` : `stopped at step ${last}; a stress test runs ${p.min_steps} steps`,
        ...(last < p.min_steps ? { step: last } : {}),
      }),
    );
    const interval = t.gaps.length > 0 ? median(t.gaps) : null;
    results.push(
      interval === null
        ? gate("stress", "stress.interval", subject).fail({ measured: null, op: "≤", threshold: p.max_log_interval, message: `${series} has ${t.n} point${t.n === 1 ? "" : "s"}: no interval to judge` })
        : gate("stress", "stress.interval", subject).judged(interval <= p.max_log_interval, { measured: interval, op: "≤", threshold: p.max_log_interval, message: `${series} logged every ${fmt(interval)} steps (median)` }),
    );

    const nf = this.nonFinite;
    results.push(
      nf === undefined
        ? gate("stress", "stress.finite", subject).pass({ measured: 0, op: "≤", threshold: 0, message: `no NaN or Infinity in ${this.points} points` })
        : gate("stress", "stress.finite", subject).fail({ measured: this.nonFiniteCount, op: "≤", threshold: 0, message: `${nf.field} is ${String(nf.value)} at step ${nf.step} (line ${nf.line}), ${this.nonFiniteCount} non-finite point${this.nonFiniteCount === 1 ? "" : "s"} in all; the gates below judge only the steps before it`, step: nf.step }),
    );

    const d = t.diverged;
    const dp = p.divergence;
    results.push(
      t.n < 2
        ? gate("stress", "stress.divergence", subject).skip(`${series} has too few points to judge`)
        : d === undefined
          ? gate("stress", "stress.divergence", subject).pass({
              measured: round(t.maxSustained),
              op: "≤",
              threshold: dp.rise,
              message:
                t.maxRise > dp.rise
                  ? `smoothed ${series} rose at most ${pct(t.maxSustained)} above its running minimum for ${dp.patience} points in a row; it peaked at ${pct(t.maxRise)} (step ${t.maxRiseStep}) for only ${t.longestStreak} point${t.longestStreak === 1 ? "" : "s"}`
                  : `smoothed ${series} stayed within ${pct(t.maxRise)} of its running minimum${t.maxRiseStep !== undefined && t.maxRise > 0 ? ` (worst at step ${t.maxRiseStep})` : ""}; limit ${pct(dp.rise)} for ${dp.patience} points`,
            })
          : gate("stress", "stress.divergence", subject).fail({
              measured: round((d.value - d.min) / Math.abs(d.min)),
              op: "≤",
              threshold: dp.rise,
              message: `${series} rises from step ${d.onset}: smoothed ${fmt(d.value)} at step ${d.detectedAt} is ${pct((d.value - d.min) / Math.abs(d.min))} above its minimum ${fmt(d.min)} (step ${d.minStep}), over ${pct(dp.rise)} for ${dp.patience} logged points`,
              step: d.onset,
            }),
    );

    results.push(this.flatlineResult(series, t));
    results.push(this.gradResult());
    const survived = !results.some((r) => r.status === "fail");
    for (const r of results) r.scope = "candidate";
    return { subject, results, survived, points: this.points, series, ...(this.lastStep !== undefined ? { lastStep: this.lastStep } : {}) };
  }

  private flatlineResult(series: CurveSeries, t: SeriesTrack): GateResult {
    const f = this.p.flatline;
    const g = gate("stress", "stress.flatline", this.subject);
    const early = t.early.n > 0 ? t.early.sum / t.early.n : t.early.interp;
    const late = t.late.n > 0 ? t.late.sum / t.late.n : t.late.interp;
    const span = `steps ${f.early[0]}–${f.early[1]} to ${f.late[0]}–${f.late[1]}`;
    if (early === undefined || late === undefined) {
      const why = t.diverged !== undefined ? `it diverged at step ${t.diverged.onset} first` : this.nonFinite !== undefined ? `it went non-finite at step ${this.nonFinite.step} first` : `the curve does not reach step ${f.late[1]}`;
      return g.skip(`not judged: ${why}`);
    }
    const drop = (early - late) / Math.abs(early);
    if (drop >= f.min_drop) {
      return g.pass({ measured: round(drop), op: "≥", threshold: f.min_drop, message: `mean ${series} fell ${pct(drop)} from ${span} (${fmt(early)} → ${fmt(late)})` });
    }
    // Where it stopped improving: the first point already within the late level's noise
    // (two standard deviations of the late window, at least min_drop) of that level.
    const sd = t.late.n > 1 ? Math.sqrt(Math.max(0, t.late.sq / t.late.n - late ** 2)) : 0;
    const tolerance = Math.max(f.min_drop, (2 * sd) / Math.abs(late));
    // A loss that clearly rose (beyond that noise) stopped improving at its best point.
    const best = t.history.reduce((b, h) => (h.smooth < b.smooth ? h : b), t.history[0] ?? { step: f.late[1], smooth: late });
    const since = drop < -tolerance ? best.step : (t.history.find((h) => h.smooth <= late + Math.abs(late) * tolerance)?.step ?? f.late[1]);
    const moved = drop >= 0 ? `fell only ${pct(drop)}` : `rose ${pct(-drop)}`;
    return g.fail({ measured: round(drop), op: "≥", threshold: f.min_drop, message: `mean ${series} ${moved} from ${span} (${fmt(early)} → ${fmt(late)}); no real improvement since step ${since}`, step: since });
  }

  private gradResult(): GateResult {
    const g = this.grad;
    const p = this.p.grad_norm;
    const result = gate("stress", "stress.grad_norm", this.subject);
    if (g.seen === 0) return result.skip("no grad_norm logged after warmup");
    if (g.blown !== undefined) {
      const b = g.blown;
      return result.fail({ measured: round(b.value / b.ref), op: "≤", threshold: p.factor, message: `grad norm ${fmt(b.value)} at step ${b.step} is ${fmt(b.value / b.ref)}× the largest of the first ${p.reference_steps} steps after warmup (${fmt(b.ref)})`, step: b.step });
    }
    if (g.maxRatioStep === undefined) return result.skip(`not judged: the curve ends within the reference steps ${p.after_step}–${p.after_step + p.reference_steps}`);
    return result.pass({ measured: round(g.maxRatio), op: "≤", threshold: p.factor, message: `grad norm peaked at ${fmt(g.maxRatio)}× its early reference ${fmt(g.refMax)} (step ${g.maxRatioStep})` });
  }
}

/** Judge a whole curve held in memory (tests, small curves). */
export function evaluateCurve(subject: string, points: Iterable<MetricPoint>, policy: StressPolicy): CurveOutcome {
  const m = new CurveMonitor(subject, policy);
  for (const pt of points) m.push(pt);
  return m.finish();
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
  return gate("stress", "stress.survivors", `${given} curve${given === 1 ? "" : "s"}`).judged(alive.length >= policy.min_survivors, {
    measured: alive.length,
    op: "≥",
    threshold: policy.min_survivors,
    message: `${alive.length} of ${outcomes.length} pass every stress gate${alive.length > 0 ? `: ${alive.join(", ")}` : ""}${not}${fallback}`,
  });
}

/** Index of the first element ≥ v in an ascending array. */
function lowerBound(xs: readonly number[], v: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((xs[mid] as number) < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function insertSorted(xs: number[], v: number): void {
  xs.splice(lowerBound(xs, v), 0, v);
}

function removeSorted(xs: number[], v: number): void {
  xs.splice(lowerBound(xs, v), 1);
}

const round = (x: number): number => Number(x.toFixed(4));
