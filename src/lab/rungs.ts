// Early stopping's rules (issue 18), pure: where the rungs are and whether a candidate's value at a
// rung stops it, and atRung, the planner's transition that records a running candidate's value and
// applies them (planner.ts re-exports it with the rest of the plan's transitions).
import { assertNever, InternalError } from "../common/errors.ts";
import { fmt } from "../common/format.ts";
import { median } from "../gates/stats.ts";
import type { Menu } from "./menu.ts";
import type { Plan, Result, RungDecision } from "./planner.ts";

/** A value at a rung. */
export interface RungScore {
  step: number;
  value: number;
}

/** Early stopping: the rule, and the steps at which a running candidate is judged. */
export interface PruneSetup {
  rule: "asha" | "median";
  /** ASHA's reduction factor η: a candidate goes on past a rung only in the top 1/η of the values there. */
  eta: number;
  /** Increasing steps, each below the candidates' steps. */
  rungs: readonly number[];
}

/** Early stopping as lab.json records it: the rule, η for ASHA, and the rungs; or the rule none. */
export type PruneRecord = { rule: "none" } | { rule: PruneSetup["rule"]; eta?: number; rungs: number[] };

export function pruneRecord(p: PruneSetup | undefined): PruneRecord {
  if (p === undefined) return { rule: "none" };
  return p.rule === "asha" ? { rule: p.rule, eta: p.eta, rungs: [...p.rungs] } : { rule: p.rule, rungs: [...p.rungs] };
}

/** "asha (η 3) at steps 20, 40", "median at steps 30" or "none", for a setup or a record read back. */
export function describePrune(p: { rule: string; eta?: unknown; rungs?: unknown } | undefined): string {
  if (p === undefined || p.rule === "none") return "none";
  const rungs = Array.isArray(p.rungs) ? ` at steps ${p.rungs.join(", ")}` : "";
  return `${p.rule}${p.rule === "asha" && p.eta !== undefined ? ` (η ${String(p.eta)})` : ""}${rungs}`;
}

/** Rungs at a third and two thirds of the steps (20 and 40 of 60), as many of them as are distinct steps below `steps`. */
export function defaultRungs(steps: number): number[] {
  return [...new Set([Math.round(steps / 3), Math.round((2 * steps) / 3)])].filter((r) => r >= 1 && r < steps);
}

/** What is wrong with rungs for candidates of `steps` steps, if anything. */
export function rungsProblem(rungs: readonly number[], steps: number): string | undefined {
  if (rungs.length === 0) return "expected at least one step";
  const bad = rungs.find((r) => !Number.isSafeInteger(r) || r < 1 || r >= steps);
  if (bad !== undefined) return `expected whole numbers of steps from 1 to ${steps - 1} (a rung is judged before the last step, ${steps}), got ${bad}`;
  const i = rungs.findIndex((r, k) => k > 0 && r <= (rungs[k - 1] as number));
  if (i > 0) return `expected increasing steps, got ${rungs[i]} after ${rungs[i - 1]}`;
  return undefined;
}

/**
 * ASHA (Li et al. 2018, "A System for Massively Parallel Hyperparameter Tuning", the stopping
 * form Ray Tune and Optuna use): go on when in the top ⌊n/η⌋ of the n values recorded at the rung
 * so far, itself included; while n < η that top is the best value alone (Optuna's
 * SuccessiveHalvingPruner: the first candidates are not all waved through). Median (Optuna's
 * MedianPruner, Golovin et al. 2017, Google Vizier): stop when worse than the median of the other
 * candidates' values at the rung; the first one there goes on.
 */
export function stopReason(prune: PruneSetup, here: readonly (RungScore & { id: string })[], id: string, value: number): string | undefined {
  switch (prune.rule) {
    case "asha": {
      const sorted = here.map((r) => r.value).sort((a, b) => a - b);
      const top = Math.max(1, Math.floor(sorted.length / prune.eta));
      const cutoff = sorted[top - 1] as number;
      if (value <= cutoff) return undefined;
      return `is not in the top 1/${prune.eta} of the ${sorted.length} values there (${top === 1 ? "the best is" : `the best ${top} are ≤`} ${fmt(cutoff)})`;
    }
    case "median": {
      const others = here.filter((r) => r.id !== id).map((r) => r.value);
      if (others.length === 0) return undefined;
      const m = median(others);
      return value > m ? `is worse than the median of the ${others.length} other candidate${others.length === 1 ? "" : "s"} there, ${fmt(m)}` : undefined;
    }
    default:
      return assertNever(prune.rule);
  }
}

/**
 * A running candidate reported `value` (its val_bpb) at `step`: record it at the highest rung it
 * has reached and not yet reported (a trainer that skips a rung's step is judged at the next one
 * it reaches, as Ray Tune's ASHA does), and decide whether it goes on. The baseline and the noise
 * repeats always go on; the baseline's values still count at its rungs. A value that is not finite
 * is not recorded and never stops a run: the run goes on to fail as it would unpruned, where the
 * coverage gate counts it.

 * The rules are in rungs.ts.
 */
