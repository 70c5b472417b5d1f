// The verify gate: the cloud run's loss against the envelope forecast from Phase 2, two-sided as
// the seed says ("land within ~5% of the extrapolation. If it doesn't, your proxy substitution
// is broken"). The (lightly smoothed) loss fails when it stays outside the allowed band for
// `patience` points in a row, never for one noisy point:
//  - above the band: the run is worse than forecast; the watchdog tears the node down;
//  - below the band: the run is better than the forecast can explain, so the proxy did not stand
//    in for the target: "investigate"; the watchdog alerts (or tears down, a policy choice) and
//    goes on judging, since a run can fall below and then diverge.
// The allowed band is the gate's (±5%) or the forecast's own calibrated band where that is wider:
// where the forecast cannot tell ±5% apart, the gate says it is too uncertain to verify at ±5%
// rather than tear down a healthy run on forecast error. A streaming monitor over whole metric
// points (each read by the envelope's own series rule), so the watchdog can feed it a few points
// per tick and the CLI a whole file. Pure.
import type { VerifyPolicy } from "../policy/schema.ts";
import { bandAt, expectedAt, type Envelope } from "../forecast/envelope.ts";
import { readPoint, seriesOf, SERIES_WORDS, type ReadablePoint, type Reading } from "../forecast/reading.ts";
import type { GateResult } from "./types.ts";
import { fmt, minOf } from "./stats.ts";

export interface Excursion {
  step: number;
  x: number;
  loss: number;
  expected: number;
  /** (loss − expected) / expected */
  deviation: number;
  /** The half-width allowed here: the gate's band, or the forecast's own where wider. */
  allowed: number;
}

export type VerifyEnvelope = Pick<Envelope, "points" | "band" | "axis" | "series">;

const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;
const signed = (x: number): string => `${x > 0 ? "+" : x < 0 ? "−" : ""}${pct(Math.abs(x))}`;

export class EnvelopeMonitor {
  private readonly recent: number[] = [];
  /** The last `patience` judged excursions: the sustained deviation is the least of them. */
  private window: Excursion[] = [];
  private streakAbove: Excursion[] = [];
  private streakBelow: Excursion[] = [];
  private judged = 0;
  private before = 0;
  private after = 0;
  /** Largest deviation held for `patience` points, on each side (as a positive fraction). */
  private sustainedAbove: { value: number; at: Excursion } | undefined;
  private sustainedBelow: { value: number; at: Excursion } | undefined;
  /** Widest band allowed at a judged point, and where the forecast's own band first exceeded the gate's. */
  private widest = 0;
  private uncertainFrom: Excursion | undefined;
  private nonFinite: { step: number; y: number } | undefined;
  /** The x range of every point read (judged or not), to say where the curve is. */
  private xMin = Infinity;
  private xMax = -Infinity;
  failedAt: Excursion | undefined;
  belowAt: Excursion | undefined;

  readonly subject: string;
  private readonly envelope: VerifyEnvelope;
  private readonly policy: VerifyPolicy;

  constructor(subject: string, envelope: VerifyEnvelope, policy: VerifyPolicy) {
    this.subject = subject;
    this.envelope = envelope;
    this.policy = policy;
  }

  /** The monitor's state as plain data, to be resumed by the watchdog's next tick. */
  snapshot(): Record<string, unknown> {
    const { subject: _s, envelope: _e, policy: _p, ...data } = this;
    return data;
  }

  static restore(subject: string, envelope: VerifyEnvelope, policy: VerifyPolicy, data: Record<string, unknown>): EnvelopeMonitor {
    return Object.assign(new EnvelopeMonitor(subject, envelope, policy), data);
  }

  /** A whole metrics point: the envelope's series rule picks what is read (points without it are ignored). */
  push(p: ReadablePoint): void {
    const r = readPoint(this.envelope, p);
    if (r) this.pushReading(r);
  }

  private pushReading(r: Reading): void {
    if (this.failedAt || this.nonFinite) return;
    if (!Number.isFinite(r.y)) {
      this.nonFinite = { step: r.step, y: r.y };
      return;
    }
    if (r.x < this.xMin) this.xMin = r.x;
    if (r.x > this.xMax) this.xMax = r.x;
    const expected = expectedAt(this.envelope, r.x);
    if (expected === undefined) {
      if (r.x < (this.envelope.points[0]?.x ?? 0)) this.before++;
      else this.after++;
      return;
    }
    this.recent.push(r.y);
    if (this.recent.length > this.policy.smooth) this.recent.shift();
    const smoothed = [...this.recent].sort((a, b) => a - b)[this.recent.length >> 1] as number;
    const own = bandAt(this.envelope, r.x);
    const allowed = Math.max(this.policy.band, own);
    const e: Excursion = { step: r.step, x: r.x, loss: smoothed, expected, deviation: (smoothed - expected) / expected, allowed };
    this.judged++;
    if (allowed > this.widest) this.widest = allowed;
    if (own > this.policy.band && !this.uncertainFrom) this.uncertainFrom = e;
    this.window = [...this.window, e].slice(-this.policy.patience);
    if (this.window.length === this.policy.patience) {
      const above = minOf(this.window.map((w) => w.deviation));
      const below = minOf(this.window.map((w) => -w.deviation));
      if (above > 0 && (!this.sustainedAbove || above > this.sustainedAbove.value)) this.sustainedAbove = { value: above, at: this.window[0] as Excursion };
      if (below > 0 && (!this.sustainedBelow || below > this.sustainedBelow.value)) this.sustainedBelow = { value: below, at: this.window[0] as Excursion };
    }
    this.streakAbove = e.deviation > allowed ? [...this.streakAbove, e] : [];
    this.streakBelow = this.policy.direction === "both" && e.deviation < -allowed ? [...this.streakBelow, e] : [];
    if (this.streakAbove.length >= this.policy.patience) this.failedAt = this.streakAbove[0];
    if (this.streakBelow.length >= this.policy.patience) this.belowAt ??= this.streakBelow[0];
  }

