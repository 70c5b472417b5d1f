// The verify gate: the cloud run's loss against the envelope forecast from Phase 2. It fails when
// the (lightly smoothed) loss stays outside the ±band for `patience` points in a row, never for
// one noisy point, and reports the worst excursion and where. A streaming monitor, so the
// watchdog can feed it a few points per tick and the CLI a whole file. Pure.
import type { VerifyPolicy } from "../policy/schema.ts";
import type { Envelope } from "../forecast/envelope.ts";
import { expectedAt } from "../forecast/envelope.ts";
import type { GateResult } from "./types.ts";
import { fmt } from "./stats.ts";

export interface CloudPoint {
  step: number;
  x: number;
  loss: number;
}

export interface Excursion {
  step: number;
  x: number;
  loss: number;
  expected: number;
  /** (loss − expected) / expected */
  deviation: number;
}

const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;

/**
 * What the verify gate reads of a metrics point: x on the envelope's axis and the loss of its
 * series (training loss, else validation loss, when the envelope names none). Undefined when the
 * point carries neither. One choice for gate, watchdog and watch.
 */
export function envelopeReading(env: Pick<Envelope, "axis" | "series">, p: { step: number; tokens?: number | undefined; loss?: number | undefined; val_loss?: number | undefined; val_bpb?: number | undefined }): CloudPoint | undefined {
  const y = env.series === "val_bpb" ? p.val_bpb : env.series === "val_loss" ? p.val_loss : env.series === "loss" ? p.loss : (p.loss ?? p.val_loss);
  const x = env.axis === "tokens" ? p.tokens : p.step;
  return y === undefined || x === undefined ? undefined : { step: p.step, x, loss: y };
}

export class EnvelopeMonitor {
  private readonly recent: number[] = [];
  private streak: Excursion[] = [];
  private judged = 0;
  private before = 0;
  private after = 0;
  private worst: Excursion | undefined;
  private worstBelow: Excursion | undefined;
  private nonFinite: CloudPoint | undefined;
  /** The x range of every point pushed (judged or not), to say where the curve is. */
  private xMin = Infinity;
  private xMax = -Infinity;
  failedAt: Excursion | undefined;

  readonly subject: string;
  private readonly envelope: Pick<Envelope, "points" | "band" | "axis">;
  private readonly policy: VerifyPolicy;

  constructor(subject: string, envelope: Pick<Envelope, "points" | "band" | "axis">, policy: VerifyPolicy) {
    this.subject = subject;
    this.envelope = envelope;
    this.policy = policy;
  }

  /** The monitor's state as plain data, to be resumed by the watchdog's next tick. */
  snapshot(): Record<string, unknown> {
    const { subject: _s, envelope: _e, policy: _p, ...data } = this;
    return data;
  }

  static restore(subject: string, envelope: Pick<Envelope, "points" | "band" | "axis">, policy: VerifyPolicy, data: Record<string, unknown>): EnvelopeMonitor {
    return Object.assign(new EnvelopeMonitor(subject, envelope, policy), data);
  }

  push(p: CloudPoint): void {
    if (this.failedAt || this.nonFinite) return;
    if (!Number.isFinite(p.loss)) {
      this.nonFinite = p;
      return;
    }
    if (p.x < this.xMin) this.xMin = p.x;
    if (p.x > this.xMax) this.xMax = p.x;
    const expected = expectedAt(this.envelope, p.x);
    if (expected === undefined) {
      if (p.x < (this.envelope.points[0]?.x ?? 0)) this.before++;
      else this.after++;
      return;
    }
    this.recent.push(p.loss);
    if (this.recent.length > this.policy.smooth) this.recent.shift();
    const smoothed = [...this.recent].sort((a, b) => a - b)[this.recent.length >> 1] as number;
    const e: Excursion = { step: p.step, x: p.x, loss: smoothed, expected, deviation: (smoothed - expected) / expected };
    this.judged++;
    if (e.deviation > 0 && (!this.worst || e.deviation > this.worst.deviation)) this.worst = e;
    if (e.deviation < 0 && (!this.worstBelow || e.deviation < this.worstBelow.deviation)) this.worstBelow = e;
    const out = e.deviation > this.policy.band || (this.policy.direction === "both" && e.deviation < -this.policy.band);
    this.streak = out ? [...this.streak, e] : [];
    if (this.streak.length >= this.policy.patience) this.failedAt = this.streak[0];
  }

  /** A teardown-worthy failure has been seen (the watchdog stops feeding here). */
  get failed(): boolean {
    return this.failedAt !== undefined || this.nonFinite !== undefined;
  }

  /**
   * The verdict so far. `final`: the curve is complete (`windtunnel gate`), so a curve with no
   * point inside the window fails, since nothing was verified; a live run (the watchdog) may
   * still be before the window, and waits.
   */
  finish(final = false): GateResult {
    const base = { id: "verify.envelope", phase: "verify" as const, subject: this.subject, op: "≤" as const, threshold: this.policy.band };
    if (this.nonFinite) return { ...base, status: "fail", measured: "non-finite", step: this.nonFinite.step, message: `loss is ${this.nonFinite.loss} at step ${this.nonFinite.step}` };
    if (this.failedAt) {
      const f = this.failedAt;
      const w = this.worst ?? f;
      return { ...base, status: "fail", measured: Number(Math.abs(f.deviation).toFixed(4)), step: f.step, message: `loss left the ±${pct(this.policy.band)} band at step ${f.step} (${this.envelope.axis} ${fmt(f.x)}): ${fmt(f.loss)} against ${fmt(f.expected)} expected (${f.deviation > 0 ? "+" : ""}${pct(f.deviation)}) for ${this.policy.patience} points in a row; worst ${w.deviation > 0 ? "+" : ""}${pct(w.deviation)} at step ${w.step}` };
    }
    if (this.judged === 0) {
      const first = this.envelope.points[0]?.x ?? 0;
      const last = this.envelope.points[this.envelope.points.length - 1]?.x ?? 0;
      const where = this.before + this.after === 0 ? "the curve has no point to judge" : `the curve covers ${this.envelope.axis} ${fmt(this.xMin)}–${fmt(this.xMax)} (${this.before} points before the window, ${this.after} after it)`;
      if (!final) return { ...base, status: "skip", measured: null, message: `no point inside the envelope's window yet: ${where}` };
      return { ...base, status: "fail", measured: 0, op: "≥", threshold: 1, message: `nothing verified: no point inside the envelope's window (${this.envelope.axis} ${fmt(first)}–${fmt(last)}); ${where}. Is the envelope for this run, on its axis?` };
    }
    const worst = this.worst;
    const below = this.worstBelow;
    const worstAbs = Math.max(worst?.deviation ?? 0, this.policy.direction === "both" ? -(below?.deviation ?? 0) : 0);
    const note = this.policy.direction === "above" && below && -below.deviation > this.policy.band ? `; better than forecast by up to ${pct(-below.deviation)} (step ${below.step}): not a failure, but the forecast was pessimistic` : "";
    return { ...base, status: "pass", measured: Number(worstAbs.toFixed(4)), message: `${this.judged} points inside the window stayed within ±${pct(this.policy.band)} for ${this.policy.patience} points in a row${worst ? `; worst +${pct(worst.deviation)} at step ${worst.step}` : ""}${note}` };
  }
}
