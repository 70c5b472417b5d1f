// Sanity-day gates (seed §2.7): before the full run, the cloud node proves that FP8 trains like
// BF16, that the TP/PP layout trains like the reference layout, and that it runs at the expected
// speed. Runs are identified by tag (one metrics stream with a `tag` field, or one file per tag).
// Matching is by step; a missing run, too few matched steps or a non-finite loss fail. Pure.
//
// Every node runs the whole sanity day and is judged on its own (a bad fp8 run on node 0 is not
// rescued by a good one on node 1): files belong to the node folder they sit in (node-<rank>/,
// as the bucket lays them out), and one tag names one run per node.
import type { SanityPolicy } from "../policy/schema.ts";
import { gate, type GateResult } from "./types.ts";
import type { GateId } from "./phases.ts";
import { candidateOfFile } from "./finalists.ts";
import { fmt, pct, round } from "../common/format.ts";

export interface SanityPoint {
  step: number;
  loss: number;
  tokens?: number;
  time_s?: number;
}

export type SanityRuns = ReadonlyMap<string, readonly SanityPoint[]>;


function missing(id: GateId<"sanity">, subject: string, tag: string, runs: SanityRuns): GateResult {
  return gate("sanity", id, subject).fail({ measured: null, threshold: null, message: `no run tagged ${JSON.stringify(tag)} (runs: ${[...runs.keys()].join(", ") || "none"})` });
}

function firstNonFinite(points: readonly SanityPoint[]): SanityPoint | undefined {
  return points.find((p) => !Number.isFinite(p.loss));
}

/** Losses of two runs at the steps both logged, after `after`, in step order. */
export function matched(a: readonly SanityPoint[], b: readonly SanityPoint[], after = 0): { step: number; a: number; b: number }[] {
  const byStep = new Map(b.map((p) => [p.step, p.loss]));
  return a.filter((p) => p.step > after && byStep.has(p.step)).map((p) => ({ step: p.step, a: p.loss, b: byStep.get(p.step) as number })).sort((x, y) => x.step - y.step);
}

function rolling(xs: readonly number[], k: number): number[] {
  const out: number[] = [];
  let sum = 0;
  xs.forEach((x, i) => {
    sum += x;
    if (i >= k) sum -= xs[i - k] as number;
    out.push(sum / Math.min(i + 1, k));
  });
  return out;
}

/** Trapezoidal area under a curve over its steps. */
function area(steps: readonly number[], ys: readonly number[]): number {
  let s = 0;
  for (let i = 1; i < steps.length; i++) s += (((ys[i] as number) + (ys[i - 1] as number)) / 2) * ((steps[i] as number) - (steps[i - 1] as number));
  return s;
}

function nonFiniteGate(id: GateId<"sanity">, subject: string, tag: string, p: SanityPoint): GateResult {
  return gate("sanity", id, subject).fail({ measured: "non-finite", threshold: null, step: p.step, message: `the ${tag} run's loss is ${p.loss} at step ${p.step}` });
}

export function fp8Gates(runs: SanityRuns, policy: SanityPolicy["fp8"]): GateResult[] {
  const subject = `${policy.candidate} vs ${policy.reference}`;
  const ref = runs.get(policy.reference);
  const cand = runs.get(policy.candidate);
  if (!ref) return [missing("sanity.fp8.gap", subject, policy.reference, runs)];
  if (!cand) return [missing("sanity.fp8.gap", subject, policy.candidate, runs)];
  for (const [tag, pts] of [[policy.reference, ref], [policy.candidate, cand]] as const) {
    const bad = firstNonFinite(pts);
    if (bad) return [nonFiniteGate("sanity.fp8.gap", subject, tag, bad)];
  }
  const m = matched(ref, cand, policy.after_step);
  if (m.length < policy.min_matched) {
    return [gate("sanity", "sanity.fp8.gap", subject).fail({ measured: m.length, op: "≥", threshold: policy.min_matched, message: `only ${m.length} steps logged by both runs after step ${policy.after_step} (different step grids?)` })];
  }
  const ra = rolling(m.map((x) => x.a), policy.smooth);
  const rb = rolling(m.map((x) => x.b), policy.smooth);
  let worst = 0;
  let worstStep = m[0]?.step ?? 0;
  ra.forEach((a, i) => {
    const g = Math.abs((rb[i] as number) - a) / a;
    if (g > worst) {
      worst = g;
      worstStep = (m[i] as { step: number }).step;
    }
  });
  const steps = m.map((x) => x.step);
  const aucRef = area(steps, m.map((x) => x.a));
  const aucGap = Math.abs(area(steps, m.map((x) => x.b)) - aucRef) / aucRef;
  return [
    gate("sanity", "sanity.fp8.gap", subject).judged(worst <= policy.max_gap, { measured: round(worst, 6), op: "≤", threshold: policy.max_gap, ...(worst > policy.max_gap ? { step: worstStep } : {}), message: `largest relative gap of the ${policy.smooth}-point means: ${pct(worst, 3)} at step ${worstStep} over ${m.length} matched steps` }),
    gate("sanity", "sanity.fp8.auc", subject).judged(aucGap <= policy.max_auc_gap, { measured: round(aucGap, 6), op: "≤", threshold: policy.max_auc_gap, message: `areas under the loss curves differ by ${pct(aucGap, 3)} (steps ${steps[0]}–${steps[steps.length - 1]})` }),
  ];
}