  /** A teardown-worthy failure has been seen: above the band, a non-finite loss, or below it when the policy tears down for that. */
  get failed(): boolean {
    return this.failedAt !== undefined || this.nonFinite !== undefined || (this.belowAt !== undefined && this.policy.below_action === "teardown");
  }

  /** Sustained below the band (an alert by default, not a teardown). */
  get below(): boolean {
    return this.belowAt !== undefined;
  }

  private get series(): string {
    return SERIES_WORDS[seriesOf(this.envelope)];
  }

  /** Where the gate could not verify at its own band, in words (empty when it could). */
  private uncertainty(): string {
    const u = this.uncertainFrom;
    return u ? `; too uncertain to verify at ±${pct(this.policy.band)} from step ${u.step} (${this.envelope.axis} ${fmt(u.x)}) on: the forecast's own band is wider there, up to ±${pct(this.widest)}, and the loss was judged against it` : "";
  }

  /**
   * The verdict so far. `final`: the curve is complete (`windtunnel gate`), so a curve with no
   * point inside the window fails, since nothing was verified; a live run (the watchdog) may
   * still be before the window, and waits.
   */
  finish(final = false): GateResult {
    const base = { id: "verify.envelope", phase: "verify" as const, subject: this.subject, op: "≤" as const };
    const n = this.policy.patience;
    if (this.nonFinite) return { ...base, status: "fail", measured: "non-finite", threshold: this.policy.band, step: this.nonFinite.step, message: `the ${this.series} is ${this.nonFinite.y} at step ${this.nonFinite.step}` };
    const failure = this.failedAt ? { at: this.failedAt, side: "above" as const } : this.belowAt ? { at: this.belowAt, side: "below" as const } : undefined;
    if (failure) {
      const f = failure.at;
      const held = failure.side === "above" ? this.streakAbove : this.streakBelow;
      const streak = held.length >= n ? held.slice(0, n) : [f];
      const least = minOf(streak.map((s) => Math.abs(s.deviation)));
      const what = failure.side === "above" ? `worse than forecast: the ${this.series} stayed above` : `better than the forecast can explain: the ${this.series} stayed below`;
      const then = failure.side === "above" ? "" : "; proxy substitution broken: investigate (the Phase 2 proxy did not stand in for this run)";
      return { ...base, status: "fail", measured: Number(least.toFixed(4)), threshold: Number(f.allowed.toFixed(4)), op: "≤", step: f.step, message: `${what} the ±${pct(f.allowed)} band for ${n} points in a row from step ${f.step} (${this.envelope.axis} ${fmt(f.x)}): ${fmt(f.loss)} against ${fmt(f.expected)} expected (${signed(f.deviation)})${then}` };
    }
    if (this.judged === 0) {
      const first = this.envelope.points[0]?.x ?? 0;
      const last = this.envelope.points[this.envelope.points.length - 1]?.x ?? 0;
      const where = this.before + this.after === 0 ? `the curve has no ${this.series} point to judge` : `the curve covers ${this.envelope.axis} ${fmt(this.xMin)}–${fmt(this.xMax)} (${this.before} points before the window, ${this.after} after it)`;
      if (!final) return { ...base, status: "skip", measured: null, threshold: this.policy.band, message: `no point inside the envelope's window yet: ${where}` };
      return { ...base, status: "fail", measured: 0, op: "≥", threshold: 1, message: `nothing verified: no point inside the envelope's window (${this.envelope.axis} ${fmt(first)}–${fmt(last)}); ${where}. Is the envelope for this run, on its axis?` };
    }
    // The measured value of a pass is the largest deviation held for `patience` points, the
    // quantity the gate compares: it is within the allowed band, or the gate would have failed.
    const a = this.sustainedAbove;
    const b = this.policy.direction === "both" ? this.sustainedBelow : undefined;
    const worst = !a ? (b ? { ...b, dev: -b.value } : undefined) : !b || a.value >= b.value ? { ...a, dev: a.value } : { ...b, dev: -b.value };
    const sustained = this.judged < n ? `fewer than ${n} points judged, none sustained` : worst ? `the largest deviation held for ${n} points in a row was ${signed(worst.dev)} from step ${worst.at.step}` : "no deviation was held";
    const ignored = this.policy.direction === "above" && this.sustainedBelow && this.sustainedBelow.value > this.widest ? `; below the forecast by ${pct(this.sustainedBelow.value)} for ${n} points from step ${this.sustainedBelow.at.step}, not judged (verify.direction is above)` : "";
    const threshold = Number(this.widest.toFixed(4));
    return { ...base, status: "pass", measured: Number((worst?.value ?? 0).toFixed(4)), threshold, message: `${this.judged} points inside the window stayed within ±${pct(this.widest)} of the forecast: ${sustained}${ignored}${this.uncertainty()}` };
  }
}
