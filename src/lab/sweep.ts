// Phase 1: train N distinct candidates for S steps each, K at a time, into an append-only
// trajectory. The trajectory is the run's only state: re-running the same command after a crash,
// a kill -9 or Ctrl-C reads it back and trains only what is missing, so no row is lost or
// written twice. A proposal already in the trajectory is answered from it, never retrained,
// except the deliberate noise repeats (other seeds) that the separation gate needs.
//
// What to train next is the planner's (planner.ts, pure); this is its shell: the lock, the
// journal, the slots, the proposer's and the trainers' processes.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { assertNever, InputError, UsageError } from "../common/errors.ts";
import { canonicalJson, configHash } from "../evidence/hash.ts";
import { readTrajectoryFile } from "../evidence/read.ts";
import type { MetricPoint, TrajectoryRow } from "../evidence/schemas.ts";
import { dropLines, Journal, repairTornTail, type Repair } from "./journal.ts";
import { writeLabFile } from "./lab-dir.ts";
import { withLab, type LabLock, type Spared } from "./lock.ts";
import { baselineConfig, type LoadedMenu } from "./menu.ts";
import { abandonTask, atRung, describePrune, nextStep, pruneRecord, progressOf, recordResult, resultOf, rungsOf, shortfallOf, startPlan, takeProposal, type PlanSetup, type PruneSetup, type RungDecision, type SweepProgress, type Task } from "./planner.ts";
import type { Proposer } from "./proposers.ts";
import { Slots, slotEnv } from "./slots.ts";
import { evaluated, isEnvironmentalRow, labRow, retryTask, type LabRow } from "./sweep-row.ts";
import type { TrainerOutcome } from "./trainer.ts";

export type { LabRow, SweepProgress, Task };

export interface SweepOptions {
  menu: LoadedMenu;
  dir: string;
  command: readonly string[];
  cwd?: string;
  proposer: Proposer;
  /** Distinct configs to evaluate, the baseline included. */
  candidates: number;
  /** Extra seeds for the baseline and the top configs. */
  repeats: number;
  /** How many of the best configs get noise repeats. */
  repeatTop: number;
  parallel: number;
  /** CUDA_VISIBLE_DEVICES per slot; slot i gets devices[i]. */
  devices: readonly string[] | null;
  timeoutMs: number;
  logEvery: number;
  /** Stop asking a proposer after this many answers in a row that train nothing new. */
  maxIdleProposals: number;
  /** Early stopping at rungs; absent: every candidate runs all its steps. */
  prune?: PruneSetup;
  signal?: AbortSignal;
  events?: SweepEvents;
}

export interface SweepEvents {
  resumed?(info: { rows: number; repaired?: Repair; orphansStopped: number[]; orphansSpared: Spared[]; retried: number }): void;
  started?(task: Task, slot: number, progress: SweepProgress): void;
  finished?(row: LabRow, outcome: TrainerOutcome, progress: SweepProgress): void;
  note?(message: string): void;
}

export interface SweepResult {
  trajectory: string;
  rows: number;
  trained: number;
  /** Proposals answered from the trajectory instead of being trained again. */
  answered: number;
  invalid: number;
  interrupted: boolean;
  /** Why the sweep stopped short of N, when it did. */
  shortfall?: string;
  /** The proposer had nothing left to propose (the whole menu is evaluated). */
  exhausted: boolean;
  /** Over the whole trajectory: the rows early stopping stopped, by rung, and the trainer steps that saved. */
  pruning: PruningTally;
}

export interface PruningTally {
  pruned: number;
  /** Rung step → rows pruned there. */
  byStep: Map<number, number>;
  /** Steps every row's trainer reported reaching. */
  stepsRun: number;
  /** The steps the pruned rows did not run. */
  stepsSaved: number;
}

/**
 * How often a run's metrics are read while early stopping is on: a trainer's steps go on while a
 * rung's value waits to be read, so the default 250 ms would let a fast trainer (the reference
 * one runs 60 steps in about half a second) finish before its stop arrives. A read is one fstat.
 */
const PRUNE_POLL_MS = 20;

export const TRAJECTORY = "trajectory.jsonl";
export const MANIFEST = "lab.json";

/** What must match for a folder's trajectory to be resumed by this command. */
function manifestOf(o: SweepOptions): Record<string, unknown> {
  const { file: _file, ...menu } = o.menu;
  return { format: 1, menu_sha256: configHash(menu as Record<string, unknown>, []), steps: o.menu.steps, seed: o.menu.seed };
}

