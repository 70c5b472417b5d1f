// The lab benchmark's tables and targets, from the methods' campaigns (pure: no I/O).
import { configHash } from "../../src/evidence/hash.ts";
import type { GroundTruth } from "./ground-truth.ts";
import { quartiles, rankConfigs, recall, regret, regretByCandidates, stepsSpent, type Truth } from "./metrics.ts";
import type { Method } from "./methods.ts";
import type { Campaign } from "./replay.ts";

export interface MethodScore {
  name: string;
  label: string;
  prunes: boolean;
  /** Per campaign. */
  steps: number[];
  recall: number[];
  regret: number[];
  stopped: number[];
  /** Per campaign, the regret after k candidates at entry k − 1. */
  curve: number[][];
  shortfalls: string[];
}

export function scoreMethod(m: Pick<Method, "name" | "label" | "pruner">, campaigns: readonly Campaign[], truth: Truth): MethodScore {
  return {
    name: m.name,
    label: m.label,
    prunes: m.pruner !== undefined,
    steps: campaigns.map((c) => stepsSpent(c.evaluations)),
    recall: campaigns.map((c) => recall(rankConfigs(c.evaluations), truth)),
    regret: campaigns.map((c) => regret(rankConfigs(c.evaluations)[0], truth)),
    stopped: campaigns.map((c) => c.evaluations.filter((e) => e.pruned !== undefined).length),
    curve: campaigns.map((c) => regretByCandidates(c.evaluations, c.seed, truth)),
    shortfalls: campaigns.flatMap((c) => (c.shortfall ? [`seed ${c.seed}: ${c.shortfall}`] : [])),
  };
}

const med = (xs: readonly number[]): number => quartiles(xs).median;

/** Median regret after k candidates; a campaign that evaluated fewer counts as no pick (Infinity). */
export function medianRegretAt(s: MethodScore, k: number): number {
  return med(s.curve.map((c) => c[k - 1] ?? Infinity));
}

export function fmt(x: number, digits: number): string {
  return Number.isFinite(x) ? x.toFixed(digits) : x === Infinity ? "∞" : "—";
}
const int = (x: number): string => (Number.isFinite(x) ? Math.round(x).toLocaleString("en-US") : "—");
const cell = (xs: readonly number[], f: (x: number) => string): string => {
  const q = quartiles(xs);
  return `${f(q.median)} (${f(q.q1)}–${f(q.q3)})`;
};

export function methodTable(scores: readonly MethodScore[], random: MethodScore): string[] {
  const lines = ["| method | trainer steps | steps vs random | recall of the true top 3 in its top 3 | regret of its pick (val_bpb) | runs stopped early |", "|---|---|---|---|---|---|"];
  for (const s of scores) {
    lines.push(`| ${s.label} | ${cell(s.steps, int)} | ${(med(s.steps) / med(random.steps)).toFixed(2)}× | ${cell(s.recall, (x) => fmt(x, 2))} | ${cell(s.regret, (x) => fmt(x, 4))} | ${s.prunes ? cell(s.stopped, int) : "—"} |`);
  }
  return lines;
}

/** Candidate counts the regret curve is shown at. */
export const REGRET_AT = [1, 2, 3, 4, 6, 8, 12, 16, 20, 24, 32, 48];

export function regretCurveTable(scores: readonly MethodScore[], ks: readonly number[]): string[] {
  return [
    `| median regret after k candidates | ${ks.map((k) => `k = ${k}`).join(" | ")} |`,
    `|---|${ks.map(() => "---|").join("")}`,
    ...scores.map((s) => `| ${s.name} | ${ks.map((k) => fmt(medianRegretAt(s, k), 4)).join(" | ")} |`),
  ];
}

/**
 * Each early-stopping method against plain random given the same trainer steps: the k whole
 * candidates its median steps buy (k = ⌊steps / steps per candidate⌋), and random's median regret
 * after those k. `random` must have run at least that many candidates.
 */
