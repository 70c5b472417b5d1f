// What `lab sweep` trains next, decided apart from training it (issue 16). A Plan is a plain value
// (the trajectory so far, what is in flight, what is queued, what the proposer has said) and every
// function here takes one and returns the next, so the sweep's order (retries, the baseline, the
// candidates, then the noise repeats), its dedupe by config hash and its resume are tested without
// a process. sweep.ts is the shell: it asks nextStep, runs what it says, and hands the outcome back.
//
// Resume needs nothing of its own: the plan starts from the rows already written, and a run that
// was in flight when windtunnel died wrote no row, so it is simply not known and is proposed again.
//
// Early stopping (issue 18) is one more transition, atRung: a running candidate's value at a rung
// in, a stop or go out; the stopped one is recorded as a pruned result that counts against the
// budget and answers a repeat proposal like any other, but is never ranked. A model-based proposer
// (TPE) reads `results`.
import { assertNever, InternalError } from "../common/errors.ts";
import { fmt } from "../common/format.ts";
import { configHash } from "../evidence/hash.ts";
import type { RungValue } from "../evidence/schemas.ts";
import { median } from "../gates/stats.ts";
import type { Config } from "./menu.ts";
import type { Proposal } from "./proposers.ts";

/** One training run the plan decided on. */
export interface Task {
  id: string;
  config: Config;
  seed: number;
  baseline: boolean;
  /** Who chose it: the proposer's name, "baseline" or "repeat". */
  proposer: string;
  repeatOf?: string;
}

/** A row of the trajectory, as much of it as deciding needs. */
export interface Result {
  id: string;
  config: Config;
  hash: string;
  seed: number;
  /** What ranks it: the val_bpb of a run that finished with a finite one; null for a crash, a timeout, a NaN, a pruned run. */
  value: number | null;
  /** Stopped early at a rung: the rung's step and its val_bpb there (`value` is null). A proposer counts it as bad. */
  pruned?: { step: number; value: number };
  /** Its val_bpb at each rung it reached: what later candidates are judged against, kept in its row so a resumed sweep judges alike. */
  rungs?: readonly RungScore[];
}

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

export interface PlanSetup {
  /** The menu's seed: every first evaluation runs at it, noise repeat r at seed + r. */
  seed: number;
  baseline: Config;
  /** Distinct configs to evaluate at `seed`, the baseline included. */
  candidates: number;
  /** Extra seeds for the baseline and the top configs. */
  repeats: number;
  /** How many of the best configs get noise repeats. */
  repeatTop: number;
  /** Stop asking after this many answers in a row that train nothing new. */
  maxIdleProposals: number;
  /** The proposer's name, written in the rows it chose. */
  proposer: string;
  /** Early stopping; absent: every candidate runs all its steps. */
  prune?: PruneSetup;
}

export interface ProposalTally {
  /** Asked for in this run (the next one is number asked + 1). */
  asked: number;
  /** Answered from the trajectory (or from a run in flight) instead of trained again. */
  answered: number;
  invalid: number;
  /** Answers in a row that trained nothing new. */
  idle: number;
  /** Config hashes proposed in this run: the second time is idle for every proposer. */
  seen: ReadonlySet<string>;
  /** Why no more proposals are asked for; `exhausted` when the proposer said it had nothing left. */
  done?: { reason: string; exhausted: boolean };
}

export interface Plan {
  readonly setup: PlanSetup;
  readonly baselineHash: string;
  /** The trajectory: the rows read back on resume, then each result as it came in. */
  readonly results: readonly Result[];
  /** Handed to a slot, result not in yet. */
  readonly inFlight: readonly Task[];
  /** Decided, waiting for a slot: retried rows and accepted proposals, or later the noise repeats. */
  readonly queue: readonly Task[];
  /** Every id given out, a cancelled run's too, so no two runs of one sweep share a name. */
  readonly ids: ReadonlySet<string>;
  /** The repeats rank the configs, so they start only once every candidate's result is in. */
  readonly stage: "candidates" | "repeats";
  readonly proposals: ProposalTally;
  /** Every value recorded at a rung by a first evaluation (finished, pruned, crashed later or still running). */
  readonly atRungs: readonly (RungScore & { id: string })[];
}

