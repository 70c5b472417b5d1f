// Phase 1 gates on a trajectory: did the sweep cover enough ground, how noisy is the metric,
// and which distinct configs beat the reference by more than the noise (the finalists).
import type { TrajectoryRow } from "../evidence/schemas.ts";
import type { Policy } from "../policy/schema.ts";
import { gate, type GateResult } from "./types.ts";
import { median, mean, sumSquares } from "./stats.ts";
import { fmt, round } from "../common/format.ts";
import { projectToTarget, type Projection } from "./project.ts";

export interface SweepInput {
  subject: string;
  rows: readonly TrajectoryRow[];
  /** Rows the reader could not read: they count as failed attempts. */
  unreadable: number;
}

/** One distinct config with every evaluation of it that produced a value. */
export interface ConfigGroup {
  hash: string;
  /** Id of its first evaluation. */
  id: string;
  ids: string[];
  config: Record<string, unknown>;
  /** How it differs from the baseline config (or its id). */
  label: string;
  values: number[];
  n: number;
  mean: number;
  baseline: boolean;
  /** Improvement over the reference in the metric's units (positive is better). */
  delta?: number;
  /** delta / (σ·√(1/n + 1/n_ref)). */
  z?: number;
  separable?: boolean;
}

export interface Noise {
  sigma: number;
  source: "measured" | "assumed";
  /** Configs evaluated more than once, and the degrees of freedom they give. */
  repeatedConfigs: number;
  dof: number;
  /** The pooled σ before the floor (or null when nothing repeats). */
  measured: number | null;
  note: string;
}

export interface Reference {
  kind: "baseline" | "median";
  value: number;
  n: number;
  label: string;
}

export interface Finalist extends ConfigGroup {
  rank: number;
  projection?: Projection;
}

/** Rows early stopping ended at a rung: neither evaluated nor failed, and never ranked. */
export interface Pruned {
  count: number;
  /** How many at each rung (the step of `pruned_at`), lowest rung first; rows that name none are not here. */
  byStep: { step: number; count: number }[];
}

export interface SweepOutcome {
  results: GateResult[];
  pruned: Pruned;
  noise: Noise;
  reference?: Reference;
  /** The best configs by mean, up to finalists.list. */
  ranking: ConfigGroup[];
  /** Every distinct config, best first (the report draws them all). */
  groups: ConfigGroup[];
  finalists: Finalist[];
}

export function metricOf(row: TrajectoryRow, name: string): number | null {
  const v = name === "val_bpb" ? row.val_bpb : (row.metrics?.[name] ?? null);
  return typeof v === "number" ? v : null;
}