export function parallelGates(runs: SanityRuns, policy: SanityPolicy["parallel"]): GateResult[] {
  const ref = runs.get(policy.reference);
  return policy.layouts.map((layout) => {
    const subject = `${layout} vs ${policy.reference}`;
    const g = gate("sanity", "sanity.parallel", subject);
    const cand = runs.get(layout);
    if (!ref) return missing("sanity.parallel", subject, policy.reference, runs);
    if (!cand) return missing("sanity.parallel", subject, layout, runs);
    for (const [tag, pts] of [[policy.reference, ref], [layout, cand]] as const) {
      const bad = firstNonFinite(pts.slice(0, policy.steps * 4));
      if (bad) return nonFiniteGate("sanity.parallel", subject, tag, bad);
    }
    const m = matched(ref, cand).slice(0, policy.steps);
    if (m.length < policy.min_matched) return g.fail({ measured: m.length, op: "≥", threshold: policy.min_matched, message: `only ${m.length} steps logged by both runs (different step grids?)` });
    const misses = m.filter((x) => Math.abs(x.b - x.a) > policy.max_abs);
    const beyond = m.find((x) => Math.abs(x.b - x.a) / Math.abs(x.a) > policy.max_rel);
    const worst = m.reduce((w, x) => (Math.abs(x.b - x.a) > Math.abs(w.b - w.a) ? x : w), m[0] as { step: number; a: number; b: number });
    const share = misses.length / m.length;
    const ok = share <= policy.max_miss_fraction && beyond === undefined;
    const step = beyond?.step ?? misses[0]?.step;
    return g.judged(ok, {
      measured: round(share, 4),
      op: "≤",
      threshold: policy.max_miss_fraction,
      ...(!ok && step !== undefined ? { step } : {}),
      message: `${misses.length} of the first ${m.length} matched steps differ by more than ${policy.max_abs} (worst |Δ| ${fmt(Math.abs(worst.b - worst.a))} at step ${worst.step})${beyond ? `; step ${beyond.step} differs by ${pct(Math.abs(beyond.b - beyond.a) / Math.abs(beyond.a), 3)}, past the ${pct(policy.max_rel, 3)} outer bound` : ""}`,
    });
  });
}

/** Tokens per second of a run after warmup, from its tokens and time_s (undefined if it logs neither). */
export function tokensPerSecond(points: readonly SanityPoint[], after: number): number | undefined {
  const usable = points.filter((p) => p.step > after && p.tokens !== undefined && p.time_s !== undefined);
  const first = usable[0];
  const last = usable[usable.length - 1];
  if (!first || !last || last === first || (last.time_s as number) <= (first.time_s as number)) return undefined;
  return ((last.tokens as number) - (first.tokens as number)) / ((last.time_s as number) - (first.time_s as number));
}

export function throughputGates(runs: SanityRuns, policy: SanityPolicy["throughput"]): GateResult[] {
  const out: GateResult[] = [];
  for (const [tag, pts] of runs) {
    const g = gate("sanity", "sanity.throughput", tag);
    if (pts.length === 0) {
      out.push(g.fail({ measured: null, threshold: null, message: `the ${tag} run logged nothing (crashed, out of memory, or never started)` }));
      continue;
    }
    if (policy.min_tokens_per_s === null && policy.max_tokens_per_s === null) {
      out.push(g.skip("no expected band in the policy (sanity.throughput.min_tokens_per_s)"));
      continue;
    }
    const tps = tokensPerSecond(pts, policy.after_step);
    if (tps === undefined) {
      out.push(g.fail({ measured: null, threshold: null, message: `the ${tag} run logs no tokens and time_s after step ${policy.after_step}: throughput cannot be checked` }));
      continue;
    }
    const lo = policy.min_tokens_per_s ?? 0;
    const hi = policy.max_tokens_per_s ?? Infinity;
    out.push(g.judged(tps >= lo && tps <= hi, { measured: Math.round(tps), op: "in", threshold: `${fmt(lo)}–${Number.isFinite(hi) ? fmt(hi) : "∞"}`, message: `${fmt(Math.round(tps))} tokens/s after step ${policy.after_step} against an expected ${fmt(lo)}–${Number.isFinite(hi) ? fmt(hi) : "∞"}` }));
  }
  return out;
}

