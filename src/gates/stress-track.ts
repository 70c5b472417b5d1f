// The running statistics the Phase 2 gates judge, point by point: one SeriesTrack per loss series
// (interval, smoothing, divergence and flatline state) and one GradTrack for the gradient norm.
// Memory is bounded by the policy's windows, never by the curve's length. Which series a curve is
// judged on is decided here too, since it depends only on what the tracks saw.
import type { StressPolicy } from "../policy/schema.ts";
import { medianOfSorted, minOf } from "./stats.ts";
import type { GradSnapshot, TrackSnapshot } from "./stress-snapshot.ts";

export type CurveSeries = "loss" | "val_loss";

/** The policy's series, or under "auto" the training loss where it has an interval to judge (two points), else the validation loss. */
export function judgedSeries(p: StressPolicy, tracks: Readonly<Record<CurveSeries, SeriesTrack>>): CurveSeries {
  if (p.series !== "auto") return p.series;
  return tracks.loss.n >= 2 ? "loss" : "val_loss";
}

/** Gaps kept for the median logging interval: enough to be representative, bounded. */
const MAX_GAPS = 2048;

export interface Divergence {
  onset: number;
  detectedAt: number;
  min: number;
  minStep: number;
  value: number;
}

/** Sums over the steps of a flatline window, and the value interpolated at its middle for a curve logged more sparsely than it. */
export interface WindowSums {
  sum: number;
  sq: number;
  n: number;
  interp: number | undefined;
}

const freshSums = (): TrackSnapshot["early"] => ({ sum: 0, sq: 0, n: 0, interp: null });

/** A track that has seen nothing. */
const freshTrack = (): TrackSnapshot => ({
  n: 0, lastStep: null, gaps: [], window: [], sorted: [], min: Infinity, minStep: 0, streak: 0, leftFloor: null, maxRise: 0, maxRiseStep: null,
  longestStreak: 0, maxSustained: 0, recent: [], diverged: null, history: [], early: freshSums(), late: freshSums(), prev: null,
});

const sumsOf = (s: TrackSnapshot["early"]): WindowSums => ({ ...s, interp: s.interp ?? undefined });
const sumsSnapshot = (s: WindowSums): TrackSnapshot["early"] => ({ ...s, interp: s.interp ?? null });

/** One series (training or validation loss): interval, smoothing, divergence and flatline state. */
export class SeriesTrack {
  n: number;
  lastStep: number | undefined;
  readonly gaps: number[];
  /** Points inside the smoothing window, oldest first; `sorted` holds their values in order. */
  private readonly window: { step: number; value: number }[];
  private readonly sorted: number[];
  private min: number;
  private minStep: number;
  private streak: number;
  /** First point that left the band near the running minimum since the loss was last there. */
  private leftFloor: number | undefined;
  maxRise: number;
  maxRiseStep: number | undefined;
  /** Longest run of points above the line (shorter than patience, or it would have diverged). */
  longestStreak: number;
  /** The rise held over `patience` consecutive points, at its largest: what the gate judges. */
  maxSustained: number;
  private readonly recent: number[];
  diverged: Divergence | undefined;
  /** Smoothed values up to the end of the flatline's late window (bounded by that step). */
  readonly history: { step: number; smooth: number }[];
  readonly early: WindowSums;
  readonly late: WindowSums;
  private prev: { step: number; value: number } | undefined;

  private readonly p: StressPolicy;

  /** A fresh track, or one resumed from its snapshot (checked by the caller: see stress.ts), field by field. */
  constructor(p: StressPolicy, s: TrackSnapshot = freshTrack()) {
    this.p = p;
    this.n = s.n;
    this.lastStep = s.lastStep ?? undefined;
    this.gaps = s.gaps;
    this.window = s.window;
    this.sorted = s.sorted;
    this.min = s.min;
    this.minStep = s.minStep;
    this.streak = s.streak;
    this.leftFloor = s.leftFloor ?? undefined;
    this.maxRise = s.maxRise;
    this.maxRiseStep = s.maxRiseStep ?? undefined;
    this.longestStreak = s.longestStreak;
    this.maxSustained = s.maxSustained;
    this.recent = s.recent;
    this.diverged = s.diverged ?? undefined;
    this.history = s.history;
    this.early = sumsOf(s.early);
    this.late = sumsOf(s.late);
    this.prev = s.prev ?? undefined;
  }

  /**
   * Every field but the policy, as plain data bounded by the policy's windows. Copies of the
   * arrays and of the sums, which change in place; the points in them are never changed.
   */
  snapshot(): TrackSnapshot {
    return {
      n: this.n,
      lastStep: this.lastStep ?? null,
      gaps: [...this.gaps],
      window: [...this.window],
      sorted: [...this.sorted],
      min: this.min,
      minStep: this.minStep,
      streak: this.streak,
      leftFloor: this.leftFloor ?? null,
      maxRise: this.maxRise,
      maxRiseStep: this.maxRiseStep ?? null,
      longestStreak: this.longestStreak,
      maxSustained: this.maxSustained,
      recent: [...this.recent],
      diverged: this.diverged ?? null,
      history: [...this.history],
      early: sumsSnapshot(this.early),
      late: sumsSnapshot(this.late),
      prev: this.prev ?? null,
    };
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
    return medianOfSorted(this.sorted); // kept in order as the window moves
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

  private accumulate(acc: WindowSums, from: number, to: number, step: number, value: number): void {
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

/** The gradient norm after warmup, against the largest of its first `reference_steps`: a blowup is `factor` times that. */
export class GradTrack {
  refMax: number;
  refCount: number;
  seen: number;
  maxRatio: number;
  maxRatioStep: number | undefined;
  blown: { step: number; value: number; ref: number } | undefined;

  private readonly p: StressPolicy["grad_norm"];

  /** A fresh track, or one resumed from its snapshot, field by field. */
  constructor(p: StressPolicy["grad_norm"], s: GradSnapshot = { refMax: 0, refCount: 0, seen: 0, maxRatio: 0, maxRatioStep: null, blown: null }) {
    this.p = p;
    this.refMax = s.refMax;
    this.refCount = s.refCount;
    this.seen = s.seen;
    this.maxRatio = s.maxRatio;
    this.maxRatioStep = s.maxRatioStep ?? undefined;
    this.blown = s.blown ?? undefined;
  }

  snapshot(): GradSnapshot {
    return { refMax: this.refMax, refCount: this.refCount, seen: this.seen, maxRatio: this.maxRatio, maxRatioStep: this.maxRatioStep ?? null, blown: this.blown ?? null };
  }

  push(step: number, g: number): void {
    const p = this.p;
    if (step <= p.after_step) return;
    this.seen++;
    if (step <= p.after_step + p.reference_steps || this.refCount === 0) {
      this.refMax = Math.max(this.refMax, g);
      this.refCount++;
      return;
    }
    const ratio = g / this.refMax;
    if (ratio > this.maxRatio) {
      this.maxRatio = ratio;
      this.maxRatioStep = step;
    }
    if (this.blown === undefined && ratio > p.factor) this.blown = { step, value: g, ref: this.refMax };
  }
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