export function evaluateSweep(input: SweepInput, policy: Policy): SweepOutcome {
  const p = policy.sweep;
  const subject = input.subject;
  const better = (a: number, b: number): number => (p.metric.goal === "min" ? b - a : a - b);

  // Coverage: attempts include unreadable rows; a value that is NaN/Inf counts as a failure.
  let failed = input.unreadable;
  const groups = new Map<string, ConfigGroup>();
  const baselineRows = input.rows.filter((r) => r.baseline);
  const baselineConfig = baselineRows[0]?.config;
  const pruned = prunedOf(input.rows);
  for (const r of input.rows) {
    if (r.status === "crash" || r.status === "timeout") failed++;
    if (r.status !== "ok") continue;
    const v = metricOf(r, p.metric.name);
    if (v === null) continue;
    if (!Number.isFinite(v)) {
      failed++;
      continue;
    }
    let g = groups.get(r.configHash);
    if (g === undefined) {
      g = { hash: r.configHash, id: r.id, ids: [], config: r.config, label: labelOf(r, baselineConfig), values: [], n: 0, mean: Number.NaN, baseline: false };
      groups.set(r.configHash, g);
    }
    g.ids.push(r.id);
    g.values.push(v);
    if (r.baseline) g.baseline = true;
  }
  for (const g of groups.values()) {
    g.n = g.values.length;
    g.mean = mean(g.values);
  }
  // Coverage measures the search: a pruned candidate produced a value (at its rung, where the
  // others beat it), so it counts as evaluated, as a distinct config tried and as an attempt that
  // did not fail. It is never ranked: a rung value is not comparable with full-length ones. With
  // early stopping most candidates are pruned (ASHA at η = 3 keeps about 1 in 9 to the end), and a
  // policy written for "about half of ~100 candidates produce a value" must still hold.
  const attempts = input.rows.length + input.unreadable;
  const full = [...groups.values()].reduce((s, g) => s + g.n, 0);
  const evaluated = full + pruned.count;
  const distinct = new Set([...groups.keys(), ...input.rows.filter((r) => r.status === "pruned").map((r) => r.configHash)]).size;
  const prunedText = pruned.count > 0 ? `; ${describePruned(pruned)}, evaluated but not ranked: ${full} ran to the end` : "";
  const failedFraction = attempts > 0 ? failed / attempts : 0;
  const results: GateResult[] = [
    gate("sweep", "sweep.coverage.evaluated", subject).judged(evaluated >= p.coverage.min_evaluated, {
      measured: evaluated,
      op: "≥",
      threshold: p.coverage.min_evaluated,
      message: `${evaluated} evaluations produced a ${p.metric.name} (${attempts} attempts${baselineRows.length > 0 ? `, ${baselineRows.length} of the baseline` : ""}${prunedText})`,
    }),
    gate("sweep", "sweep.coverage.distinct", subject).judged(distinct >= p.coverage.min_distinct, {
      measured: distinct,
      op: "≥",
      threshold: p.coverage.min_distinct,
      message: `${evaluated} evaluations over ${distinct} distinct configs (${evaluated - distinct} repeat an earlier config)`,
    }),
    gate("sweep", "sweep.coverage.failed", subject).judged(failedFraction <= p.coverage.max_failed_fraction, {
      measured: round(failedFraction, 4),
      op: "≤",
      threshold: p.coverage.max_failed_fraction,
      message: `${failed} of ${attempts} attempts failed (crash, timeout, non-finite value or unreadable row${input.unreadable > 0 ? `; ${input.unreadable} unreadable` : ""}${pruned.count > 0 ? `; the ${pruned.count} pruned early did not fail` : ""})`,
    }),
  ];

  const noise = estimateNoise([...groups.values()], policy);
  results.push(gate("sweep", "sweep.noise", subject).pass({ measured: round(noise.sigma, 6), threshold: null, message: noise.note }));

  const reference = chooseReference([...groups.values()], p.separation.reference);
  const ranked = [...groups.values()].sort((a, b) => better(b.mean, a.mean) || b.n - a.n);
  const separationGate = gate("sweep", "sweep.separation", subject);
  const finalistsGate = gate("sweep", "sweep.finalists", subject);
  if (reference === undefined) {
    const why = groups.size === 0 ? `no evaluation produced a ${p.metric.name}` : "the policy asks for a baseline and the trajectory has none";
    results.push(separationGate.fail({ measured: null, op: "≥", threshold: p.separation.z, message: `cannot separate anything: ${why}` }));
    results.push(finalistsGate.fail({ measured: 0, op: "≥", threshold: p.finalists.count, message: "no finalists" }));
    return { results, pruned, noise, ranking: ranked.slice(0, p.finalists.list), groups: ranked, finalists: [] };
  }

  const candidates = ranked.filter((g) => !(reference.kind === "baseline" && g.baseline));
  for (const g of candidates) {
    g.delta = better(g.mean, reference.value);
    g.z = g.delta / (noise.sigma * Math.sqrt(1 / g.n + 1 / reference.n));
    g.separable = g.z >= p.separation.z;
  }
  const separable = candidates.filter((g) => g.separable);
  const best = candidates[0];
  const refText = reference.kind === "baseline" ? `the baseline ${fmt(reference.value)} (n=${reference.n})` : `the sweep median ${fmt(reference.value)} (n=${reference.n})`;
  results.push(
    best === undefined
      ? separationGate.fail({ measured: null, op: "≥", threshold: p.separation.z, message: "no config other than the reference was evaluated" })
      : separationGate.judged(best.separable === true, {
          measured: round(best.z ?? 0, 2),
          op: "≥",
          threshold: p.separation.z,
          message: `best config ${best.id} (${best.label}, n=${best.n}) ${(best.delta ?? 0) >= 0 ? "beats" : "trails"} ${refText} by ${fmt(Math.abs(best.delta ?? 0))}: z = ${fmt(best.z ?? 0)} with σ=${fmt(noise.sigma)}; ${separable.length} of ${candidates.length} configs separable at z ≥ ${p.separation.z}`,
        }),
  );

  const finalists: Finalist[] = separable.slice(0, p.finalists.count).map((g, i) => ({
    ...g,
    rank: i + 1,
    ...(policy.target ? { projection: projectToTarget(g.config, policy.target) } : {}),
  }));
  results.push(
    finalistsGate.judged(finalists.length >= p.finalists.count, {
      measured: separable.length,
      op: "≥",
      threshold: p.finalists.count,
      message:
        finalists.length === 0
          ? `no distinct config beats ${refText} by ${p.separation.z}σ`
          : `${separable.length} distinct config${separable.length === 1 ? "" : "s"} separable from ${reference.kind === "baseline" ? "the baseline" : "the median"}; finalists: ${finalists.map((f) => `${f.id} (${f.label})`).join(", ")}`,
    }),
  );
  return { results, pruned, noise, reference, ranking: ranked.slice(0, p.finalists.list), groups: ranked, finalists };
}