export function evaluateSanity(runs: SanityRuns, policy: SanityPolicy): GateResult[] {
  return [...fp8Gates(runs, policy.fp8), ...parallelGates(runs, policy.parallel), ...throughputGates(runs, policy.throughput)];
}

/** The loss a point carries when runs are compared: training loss, else validation loss. */
export function comparisonLoss(p: { loss?: number | undefined; val_loss?: number | undefined }): number {
  return p.loss ?? p.val_loss ?? Number.NaN;
}

/** The node a sanity file belongs to: the last `node-<n>` folder in its path, else its folder. */
export function sanityNodeOf(path: string): string {
  const parts = path.split(/[\\/]/);
  parts.pop();
  for (let i = parts.length - 1; i >= 0; i--) if (/^node-\d+$/.test(parts[i] as string)) return parts[i] as string;
  return parts.join("/") || ".";
}

/** One file (or bucket object) of sanity-day points, on one node. */
export interface SanitySource {
  /** How problems name it. */
  name: string;
  node: string;
  /** The run a point without a `tag` belongs to: the file's name. */
  defaultTag: string;
  points: readonly (SanityPoint & { tag?: string | undefined })[];
}

export type SanityNodes = ReadonlyMap<string, SanityRuns>;

export interface SanityGrouping {
  nodes: Map<string, Map<string, SanityPoint[]>>;
  /** A tag found in more than one source of the same node: which run is it? */
  duplicates: { node: string; tag: string; sources: string[] }[];
}

/** One metrics file of the sanity day as a source: its node from its path, its run from its name. */
export function sanitySource(path: string, points: readonly { step: number; loss?: number | undefined; val_loss?: number | undefined; tag?: string | undefined; tokens?: number | undefined; time_s?: number | undefined }[]): SanitySource {
  return {
    name: path,
    node: sanityNodeOf(path),
    defaultTag: candidateOfFile(path),
    points: points.map((p) => ({ step: p.step, loss: comparisonLoss(p), tag: p.tag, ...(p.tokens !== undefined ? { tokens: p.tokens } : {}), ...(p.time_s !== undefined ? { time_s: p.time_s } : {}) })),
  };
}

/** Runs by node, then by tag (a point's own tag, else its file's name). */
export function groupSanityRuns(sources: readonly SanitySource[]): SanityGrouping {
  const nodes = new Map<string, Map<string, SanityPoint[]>>();
  const owner = new Map<string, string[]>();
  for (const s of sources) {
    const runs = nodes.get(s.node) ?? new Map<string, SanityPoint[]>();
    nodes.set(s.node, runs);
    for (const p of s.points) {
      const tag = p.tag ?? s.defaultTag;
      const key = `${s.node}\u0000${tag}`;
      const from = owner.get(key) ?? [];
      if (!from.includes(s.name)) owner.set(key, [...from, s.name]);
      const run = runs.get(tag) ?? [];
      run.push({ step: p.step, loss: p.loss, ...(p.tokens !== undefined ? { tokens: p.tokens } : {}), ...(p.time_s !== undefined ? { time_s: p.time_s } : {}) });
      runs.set(tag, run);
    }
  }
  const duplicates = [...owner].filter(([, from]) => from.length > 1).map(([key, from]) => {
    const [node = "", tag = ""] = key.split("\u0000");
    return { node, tag, sources: from };
  });
  return { nodes, duplicates };
}

/** node-2 before node-10 (no localeCompare: it loads ICU, ~10 ms of a gate run). */
function byRank(a: string, b: string): number {
  const ra = /(\d+)$/.exec(a)?.[1];
  const rb = /(\d+)$/.exec(b)?.[1];
  if (ra !== undefined && rb !== undefined && a.slice(0, -ra.length) === b.slice(0, -rb.length)) return Number(ra) - Number(rb);
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The sanity gates on every node; subjects name the node when there are several. */
export function evaluateSanityNodes(nodes: SanityNodes, policy: SanityPolicy): GateResult[] {
  if (nodes.size === 0) return evaluateSanity(new Map(), policy);
  const named = nodes.size > 1;
  return [...nodes].sort(([a], [b]) => byRank(a, b)).flatMap(([node, runs]) => evaluateSanity(runs, policy).map((g) => (named ? { ...g, subject: `${node}: ${g.subject}` } : g)));
}