/**
 * Refuses a folder of another sweep; creates lab.json in a new one. Returns a note when the
 * folder's sweep was started with other early stopping: resuming is allowed (the rows keep the
 * decisions made then), but the user should know the trajectory now mixes two settings.
 */
function checkManifest(o: SweepOptions): string | undefined {
  const file = join(o.dir, MANIFEST);
  const want = manifestOf(o);
  if (existsSync(file)) {
    let have: Record<string, unknown>;
    try {
      have = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
    } catch {
      throw InputError.at(file, 1, "manifest", "not JSON; was it edited? Move the folder away to start a new sweep");
    }
    for (const k of ["menu_sha256", "steps", "seed"] as const) {
      if (canonicalJson(have[k]) !== canonicalJson(want[k])) {
        throw new UsageError(`${o.dir} holds a sweep of a different ${k === "menu_sha256" ? "menu" : k} (${k}: ${String(have[k])} there, ${String(want[k])} now); resuming would mix two sweeps. Use another --dir, or delete the folder to start over`);
      }
    }
    const was = have["early_stopping"]; // absent in folders made before it was recorded
    if (was === null || typeof was !== "object" || canonicalJson(was) === canonicalJson(pruneRecord(o.prune))) return undefined;
    return `early stopping is ${describePrune(o.prune)} now, ${describePrune(was as { rule: string })} when this sweep began (${MANIFEST}): the rows already written keep the decisions made then, later candidates are judged by the new setting`;
  }
  writeLabFile(file, `${JSON.stringify({ ...want, early_stopping: pruneRecord(o.prune), menu: o.menu.file, command: o.command, created: new Date().toISOString() }, null, 2)}\n`);
  return undefined;
}

export async function runSweep(o: SweepOptions): Promise<SweepResult> {
  return withLab(o, (lock) => {
    const note = checkManifest(o);
    if (note !== undefined) o.events?.note?.(note);
    return sweep(o, lock);
  });
}

/** What an earlier run left in the trajectory, repaired, with the rows to train again taken out. */
async function readBack(trajectory: string): Promise<{ rows: TrajectoryRow[]; retry: Task[]; repaired?: Repair }> {
  const repaired = repairTornTail(trajectory);
  // Rows whose trainer could not start say nothing about their config: out of the trajectory,
  // and trained again first, under the same id.
  const retry = dropLines(trajectory, isEnvironmentalRow).map(retryTask);
  const rows = existsSync(trajectory) ? (await readTrajectoryFile(trajectory, { format: "trajectory" })).rows : [];
  return { rows, retry, ...(repaired ? { repaired } : {}) };
}

function setupOf(o: SweepOptions): PlanSetup {
  const { candidates, repeats, repeatTop, maxIdleProposals } = o;
  return { seed: o.menu.seed, baseline: baselineConfig(o.menu), candidates, repeats, repeatTop, maxIdleProposals, proposer: o.proposer.name, ...(o.prune ? { prune: o.prune } : {}) };
}

