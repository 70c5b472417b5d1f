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
import "../common/zod-setup.ts";
import * as z from "zod/mini";
import type { VerifyPolicy } from "../policy/schema.ts";
import { lazy } from "../evidence/schemas.ts";
import { assumptionOf, bandAt, expectedAt, type Envelope } from "../forecast/envelope.ts";
import { readPoint, seriesOf, SERIES_WORDS, type ReadablePoint, type Reading } from "../forecast/reading.ts";
import { gate, type GateBuilder, type GateResult } from "./types.ts";
import { anyNumber, readSnapshot } from "./snapshot.ts";
import { minOf } from "./stats.ts";
import { fmt, pct, round, roundApart } from "../common/format.ts";

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

/** What the verify gate reads of an envelope; `assumption` says what the forecast assumed of the run (its learning rate). */
export type VerifyEnvelope = Pick<Envelope, "points" | "band" | "axis" | "series"> & { assumption?: string | undefined };

const signed = (x: number): string => `${x > 0 ? "+" : x < 0 ? "−" : ""}${pct(Math.abs(x), 2)}`;

type Side = "above" | "below";
interface Held {
  /** The deviation every point of the window kept (as a positive fraction on its side). */
  value: number;
  side: Side;
  at: Excursion;
}

export const ENVELOPE_SNAPSHOT_VERSION = 1;

const excursion = () => z.object({ step: anyNumber(), x: anyNumber(), loss: anyNumber(), expected: anyNumber(), deviation: anyNumber(), allowed: anyNumber() });
const held = () => z.object({ value: anyNumber(), side: z.enum(["above", "below"]), at: excursion() });

/** Every field of the monitor but its subject, envelope and policy (which the watchdog's config gives), and a version. */
const envelopeSnapshotSchema = lazy(() =>
  z.object({
    version: z.literal(ENVELOPE_SNAPSHOT_VERSION),
    recent: z.array(anyNumber()),
    window: z.array(excursion()),
    judged: anyNumber(),
    judgedCertain: anyNumber(),
    before: anyNumber(),
    after: anyNumber(),
    heldCertain: z.nullable(held()),
    heldAny: z.nullable(held()),
    widest: anyNumber(),
    uncertainFrom: z.nullable(excursion()),
    nonFinite: z.nullable(z.object({ step: anyNumber(), y: anyNumber() })),
    xMin: anyNumber(),
    xMax: anyNumber(),
    failedAt: z.nullable(excursion()),
    belowAt: z.nullable(excursion()),
  }),
);
export type EnvelopeSnapshot = z.infer<ReturnType<typeof envelopeSnapshotSchema>>;

/** An envelope monitor's snapshot as stored (JSON decoded, unchecked), checked field by field: see gates/snapshot.ts. */
export function readEnvelopeSnapshot(data: unknown): EnvelopeSnapshot {
  return readSnapshot("the verify monitor's snapshot", ENVELOPE_SNAPSHOT_VERSION, envelopeSnapshotSchema(), data);
}

