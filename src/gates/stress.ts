// Phase 2 gates on one loss curve per finalist, as a streaming monitor: push points one at a
// time, read the verdict at the end. Memory is bounded by the policy's windows, never by the
// curve's length, so the same monitor can follow a cloud run for a week. The running statistics
// are in stress-track.ts, the gates that read them in stress-results.ts.
import type { MetricPoint } from "../evidence/schemas.ts";
import type { StressPolicy } from "../policy/schema.ts";
import type { GateResult } from "./types.ts";
import { GradTrack, judgedSeries, SeriesTrack, type CurveSeries } from "./stress-track.ts";
import { curveOutcome, FINITE_FIELDS, type CurveOutcome, type CurveState, type NonFinite } from "./stress-results.ts";
import { MONITOR_SNAPSHOT_VERSION, readMonitorSnapshot, type MonitorSnapshot } from "./stress-snapshot.ts";

export type { CurveSeries } from "./stress-track.ts";
export { survivorsGate, type CurveOutcome } from "./stress-results.ts";
export { readMonitorSnapshot, type MonitorSnapshot } from "./stress-snapshot.ts";

/** Gates whose failure stands whatever the rest of the run does. */
const DECISIVE = new Set(["stress.finite", "stress.divergence", "stress.grad_norm"]);

export class CurveMonitor {
  private tracks: Record<CurveSeries, SeriesTrack>;
  private grad: GradTrack;
  private points = 0;
  private lastStep: number | undefined;
  private nonFinite: NonFinite | undefined;
  private nonFiniteCount = 0;

  readonly subject: string;
  private readonly p: StressPolicy;

  constructor(subject: string, p: StressPolicy) {
    this.subject = subject;
    this.p = p;
    this.tracks = { loss: new SeriesTrack(p), val_loss: new SeriesTrack(p) };
    this.grad = new GradTrack(p.grad_norm);
  }

  /**
   * The monitor's state as plain data, to be resumed later: the watchdog keeps one per cloud
   * metrics file between ticks instead of re-reading the file. Non-finite numbers (the running
   * minimum starts at Infinity) need an encoding that keeps them: see gates/snapshot.ts.
   */
  snapshot(): MonitorSnapshot {
    return {
      version: MONITOR_SNAPSHOT_VERSION,
      points: this.points,
      lastStep: this.lastStep ?? null,
      nonFinite: this.nonFinite ?? null,
      nonFiniteCount: this.nonFiniteCount,
      grad: this.grad.snapshot(),
      tracks: { loss: this.tracks.loss.snapshot(), val_loss: this.tracks.val_loss.snapshot() },
    };
  }

  /** A monitor resumed from a snapshot as stored: one of another version, or with a field missing or mistyped, is a SnapshotError naming it. */
  static restore(subject: string, p: StressPolicy, data: unknown): CurveMonitor {
    const s = readMonitorSnapshot(data);
    const m = new CurveMonitor(subject, p);
    m.points = s.points;
    m.lastStep = s.lastStep ?? undefined;
    m.nonFinite = s.nonFinite ?? undefined;
    m.nonFiniteCount = s.nonFiniteCount;
    m.grad = new GradTrack(p.grad_norm, s.grad);
    m.tracks = { loss: new SeriesTrack(p, s.tracks.loss), val_loss: new SeriesTrack(p, s.tracks.val_loss) };
    return m;
  }

  push(pt: MetricPoint): void {
    this.points++;
    this.lastStep = pt.step;
    for (const field of FINITE_FIELDS) {
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
    if (pt.grad_norm !== undefined) this.grad.push(pt.step, pt.grad_norm);
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
    return curveOutcome(this.state());
  }

  private state(): CurveState {
    const series = judgedSeries(this.p, this.tracks);
    return { subject: this.subject, policy: this.p, series, track: this.tracks[series], grad: this.grad, points: this.points, lastStep: this.lastStep, nonFinite: this.nonFinite, nonFiniteCount: this.nonFiniteCount };
  }
}

/** Judge a whole curve held in memory (tests, small curves). */
export function evaluateCurve(subject: string, points: Iterable<MetricPoint>, policy: StressPolicy): CurveOutcome {
  const m = new CurveMonitor(subject, policy);
  for (const pt of points) m.push(pt);
  return m.finish();
}