async function sweep(o: SweepOptions, lock: LabLock): Promise<SweepResult> {
  const trajectory = join(o.dir, TRAJECTORY);
  const earlier = await readBack(trajectory);
  if (earlier.rows.length > 0 || earlier.repaired || lock.orphansStopped.length > 0 || lock.orphansSpared.length > 0 || earlier.retry.length > 0) {
    o.events?.resumed?.({ rows: earlier.rows.length, ...(earlier.repaired ? { repaired: earlier.repaired } : {}), orphansStopped: lock.orphansStopped, orphansSpared: lock.orphansSpared, retried: earlier.retry.length });
  }
  // The one piece of state: every step below reads the plan as it is then, for the runs in other
  // slots change it while a proposer or a trainer is awaited.
  let plan = startPlan(setupOf(o), earlier.rows.map((r) => resultOf(r, r.configHash, o.menu.seed)), earlier.retry);
  const journal = new Journal(trajectory);
  const pruning: PruningTally = { pruned: 0, byStep: new Map(), stepsRun: 0, stepsSaved: 0 };
  const tally = (r: { status: string; steps?: number; prunedAt?: { step: number } }): void => {
    pruning.stepsRun += r.steps ?? 0;
    if (r.status !== "pruned") return;
    pruning.pruned++;
    pruning.stepsSaved += Math.max(0, o.menu.steps - (r.steps ?? 0));
    if (r.prunedAt !== undefined) pruning.byStep.set(r.prunedAt.step, (pruning.byStep.get(r.prunedAt.step) ?? 0) + 1);
  };
  for (const r of earlier.rows) tally(r);
  let unjudged = false;

  const run = async (t: Task, slot: number): Promise<void> => {
    o.events?.started?.(t, slot, progressOf(plan));
    const base = join(o.dir, "sweep", t.id);
    let stop: Extract<RungDecision, { kind: "stop" }> | undefined;
    // Each value at a rung goes to the planner as it arrives; a stop is worth making only while the
    // trainer still has steps to run (not for points read after it exited or with its last step).
    const onPoints = (points: readonly MetricPoint[], running: boolean): string | undefined => {
      const live = running && !points.some((p) => p.step >= o.menu.steps);
      for (const p of points) {
        if (p.val_bpb === undefined || p.step >= o.menu.steps) continue;
        const judged = atRung(plan, t.id, p.step, p.val_bpb);
        plan = judged.plan;
        if (judged.decision.kind === "stop" && live) {
          stop = judged.decision;
          return stop.reason;
        }
      }
      return undefined;
    };
    const outcome = await lock.runTrainer({
      command: o.command,
      ...(o.cwd ? { cwd: o.cwd } : {}),
      id: t.id,
      config: t.config,
      steps: o.menu.steps,
      seed: t.seed,
      phase: "sweep",
      metricsFile: `${base}.metrics.jsonl`,
      metricsLabel: join("sweep", `${t.id}.metrics.jsonl`),
      configFile: `${base}.config.json`,
      logFile: `${base}.log`,
      logEvery: o.logEvery,
      env: slotEnv(o.devices, slot),
      timeoutMs: o.timeoutMs,
      ...(o.prune ? { evalSteps: o.prune.rungs, pollMs: PRUNE_POLL_MS, onPoints } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
    });
    const pruned = stop !== undefined && outcome.status === "stopped" ? { step: stop.step, value: stop.value } : undefined;
    if (pruned === undefined && !evaluated(outcome)) {
      plan = abandonTask(plan, t.id);
      return;
    }
    const rungs = o.prune ? rungsOf(plan, t.id) : [];
    const row = labRow(t, outcome, new Date(), o.prune ? { rungs, ...(pruned ? { pruned } : {}) } : undefined);
    journal.append(row);
    plan = recordResult(plan, resultOf({ ...row, ...(row.pruned_at ? { prunedAt: row.pruned_at } : {}) }, row.config_hash, o.menu.seed));
    tally({ status: row.status, steps: row.steps, ...(row.pruned_at ? { prunedAt: row.pruned_at } : {}) });
    o.events?.finished?.(row, outcome, progressOf(plan));
    if (o.prune && !unjudged && row.status === "ok" && rungs.length === 0 && t.repeatOf === undefined) {
      unjudged = true;
      o.events?.note?.(`${t.id} reported no val_bpb before its last step, so early stopping could not judge it at the rungs (steps ${o.prune.rungs.join(", ")}): does the trainer add val_bpb to the metrics line of each step WINDTUNNEL_EVAL_STEPS names?`);
    }
  };

  /** The next run for a free slot, asking the proposer as often as the plan says to. */
  const next = async (slot: number): Promise<(() => Promise<void>) | undefined> => {
    for (;;) {
      const decided = nextStep(plan);
      plan = decided.plan;
      const step = decided.step;
      switch (step.kind) {
        case "train":
          return () => run(step.task, slot);
        case "wait":
        case "done":
          return undefined;
        case "propose": {
          // A proposer that answers at once (grid, random) resolves in a microtask; without a turn of
          // the event loop here a run of repeats would starve the SIGINT/SIGTERM handlers and timers.
          await new Promise<void>((resolve) => setImmediate(resolve));
          if (o.signal?.aborted) return undefined;
          const proposal = await o.proposer.next({ trajectoryFile: trajectory, n: step.n, results: plan.results, pending: [...plan.inFlight, ...plan.queue].map((t) => t.config), ...(o.signal ? { signal: o.signal } : {}) });
          const taken = takeProposal(plan, proposal);
          plan = taken.plan;
          if (taken.note !== undefined) o.events?.note?.(taken.note);
          break;
        }
        default:
          return assertNever(step);
      }
    }
  };

  try {
    await new Slots(o.parallel).run(next, o.signal);
  } finally {
    journal.close();
  }
  const interrupted = o.signal?.aborted ?? false;
  const shortfall = interrupted ? undefined : shortfallOf(plan);
  const rows = plan.results.length;
  const { answered, invalid, done } = plan.proposals;
  return { trajectory, rows, trained: rows - earlier.rows.length, answered, invalid, interrupted, exhausted: done?.exhausted ?? false, pruning, ...(shortfall ? { shortfall } : {}) };
}