/** What atRung decided for a running candidate. */
export type RungDecision = { kind: "go" } | { kind: "stop"; step: number; value: number; reason: string };

export type Step =
  /** Start it in the free slot. */
  | { kind: "train"; task: Task }
  /** Ask the proposer for proposal n and give its answer to takeProposal. */
  | { kind: "propose"; n: number }
  /** Nothing to start until a run in flight ends. */
  | { kind: "wait" }
  | { kind: "done" };

export interface SweepProgress {
  done: number;
  total: number;
  /** Crashes, timeouts and non-finite results; a pruned run is not one. */
  failures: number;
  pruned: number;
  best?: { id: string; val_bpb: number };
  running: number;
}

/**
 * A plan resuming from the rows already written and the tasks to train again first (rows whose
 * trainer could not start, taken out of the trajectory under their ids).
 */
export function startPlan(setup: PlanSetup, results: readonly Result[], retries: readonly Task[] = []): Plan {
  return {
    setup,
    baselineHash: configHash(setup.baseline),
    results,
    inFlight: [],
    queue: retries,
    ids: new Set([...results.map((r) => r.id), ...retries.map((t) => t.id)]),
    stage: "candidates",
    proposals: { asked: 0, answered: 0, invalid: 0, idle: 0, seen: new Set() },
    atRungs: results.filter((r) => r.seed === setup.seed).flatMap(rungScoresOf),
  };
}

