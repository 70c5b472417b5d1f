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
import { configHash } from "../evidence/hash.ts";
import type { RungValue } from "../evidence/schemas.ts";
import type { Config } from "./menu.ts";
import type { Proposal } from "./proposers.ts";
import { rungScoresOf, type PruneSetup, type RungScore } from "./rungs.ts";

export { atRung, defaultRungs, describePrune, pruneRecord, rungsInWarmup, rungsOf, rungsProblem, stepsText, warmupText, type PruneRecord, type PruneSetup, type RungScore, type RungsInWarmup } from "./rungs.ts";

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