export function atRung(plan: Plan, id: string, step: number, value: number): { plan: Plan; decision: RungDecision } {
  const go = { plan, decision: { kind: "go" as const } };
  const prune = plan.setup.prune;
  if (prune === undefined) return go;
  const task = plan.inFlight.find((t) => t.id === id);
  if (task === undefined) throw new InternalError(`planner: ${id} is not in flight`);
  if (!Number.isFinite(value) || task.seed !== plan.setup.seed || task.repeatOf !== undefined) return go;
  const reached = plan.atRungs.filter((r) => r.id === id).reduce((m, r) => Math.max(m, r.step), 0);
  const rung = prune.rungs.findLast((r) => r <= step);
  if (rung === undefined || rung <= reached) return go;
  const recorded = { ...plan, atRungs: [...plan.atRungs, { id, step: rung, value }] };
  if (task.baseline) return { plan: recorded, decision: { kind: "go" } };
  const here = recorded.atRungs.filter((r) => r.step === rung);
  const why = stopReason(prune, here, id, value);
  return { plan: recorded, decision: why === undefined ? { kind: "go" } : { kind: "stop", step: rung, value, reason: `val_bpb ${fmt(value)} at step ${rung} ${why}` } };
}

/** The values a run in flight recorded at its rungs, for its row. */
export function rungsOf(plan: Plan, id: string): RungScore[] {
  return plan.atRungs.filter((r) => r.id === id).map(({ step, value }) => ({ step, value }));
}

/** A result's values at the rungs, its pruning value among them. */
export function rungScoresOf(r: Result): (RungScore & { id: string })[] {
  const scores = [...(r.rungs ?? [])];
  if (r.pruned !== undefined && !scores.some((s) => s.step === r.pruned?.step)) scores.push(r.pruned);
  return scores.map((s) => ({ id: r.id, step: s.step, value: s.value }));
}

/** Rungs that fall inside the menu's learning-rate warmup, and the warmup. */
export interface RungsInWarmup {
  /** The menu key that sets it, e.g. `warmup` or `warmup_iters`. */
  key: string;
  /** The longest warmup the menu sets, in steps. */
  warmup: number;
  /** True when a knob offers it (only some candidates warm up that long). */
  knob: boolean;
  /** The rungs before its end. */
  rungs: number[];
}

/** The names trainers give their warmup in steps: the reference trainer's and nanoGPT's, Hugging Face's, Megatron's. */
export const WARMUP_KEYS = ["warmup", "warmup_iters", "warmup_steps", "lr_warmup_iters", "lr_warmup_steps"] as const;

/**
 * The rungs before the end of the longest warmup the menu sets (a fixed value, or the largest a
 * knob offers, under any of WARMUP_KEYS; a numeric string counts), if any. While the learning
 * rate still ramps up, the ranking at a step says little of the ranking at the end: on
 * `examples/menu-diverging.yaml` (a 600-step warmup, rungs 20 and 40 of 60) ASHA stopped every
 * `d_hidden: 16` config at step 20, and a sweep without early stopping ranks three of them 3rd to
 * 5th at step 60. A menu that names no warmup is never flagged.
 */
export function rungsInWarmup(menu: Pick<Menu, "knobs" | "fixed">, rungs: readonly number[]): RungsInWarmup | undefined {
  const steps = (v: unknown): number | undefined => {
    const n = typeof v === "string" && v.trim() !== "" ? Number(v) : v;
    return typeof n === "number" && Number.isFinite(n) ? n : undefined;
  };
  let longest: Omit<RungsInWarmup, "rungs"> | undefined;
  for (const key of WARMUP_KEYS) {
    for (const [v, knob] of [[menu.fixed[key], false] as const, ...(menu.knobs[key] ?? []).map((x) => [x, true] as const)]) {
      const warmup = steps(v);
      if (warmup !== undefined && warmup > (longest?.warmup ?? -Infinity)) longest = { key, warmup, knob };
    }
  }
  if (longest === undefined) return undefined;
  const end = longest.warmup;
  const inside = rungs.filter((r) => r < end);
  return inside.length > 0 ? { ...longest, rungs: inside } : undefined;
}

/** "step 20" or "steps 20 and 40" (or "steps 10, 20 and 40"). */
export function stepsText(steps: readonly number[]): string {
  if (steps.length === 1) return `step ${steps[0]}`;
  return `steps ${steps.slice(0, -1).join(", ")} and ${steps.at(-1)}`;
}

/** What the warmup is, for a sentence: "the menu's 600-step warmup" or "a warmup of up to 600 steps (knob warmup)". */
export function warmupText(w: RungsInWarmup): string {
  return w.knob ? `a warmup of up to ${w.warmup} steps (knob ${w.key})` : `the menu's ${w.warmup}-step warmup (${w.key})`;
}