export function equalBudgetTable(pruning: readonly MethodScore[], random: MethodScore, stepsPerCandidate: number): string[] {
  const lines = ["| early-stopping method | its trainer steps | its regret | plain random at those steps (k candidates) | random's regret there |", "|---|---|---|---|---|"];
  for (const s of pruning) {
    const k = Math.floor(med(s.steps) / stepsPerCandidate);
    lines.push(`| ${s.name} | ${int(med(s.steps))} | ${fmt(med(s.regret), 4)} | ${int(k * stepsPerCandidate)} (k = ${k}) | ${fmt(medianRegretAt(random, k), 4)} |`);
  }
  return lines;
}

export interface Target {
  what: string;
  ok: boolean;
  got: string;
}

/** Done-when 1: at ≤ 50% of the plain random sweep's steps, an early-stopping method with the same or lower median regret. */
export function pruningTarget(scores: readonly MethodScore[], random: MethodScore): Target {
  const budget = med(random.steps) / 2;
  const bar = med(random.regret);
  const what = `at ≤ 50% of the plain ${random.curve[0]?.length ?? "?"}-candidate random sweep's trainer steps (≤ ${int(budget)}), an early-stopping method reaches its median regret (${fmt(bar, 4)}) or lower`;
  const built = scores.filter((s) => s.prunes);
  if (built.length === 0) return { what, ok: false, got: "no early-stopping method is listed" };
  const meets = (s: MethodScore): boolean => med(s.steps) <= budget && med(s.regret) <= bar;
  return { what, ok: built.some(meets), got: built.map((s) => `${s.name} ${int(med(s.steps))} steps (${((100 * med(s.steps)) / med(random.steps)).toFixed(0)}%), regret ${fmt(med(s.regret), 4)} ${meets(s) ? "✓" : "✗"}`).join("; ") };
}

/** Done-when 2: the warm-started TPE reaches random's median regret after all its candidates in at most half as many. */
export function warmStartTarget(scores: readonly MethodScore[], random: MethodScore, candidates: number): Target {
  const bar = medianRegretAt(random, candidates);
  const what = `the warm-started TPE reaches the random sweep's median regret after ${candidates} candidates (${fmt(bar, 4)}) within ${Math.floor(candidates / 2)} candidates`;
  const warm = scores.find((s) => s.name === "tpe-warm");
  if (warm === undefined) return { what, ok: false, got: "no tpe-warm method" };
  const k = Array.from({ length: candidates }, (_, i) => i + 1).find((n) => medianRegretAt(warm, n) <= bar);
  return { what, ok: k !== undefined && k <= candidates / 2, got: k === undefined ? `not within ${candidates} candidates (median regret ${fmt(medianRegretAt(warm, candidates), 4)} at ${candidates})` : `after ${k} candidate${k === 1 ? "" : "s"}` };
}

/** A config as it differs from the menu's baseline, e.g. `lr=0.03 d_hidden=32 context=4`. */
export function labelOf(truth: Pick<GroundTruth, "configs">, hash: string, baseline: Record<string, unknown>): string {
  const c = truth.configs.find((x) => x.hash === hash);
  if (c === undefined) return hash.slice(0, 12);
  if (configHash(c.config) === configHash({ ...c.config, ...baseline })) return "the baseline";
  return Object.entries(baseline).filter(([k, v]) => c.config[k] !== v).map(([k]) => `${k}=${String(c.config[k])}`).join(" ");
}

/** The seed-to-seed standard deviation of the final val_bpb, pooled over the configs. */
export function pooledSigma(truth: Pick<GroundTruth, "configs">): number {
  let ss = 0;
  let dof = 0;
  for (const c of truth.configs) {
    const vs = c.runs.map((r) => r.val_bpb).filter((v): v is number => v !== null);
    if (vs.length < 2) continue;
    const m = vs.reduce((s, v) => s + v, 0) / vs.length;
    ss += vs.reduce((s, v) => s + (v - m) ** 2, 0);
    dof += vs.length - 1;
  }
  return dof > 0 ? Math.sqrt(ss / dof) : Number.NaN;
}