export class EnvelopeMonitor {
  private recent: number[] = [];
  /**
   * The shortest run of the latest judged points that counts as sustained: at least `patience`
   * points spanning at least `min_span_steps` steps (so 5 points of a per-step log are not 5
   * minutes of a validation log). Both the failure and the measured value of a pass are read over it.
   */
  private window: Excursion[] = [];
  private judged = 0;
  private judgedCertain = 0;
  private before = 0;
  private after = 0;
  /** Largest deviation held over a sustained window of points judged at the gate's own band. */
  private heldCertain: Held | undefined;
  /** … and over any window, where the forecast's band was wider (reported, not compared with ±band). */
  private heldAny: Held | undefined;
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
    this.envelope = { ...envelope, assumption: envelope.assumption ?? assumptionOf(envelope as Partial<Envelope>) };
    this.policy = policy;
  }

  /** The monitor's state as plain data, to be resumed by the watchdog's next tick (copies of its lists; the excursions in them never change). */
  snapshot(): EnvelopeSnapshot {
    return {
      version: ENVELOPE_SNAPSHOT_VERSION,
      recent: [...this.recent],
      window: [...this.window],
      judged: this.judged,
      judgedCertain: this.judgedCertain,
      before: this.before,
      after: this.after,
      heldCertain: this.heldCertain ?? null,
      heldAny: this.heldAny ?? null,
      widest: this.widest,
      uncertainFrom: this.uncertainFrom ?? null,
      nonFinite: this.nonFinite ?? null,
      xMin: this.xMin,
      xMax: this.xMax,
      failedAt: this.failedAt ?? null,
      belowAt: this.belowAt ?? null,
    };
  }

  /**
   * A monitor resumed from a snapshot as stored. One written by another version, or with a field
   * missing or of another type, is a SnapshotError naming the field: resuming it with that field
   * fresh would judge a live run on a window or a count it never had.
   */
  static restore(subject: string, envelope: VerifyEnvelope, policy: VerifyPolicy, data: unknown): EnvelopeMonitor {
    const s = readEnvelopeSnapshot(data);
    const m = new EnvelopeMonitor(subject, envelope, policy);
    m.recent = s.recent;
    m.window = s.window;
    m.judged = s.judged;
    m.judgedCertain = s.judgedCertain;
    m.before = s.before;
    m.after = s.after;
    m.heldCertain = s.heldCertain ?? undefined;
    m.heldAny = s.heldAny ?? undefined;
    m.widest = s.widest;
    m.uncertainFrom = s.uncertainFrom ?? undefined;
    m.nonFinite = s.nonFinite ?? undefined;
    m.xMin = s.xMin;
    m.xMax = s.xMax;
    m.failedAt = s.failedAt ?? undefined;
    m.belowAt = s.belowAt ?? undefined;
    return m;
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
    if (own <= this.policy.band) this.judgedCertain++;
    if (allowed > this.widest) this.widest = allowed;
    if (own > this.policy.band && !this.uncertainFrom) this.uncertainFrom = e;
    // The shortest sustained window ending here.
    this.window.push(e);
    const long = (w: readonly Excursion[]): boolean => w.length >= this.policy.patience && (w[w.length - 1] as Excursion).step - (w[0] as Excursion).step >= this.policy.min_span_steps;
    while (this.window.length > 1 && long(this.window.slice(1))) this.window.shift();
    if (!long(this.window)) return;
    const w = this.window;
    const first = w[0] as Excursion;
    const certain = w.every((q) => q.allowed === this.policy.band);
    for (const side of this.policy.direction === "both" ? (["above", "below"] as const) : (["above"] as const)) {
      const s = side === "above" ? 1 : -1;
      const value = minOf(w.map((q) => s * q.deviation));
      if (value > 0 && (!this.heldAny || value > this.heldAny.value)) this.heldAny = { value, side, at: first };
      if (certain && value > 0 && (!this.heldCertain || value > this.heldCertain.value)) this.heldCertain = { value, side, at: first };
      // Out of the band at every point of a sustained window: the gate fails.
      if (w.every((q) => s * q.deviation > q.allowed)) {
        if (side === "above") this.failedAt = first;
        else this.belowAt ??= first;
      }
    }
  }

  /** A teardown-worthy failure has been seen: above the band, a non-finite loss, or below it when the policy tears down for that. */
  get failed(): boolean {
    return this.failedAt !== undefined || this.nonFinite !== undefined || (this.belowAt !== undefined && this.policy.below_action === "teardown");
  }

  /** Sustained below the band (an alert by default, not a teardown). */
  get below(): boolean {
    return this.belowAt !== undefined;
  }

  private get envelopeGate(): GateBuilder {
    return gate("verify", "verify.envelope", this.subject);
  }

  private get series(): string {
    return SERIES_WORDS[seriesOf(this.envelope)];
  }

  /** "step 950" on the step axis, "step 950 (tokens 243200)" on the tokens axis. */
  private where(e: { step: number; x: number }): string {
    return this.envelope.axis === "tokens" ? `step ${e.step} (tokens ${fmt(e.x)})` : `step ${e.step}`;
  }

  /** The failing window (the shortest sustained one from where the failure starts), as its least deviation. */
  private failure(side: Side, f: Excursion): GateResult {
    const what = side === "above" ? `worse than forecast: the ${this.series} stayed above` : `better than the forecast can explain: the ${this.series} stayed below`;
    const then = side === "above" ? "" : "; proxy substitution broken: investigate (the Phase 2 proxy did not stand in for this run)";
    const held = `${this.policy.patience} points in a row${this.policy.min_span_steps > 0 ? ` over ≥ ${this.policy.min_span_steps} steps` : ""}`;
    const assumed = this.envelope.assumption ? `; ${this.envelope.assumption}` : "";
    const [measured, threshold] = roundApart(Math.abs(f.deviation), f.allowed, 4);
    return this.envelopeGate.fail({ op: "≤", measured, threshold, step: f.step, message: `${what} the ±${pct(f.allowed, 2)} band for ${held} from ${this.where(f)}: ${fmt(f.loss)} against ${fmt(f.expected)} expected (${signed(f.deviation)})${then}${assumed}` });
  }

  /**
   * The verdict so far. `final`: the curve is complete (`windtunnel gate`), so a curve with no
   * point inside the window fails, since nothing was verified; a live run (the watchdog) may
   * still be before the window, and waits.
   */
  finish(final = false): GateResult {
    const n = this.policy.patience;
    if (this.nonFinite) return this.envelopeGate.fail({ op: "≤", measured: "non-finite", threshold: this.policy.band, step: this.nonFinite.step, message: `the ${this.series} is ${this.nonFinite.y} at step ${this.nonFinite.step}` });
    if (this.failedAt) return this.failure("above", this.failedAt);
    if (this.belowAt) return this.failure("below", this.belowAt);
    if (this.judged === 0) {
      const first = this.envelope.points[0]?.x ?? 0;
      const last = this.envelope.points[this.envelope.points.length - 1]?.x ?? 0;
      const where = this.before + this.after === 0 ? `the curve has no ${this.series} point to judge` : `the curve covers ${this.envelope.axis} ${fmt(this.xMin)}–${fmt(this.xMax)} (${this.before} points before the window, ${this.after} after it)`;
      if (!final) return this.envelopeGate.skip(`no point inside the envelope's window yet: ${where}`, { op: "≤", threshold: this.policy.band });
      return this.envelopeGate.fail({ op: "≥", measured: 0, threshold: 1, message: `nothing verified: no point inside the envelope's window (${this.envelope.axis} ${fmt(first)}–${fmt(last)}); ${where}. Is the envelope for this run, on its axis?` });
    }
    const band = `±${pct(this.policy.band, 2)}`;
    const describe = (h: Held | undefined): string => (h ? `${signed(h.side === "above" ? h.value : -h.value)} from ${this.where(h.at)}` : "none");
    const sustained = `held for ${n} points in a row${this.policy.min_span_steps > 0 ? ` over ≥ ${this.policy.min_span_steps} steps` : ""}`;
    const uncertain = this.uncertainFrom;
    const wider = uncertain ? `; from ${this.where(uncertain)} on the forecast's own band is wider than ${band} (up to ±${pct(this.widest, 2)}): too uncertain to verify at ${band} there, so those ${this.judged - this.judgedCertain} points were judged against that band and stayed within it (largest deviation ${sustained}: ${describe(this.heldAny)})` : "";
    const past = this.after > 0 ? `; ${this.after} later points are past the envelope's window (${this.envelope.axis} > ${fmt(this.envelope.points[this.envelope.points.length - 1]?.x ?? 0)}) and were not verified` : "";
    const ignored = this.policy.direction === "above" ? " (verify.direction: above; a run below the forecast is not judged)" : "";
    if (this.judgedCertain === 0) {
      // Nothing could be held to ±5%: not a pass. The loss did stay within the forecast's band.
      return this.envelopeGate.skip(`too uncertain to verify at ${band}: the forecast's own band is wider than ${band} over the whole window (±${pct(bandAt(this.envelope, this.envelope.points[0]?.x ?? 0), 2)} → ±${pct(this.widest, 2)}); the ${this.judged} points judged against it stayed within it (largest deviation ${sustained}: ${describe(this.heldAny)})${past}. Fit a longer Phase 2, or forecast a shorter window`, { op: "≤", threshold: this.policy.band });
    }
    // The measured value of a pass is the largest deviation held over a sustained window judged at
    // the gate's band: within it, or the gate would have failed.
    return this.envelopeGate.pass({ op: "≤", measured: round(this.heldCertain?.value ?? 0, 4), threshold: this.policy.band, message: `${this.judgedCertain} points verified within ${band} of the forecast${ignored}: largest deviation ${sustained}: ${describe(this.heldCertain)}${wider}${past}` });
  }
}