export function prunedOf(rows: readonly TrajectoryRow[]): Pruned {
  const at = new Map<number, number>();
  let count = 0;
  for (const r of rows) {
    if (r.status !== "pruned") continue;
    count++;
    if (r.prunedAt !== undefined) at.set(r.prunedAt.step, (at.get(r.prunedAt.step) ?? 0) + 1);
  }
  return { count, byStep: [...at].sort((a, b) => a[0] - b[0]).map(([step, n]) => ({ step, count: n })) };
}

/** "12 pruned early (7 at step 20, 5 at step 40)". */
export function describePruned(p: Pruned): string {
  const named = p.byStep.reduce((s, b) => s + b.count, 0);
  const parts = [...p.byStep.map((b) => `${b.count} at step ${b.step}`), ...(named < p.count ? [`${p.count - named} at a rung not named`] : [])];
  return `${p.count} pruned early (${parts.join(", ")})`;
}

/** σ pooled over configs evaluated more than once: Σ(xᵢ−x̄)² / Σ(nᵢ−1). */
export function estimateNoise(groups: readonly ConfigGroup[], policy: Policy): Noise {
  const p = policy.sweep.noise;
  const repeated = groups.filter((g) => g.values.length >= 2);
  const dof = repeated.reduce((s, g) => s + g.values.length - 1, 0);
  const ss = repeated.reduce((s, g) => s + sumSquares(g.values), 0);
  const measured = dof > 0 ? Math.sqrt(ss / dof) : null;
  const assumed = Math.max(p.assumed_sigma, p.floor);
  if (measured === null || dof < p.min_dof) {
    const why = dof === 0 ? "no config was evaluated twice" : `only ${dof} degree${dof === 1 ? "" : "s"} of freedom from repeats (policy wants ${p.min_dof})`;
    return { sigma: assumed, source: "assumed", repeatedConfigs: repeated.length, dof, measured, note: `σ=${fmt(assumed)} assumed by the policy: ${why}` };
  }
  if (measured === 0) {
    return { sigma: assumed, source: "assumed", repeatedConfigs: repeated.length, dof, measured, note: `σ=${fmt(assumed)} assumed by the policy: repeats are bit-identical (deterministic trainer?), so they measure no noise; repeat with other seeds` };
  }
  const sigma = Math.max(measured, p.floor);
  const floored = sigma > measured ? ` (floored at ${fmt(p.floor)} by the policy)` : "";
  return { sigma, source: "measured", repeatedConfigs: repeated.length, dof, measured, note: `σ=${fmt(sigma)} measured from ${repeated.length} repeated config${repeated.length === 1 ? "" : "s"} (${dof} degrees of freedom)${floored}` };
}

function chooseReference(groups: readonly ConfigGroup[], mode: Policy["sweep"]["separation"]["reference"]): Reference | undefined {
  const base = groups.find((g) => g.baseline);
  if (base && mode !== "median") return { kind: "baseline", value: base.mean, n: base.n, label: base.label };
  if (mode === "baseline" || groups.length === 0) return undefined;
  const all = groups.flatMap((g) => g.values);
  return { kind: "median", value: median(all), n: all.length, label: "median" };
}

function labelOf(row: TrajectoryRow, baseline: Record<string, unknown> | undefined): string {
  if (row.baseline) return "baseline";
  const c = row.config;
  if (baseline) {
    const diff = Object.keys(c)
      .filter((k) => k !== "seed" && JSON.stringify(c[k]) !== JSON.stringify(baseline[k]))
      .map((k) => `${k}=${typeof c[k] === "string" ? c[k] : JSON.stringify(c[k])}`);
    if (diff.length === 0) return "baseline config";
    const text = diff.join(", ");
    return text.length > 60 ? `${text.slice(0, 57)}…` : text;
  }
  return row.id;
}
/**
 * The metric value a config evaluated once must reach to be separable from the reference: the
 * separation rule z = δ / (σ·√(1/n + 1/n_ref)) ≥ z_min solved for n = 1. The report draws it as
 * the line a single-run candidate has to cross. Undefined without a reference.
 */
export function separationThreshold(o: Pick<SweepOutcome, "reference" | "noise">, policy: Policy): number | undefined {
  if (!o.reference) return undefined;
  const sign = policy.sweep.metric.goal === "min" ? -1 : 1;
  return o.reference.value + sign * policy.sweep.separation.z * o.noise.sigma * Math.sqrt(1 + 1 / o.reference.n);
}
