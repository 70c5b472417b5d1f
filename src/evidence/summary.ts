// What `validate` prints per file, folded one batch at a time so memory stays flat whatever the
// file size (only distinct config hashes are kept, one per candidate).
import { SERIES, STATUSES, type MetricPoint, type Series, type Status, type TrajectoryRow } from "./schemas.ts";

export interface Best {
  value: number;
  /** Candidate id (trajectories) or step (curves). */
  at: string;
  line: number;
}

export interface TrajectorySummary {
  kind: "trajectory";
  rows: number;
  /** Rows evaluating the reference configuration (repeats of it included). */
  baselines: number;
  distinctConfigs: number;
  /** Evaluations of a config already seen (noise repeats or wasted proposals). */
  repeats: number;
  statuses: Record<Status, number>;
  rawStatuses: Record<string, number>;
  baselineValBpb?: number;
  best?: Best;
  nonFinite: number;
  withoutValue: number;
  stepRange?: [number, number];
}

export class TrajectoryFold {
  private readonly hashes = new Set<string>();
  private readonly s: TrajectorySummary = {
    kind: "trajectory",
    rows: 0,
    baselines: 0,
    distinctConfigs: 0,
    repeats: 0,
    statuses: Object.fromEntries(STATUSES.map((k) => [k, 0])) as Record<Status, number>,
    rawStatuses: {},
    nonFinite: 0,
    withoutValue: 0,
  };

  add(rows: readonly TrajectoryRow[]): void {
    const s = this.s;
    for (const r of rows) {
      s.rows++;
      if (r.baseline) s.baselines++;
      if (this.hashes.has(r.configHash)) s.repeats++;
      else this.hashes.add(r.configHash);
      s.statuses[r.status]++;
      s.rawStatuses[r.rawStatus] = (s.rawStatuses[r.rawStatus] ?? 0) + 1;
      if (r.steps !== undefined) s.stepRange = s.stepRange ? [Math.min(s.stepRange[0], r.steps), Math.max(s.stepRange[1], r.steps)] : [r.steps, r.steps];
      const v = r.val_bpb;
      if (v === null) {
        s.withoutValue++;
        continue;
      }
      if (!Number.isFinite(v)) {
        s.nonFinite++;
        continue;
      }
      if (r.baseline && s.baselineValBpb === undefined) s.baselineValBpb = v;
      if (r.status === "ok" && (s.best === undefined || v < s.best.value)) s.best = { value: v, at: r.id, line: r.line };
    }
    s.distinctConfigs = this.hashes.size;
  }

  result(): TrajectorySummary {
    return { ...this.s, statuses: { ...this.s.statuses }, rawStatuses: { ...this.s.rawStatuses } };
  }
}

export interface MetricsSummary {
  kind: "metrics";
  points: number;
  /** Points carrying each series. */
  series: Record<Series, number>;
  stepRange?: [number, number];
  tags: string[];
  /** Lowest finite value per loss series. */
  best: Partial<Record<Series, Best>>;
  last: Partial<Record<Series, number>>;
  /** Points where any loss-like series is NaN or infinite. */
  nonFinite: number;
  firstNonFinite?: { step: number; line: number };
}

export class MetricsFold {
  private readonly tags = new Set<string>();
  private readonly s: MetricsSummary = {
    kind: "metrics",
    points: 0,
    series: Object.fromEntries(SERIES.map((k) => [k, 0])) as Record<Series, number>,
    tags: [],
    best: {},
    last: {},
    nonFinite: 0,
  };

  add(points: readonly MetricPoint[]): void {
    const s = this.s;
    for (const p of points) {
      s.points++;
      if (p.tag !== undefined) this.tags.add(p.tag);
      if (s.stepRange === undefined) s.stepRange = [p.step, p.step];
      else {
        if (p.step < s.stepRange[0]) s.stepRange[0] = p.step;
        if (p.step > s.stepRange[1]) s.stepRange[1] = p.step;
      }
      // One call per series rather than a loop over keys: this runs once per point of a 1M-point stream.
      const nonFinite = this.series("loss", p.loss, p) | this.series("val_loss", p.val_loss, p) | this.series("val_bpb", p.val_bpb, p) | this.series("grad_norm", p.grad_norm, p);
      if (nonFinite) {
        s.nonFinite++;
        s.firstNonFinite ??= { step: p.step, line: p.line };
      }
    }
  }

  /** Fold one value of one series; returns 1 when it is non-finite. */
  private series(k: Series, v: number | undefined, p: MetricPoint): number {
    if (v === undefined) return 0;
    const s = this.s;
    s.series[k]++;
    s.last[k] = v;
    if (!Number.isFinite(v)) return 1;
    if (k !== "grad_norm") {
      const b = s.best[k];
      if (b === undefined || v < b.value) s.best[k] = { value: v, at: String(p.step), line: p.line };
    }
    return 0;
  }

  result(): MetricsSummary {
    return { ...this.s, tags: [...this.tags].sort(), series: { ...this.s.series }, best: { ...this.s.best }, last: { ...this.s.last } };
  }
}
