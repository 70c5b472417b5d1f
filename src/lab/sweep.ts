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
import type { TrajectoryRow } from "../evidence/schemas.ts";
import { dropLines, Journal, repairTornTail, type Repair } from "./journal.ts";
import { writeLabFile } from "./lab-dir.ts";
import { withLab, type LabLock, type Spared } from "./lock.ts";
import { baselineConfig, type LoadedMenu } from "./menu.ts";
import { abandonTask, nextStep, progressOf, recordResult, resultOf, shortfallOf, startPlan, takeProposal, type PlanSetup, type SweepProgress, type Task } from "./planner.ts";
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
}

export const TRAJECTORY = "trajectory.jsonl";
export const MANIFEST = "lab.json";

/** What must match for a folder's trajectory to be resumed by this command. */
function manifestOf(o: SweepOptions): Record<string, unknown> {
  const { file: _file, ...menu } = o.menu;
  return { format: 1, menu_sha256: configHash(menu as Record<string, unknown>, []), steps: o.menu.steps, seed: o.menu.seed };
}

function checkManifest(o: SweepOptions): void {
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
    return;
  }
  writeLabFile(file, `${JSON.stringify({ ...want, menu: o.menu.file, command: o.command, created: new Date().toISOString() }, null, 2)}\n`);
}

export async function runSweep(o: SweepOptions): Promise<SweepResult> {
  return withLab(o, (lock) => {
    checkManifest(o);
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
  return { seed: o.menu.seed, baseline: baselineConfig(o.menu), candidates, repeats, repeatTop, maxIdleProposals, proposer: o.proposer.name };
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

  const run = async (t: Task, slot: number): Promise<void> => {
    o.events?.started?.(t, slot, progressOf(plan));
    const base = join(o.dir, "sweep", t.id);
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
      ...(o.signal ? { signal: o.signal } : {}),
    });
    if (!evaluated(outcome)) {
      plan = abandonTask(plan, t.id);
      return;
    }
    const row = labRow(t, outcome, new Date());
    journal.append(row);
    plan = recordResult(plan, resultOf(row, row.config_hash, o.menu.seed));
    o.events?.finished?.(row, outcome, progressOf(plan));
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
  return { trajectory, rows, trained: rows - earlier.rows.length, answered, invalid, interrupted, exhausted: done?.exhausted ?? false, ...(shortfall ? { shortfall } : {}) };
}
