// How the lab benchmark scores a campaign against the ground truth (issue 18): the trainer steps it
// spent, the recall of the true top 3 among its own top 3, and the regret of its pick (the true mean
// of the config it ranks first minus the true best mean). Pure: campaigns in, numbers out.
import type { GroundTruth } from "./ground-truth.ts";

/** As much of an evaluation as scoring needs (replay.ts's Evaluation). */
export interface Scored {
  hash: string;
  task: { seed: number; proposer: string };
  steps: number;
  /** Full-length val_bpb; null when it crashed or was stopped early. */
  value: number | null;
}

export interface Truth {
  /** Each config's mean val_bpb over the truth's seeds; Infinity when a seed crashed (never a pick worth having). */
  mean: ReadonlyMap<string, number>;
  /** Config hashes, best mean first. */
  ranked: readonly string[];
  best: number;
}

export function truthOf(truth: Pick<GroundTruth, "configs">): Truth {
  const mean = new Map(truth.configs.map((c) => [c.hash, c.runs.some((r) => r.val_bpb === null) ? Infinity : c.runs.reduce((s, r) => s + (r.val_bpb as number), 0) / c.runs.length]));
  const ranked = [...mean.keys()].sort((a, b) => (mean.get(a) as number) - (mean.get(b) as number));
  return { mean, ranked, best: mean.get(ranked[0] as string) ?? Number.NaN };
}

/**
 * The campaign's own ranking, as the sweep gates rank (src/gates/sweep.ts): each config by the
 * mean of its full-length values, ties to the one evaluated more often, then to the first seen.
 * Stopped and crashed runs rank nothing.
 */
export function rankConfigs(evals: readonly Scored[]): string[] {
  const groups = new Map<string, number[]>();
  for (const e of evals) if (e.value !== null && Number.isFinite(e.value)) groups.set(e.hash, [...(groups.get(e.hash) ?? []), e.value]);
  const mean = (vs: number[]): number => vs.reduce((s, v) => s + v, 0) / vs.length;
  return [...groups.entries()].sort(([, a], [, b]) => mean(a) - mean(b) || b.length - a.length).map(([h]) => h);
}

/** Share of the true top k among the campaign's top k. */
export function recall(ranking: readonly string[], truth: Truth, k = 3): number {
  const top = new Set(truth.ranked.slice(0, k));
  return ranking.slice(0, k).filter((h) => top.has(h)).length / k;
}

/** True mean of the pick minus the true best; Infinity when there is no pick (nothing ran to full length). */
export function regret(pick: string | undefined, truth: Truth): number {
  if (pick === undefined) return Infinity;
  const m = truth.mean.get(pick);
  if (m === undefined) throw new Error(`regret: ${pick.slice(0, 12)} is not a config of the ground truth`);
  return m - truth.best;
}

export function stepsSpent(evals: readonly Scored[]): number {
  return evals.reduce((s, e) => s + e.steps, 0);
}

/**
 * Regret after each number of candidates: after the first k distinct configs evaluated at the
 * campaign's seed (noise repeats are not candidates), the pick is the best full-length value
 * among them. Entry k − 1 is the regret after k candidates.
 */
export function regretByCandidates(evals: readonly Scored[], campaignSeed: number, truth: Truth): number[] {
  const out: number[] = [];
  const seen = new Set<string>();
  let best: { hash: string; value: number } | undefined;
  for (const e of evals) {
    if (e.task.seed !== campaignSeed || e.task.proposer === "repeat" || seen.has(e.hash)) continue;
    seen.add(e.hash);
    if (e.value !== null && Number.isFinite(e.value) && (best === undefined || e.value < best.value)) best = { hash: e.hash, value: e.value };
    out.push(regret(best?.hash, truth));
  }
  return out;
}

/** Median and quartiles, linearly interpolated between order statistics (numpy's default). */
export function quartiles(xs: readonly number[]): { q1: number; median: number; q3: number } {
  const s = [...xs].sort((a, b) => a - b);
  const at = (p: number): number => {
    if (s.length === 0) return Number.NaN;
    const i = (s.length - 1) * p;
    const lo = Math.floor(i);
    const hi = Math.ceil(i);
    const a = s[lo] as number;
    const b = s[hi] as number;
    return lo === hi || a === b ? a : a + (b - a) * (i - lo);
  };
  return { q1: at(0.25), median: at(0.5), q3: at(0.75) };
}