/** A trajectory row as a result; `seed` is the row's, or the menu's when the row names none. */
export function resultOf(row: { id: string; config: Record<string, unknown>; status: string; val_bpb: number | null; seed?: number; prunedAt?: RungValue; rungs?: readonly RungValue[] }, hash: string, seed: number): Result {
  const ok = row.status === "ok" && row.val_bpb !== null && Number.isFinite(row.val_bpb);
  const score = (r: RungValue): RungScore => ({ step: r.step, value: r.val_bpb });
  return {
    id: row.id,
    config: row.config as Config,
    hash,
    seed: row.seed ?? seed,
    value: ok ? row.val_bpb : null,
    ...(row.status === "pruned" && row.prunedAt !== undefined ? { pruned: score(row.prunedAt) } : {}),
    ...(row.rungs !== undefined && row.rungs.length > 0 ? { rungs: row.rungs.map(score) } : {}),
  };
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
 * A running candidate reported `value` (its val_bpb) at `step`: record it at the highest rung it
 * has reached and not yet reported (a trainer that skips a rung's step is judged at the next one
 * it reaches, as Ray Tune's ASHA does), and decide whether it goes on. The baseline and the noise
 * repeats always go on; the baseline's values still count at its rungs. A value that is not finite
 * is not recorded and never stops a run: the run goes on to fail as it would unpruned, where the
 * coverage gate counts it.
 *
 * ASHA (Li et al. 2018, "A System for Massively Parallel Hyperparameter Tuning", the stopping
 * form Ray Tune and Optuna use): go on when in the top ⌊n/η⌋ of the n values recorded at the rung
 * so far, itself included; while n < η that top is the best value alone (Optuna's
 * SuccessiveHalvingPruner: the first candidates are not all waved through). Median (Optuna's
 * MedianPruner, Golovin et al. 2017, Google Vizier): stop when worse than the median of the other
 * candidates' values at the rung; the first one there goes on.
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

function stopReason(prune: PruneSetup, here: readonly (RungScore & { id: string })[], id: string, value: number): string | undefined {
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

/** The values a run in flight recorded at its rungs, for its row. */
export function rungsOf(plan: Plan, id: string): RungScore[] {
  return plan.atRungs.filter((r) => r.id === id).map(({ step, value }) => ({ step, value }));
}

/** What to do with a free slot; the plan returned has the task in flight, or the stage moved on. */
export function nextStep(plan: Plan): { plan: Plan; step: Step } {
  const [first, ...rest] = plan.queue;
  if (first !== undefined) return train({ ...plan, queue: rest }, first);
  if (plan.stage === "repeats") return { plan, step: { kind: plan.inFlight.length > 0 ? "wait" : "done" } };
  if (idOf(plan, plan.baselineHash, plan.setup.seed) === undefined) {
    const { plan: named, id } = withFreshId(plan);
    return train(named, { id, config: plan.setup.baseline, seed: plan.setup.seed, baseline: true, proposer: "baseline" });
  }
  const asking = giveUpWhenIdle(plan);
  if (budgetOpen(asking) && asking.proposals.done === undefined) return { plan: asking, step: { kind: "propose", n: asking.proposals.asked + 1 } };
  if (asking.inFlight.length > 0) return { plan: asking, step: { kind: "wait" } };
  return nextStep({ ...asking, stage: "repeats", ...repeatsOf(asking) });
}

/**
 * Take the proposer's answer: a new config is queued (nextStep trains it), a config already
 * evaluated or in flight is answered from there, never trained twice. `note` is for the user.
 */
export function takeProposal(plan: Plan, proposal: Proposal): { plan: Plan; note?: string } {
  const p = plan.proposals;
  const n = p.asked + 1;
  const name = plan.setup.proposer;
  const tally = (change: Partial<ProposalTally>): Plan => ({ ...plan, proposals: { ...p, asked: n, ...change } });
  switch (proposal.kind) {
    case "exhausted":
      return { plan: tally({ done: { reason: proposal.reason, exhausted: true } }) };
    case "invalid":
      return { plan: tally({ invalid: p.invalid + 1, idle: p.idle + 1 }), note: `proposal ${n} (${name}) is invalid: ${proposal.reason}` };
    case "config": {
      const hash = configHash(proposal.config);
      const seen = new Set(p.seen).add(hash);
      const have = idOf(plan, hash, plan.setup.seed);
      if (have !== undefined) {
        const replays = replaysOnResume(name);
        const idle = !replays || p.seen.has(hash) ? p.idle + 1 : p.idle;
        const answered = tally({ answered: p.answered + 1, idle, seen });
        return replays ? { plan: answered } : { plan: answered, note: `proposal ${n} repeats ${have}: answered from the trajectory, not trained again` };
      }
      const { plan: named, id } = withFreshId(tally({ idle: 0, seen }));
      return { plan: { ...named, queue: [...named.queue, { id, config: proposal.config, seed: plan.setup.seed, baseline: hash === plan.baselineHash, proposer: name }] } };
    }
    default:
      return assertNever(proposal);
  }
}

/** A run in flight wrote its row (its values at the rungs, if atRung has not seen them, are taken from it). */
export function recordResult(plan: Plan, result: Result): Plan {
  const have = new Set(plan.atRungs.filter((r) => r.id === result.id).map((r) => r.step));
  const more = result.seed === plan.setup.seed ? rungScoresOf(result).filter((r) => !have.has(r.step)) : [];
  return { ...withoutInFlight(plan, result.id), results: [...plan.results, result], ...(more.length > 0 ? { atRungs: [...plan.atRungs, ...more] } : {}) };
}

/** A run in flight ended with no row (interrupted): no longer known, so a re-run trains it, and its values at the rungs are forgotten as a resume would. */
export function abandonTask(plan: Plan, id: string): Plan {
  return { ...withoutInFlight(plan, id), atRungs: plan.atRungs.filter((r) => r.id !== id) };
}

export function progressOf(plan: Plan): SweepProgress {
  const { candidates, repeats, repeatTop } = plan.setup;
  const done = plan.results.length;
  const running = plan.inFlight.length;
  let best: SweepProgress["best"];
  for (const r of plan.results) if (r.value !== null && (best === undefined || r.value < best.val_bpb)) best = { id: r.id, val_bpb: r.value };
  const pruned = plan.results.filter((r) => r.pruned !== undefined).length;
  const failures = plan.results.filter((r) => r.value === null).length - pruned;
  return { done, total: Math.max(done + running, candidates + repeats * (1 + repeatTop)), failures, pruned, running, ...(best ? { best } : {}) };
}

/** Why the sweep ended short of its candidate budget, when it did. */
export function shortfallOf(plan: Plan): string | undefined {
  const evaluated = firstEvaluations(plan).size;
  if (evaluated >= plan.setup.candidates) return undefined;
  return `${evaluated} of ${plan.setup.candidates} candidates evaluated: ${plan.proposals.done?.reason ?? "the proposer stopped"}`;
}

/**
 * The grid and random proposers replay their sequence from the start on resume, each row once,
 * and that is no reason to stop; a command (an agent) proposing a config already tried is.
 */
function replaysOnResume(proposer: string): boolean {
  return proposer !== "command";
}

/** A result's values at the rungs, its pruning value among them. */
function rungScoresOf(r: Result): (RungScore & { id: string })[] {
  const scores = [...(r.rungs ?? [])];
  if (r.pruned !== undefined && !scores.some((s) => s.step === r.pruned?.step)) scores.push(r.pruned);
  return scores.map((s) => ({ id: r.id, step: s.step, value: s.value }));
}

function train(plan: Plan, task: Task): { plan: Plan; step: Step } {
  return { plan: { ...plan, inFlight: [...plan.inFlight, task] }, step: { kind: "train", task } };
}

function withoutInFlight(plan: Plan, id: string): Plan {
  if (!plan.inFlight.some((t) => t.id === id)) throw new InternalError(`planner: ${id} is not in flight`);
  return { ...plan, inFlight: plan.inFlight.filter((t) => t.id !== id) };
}

/** The id of the row or run that evaluates `hash` at `seed` (the latest, if a hand-edited trajectory has two). */
function idOf(plan: Plan, hash: string, seed: number): string | undefined {
  const tasks = [...plan.inFlight, ...plan.queue].map((t) => ({ id: t.id, hash: configHash(t.config), seed: t.seed }));
  return [...plan.results, ...tasks].findLast((r) => r.hash === hash && r.seed === seed)?.id;
}

/** The lowest cNNN not given out yet. */
function withFreshId(plan: Plan): { plan: Plan; id: string } {
  let k = 0;
  const name = (): string => `c${String(k).padStart(3, "0")}`;
  while (plan.ids.has(name())) k++;
  const id = name();
  return { plan: { ...plan, ids: new Set(plan.ids).add(id) }, id };
}

/** Each config's evaluation at the menu's seed, in the order first seen (a later row of the same config wins). */
function firstEvaluations(plan: Plan): Map<string, Result> {
  const out = new Map<string, Result>();
  for (const r of plan.results) if (r.seed === plan.setup.seed) out.set(r.hash, r);
  return out;
}

/** Evaluated, running or queued at the menu's seed, against the candidate budget. */
function budgetOpen(plan: Plan): boolean {
  const pending = [...plan.inFlight, ...plan.queue].filter((t) => t.seed === plan.setup.seed).length;
  return firstEvaluations(plan).size + pending < plan.setup.candidates;
}

function giveUpWhenIdle(plan: Plan): Plan {
  const p = plan.proposals;
  if (p.done !== undefined || !budgetOpen(plan) || p.idle < plan.setup.maxIdleProposals) return plan;
  return { ...plan, proposals: { ...p, done: { reason: `the proposer made ${p.idle} proposals in a row that were repeats or invalid`, exhausted: false } } };
}

/** The noise repeats: the baseline and the repeatTop best other configs, under seeds seed + 1 … seed + repeats. */
function repeatsOf(plan: Plan): Pick<Plan, "queue" | "ids"> {
  const { seed, repeats, repeatTop } = plan.setup;
  const firsts = firstEvaluations(plan);
  const ranked = [...firsts.values()].filter((r) => r.value !== null).sort((a, b) => (a.value as number) - (b.value as number));
  const chosen = [plan.baselineHash, ...ranked.map((r) => r.hash).filter((h) => h !== plan.baselineHash).slice(0, repeatTop)];
  const queue: Task[] = [];
  for (const h of chosen) {
    const origin = firsts.get(h);
    if (origin === undefined) continue;
    for (let r = 1; r <= repeats; r++) {
      if (idOf(plan, h, seed + r) !== undefined) continue;
      queue.push({ id: `${origin.id}-s${seed + r}`, config: origin.config, seed: seed + r, baseline: h === plan.baselineHash, proposer: "repeat", repeatOf: origin.id });
    }
  }
  return { queue, ids: new Set([...plan.ids, ...queue.map((t) => t.id)]) };
}
