// Phase 1: train N distinct candidates for S steps each, K at a time, into an append-only
// trajectory. The trajectory is the run's only state: re-running the same command after a crash,
// a kill -9 or Ctrl-C reads it back and trains only what is missing, so no row is lost or
// written twice. A proposal already in the trajectory is answered from it, never retrained,
// except the deliberate noise repeats (other seeds) that the separation gate needs.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { configHash, canonicalJson } from "../evidence/hash.ts";
import { readTrajectoryFile } from "../evidence/read.ts";
import { parseJsonLine } from "../evidence/json.ts";
import { InputError, UsageError } from "../common/errors.ts";
import { trajectoryRecordSchema, type TrajectoryRow } from "../evidence/schemas.ts";
import { dropLines, Journal, repairTornTail, type Repair } from "./journal.ts";
import { writeLabFile } from "./lab-dir.ts";
import { withLab, type LabLock, type Spared } from "./lock.ts";
import { baselineConfig, type Config, type LoadedMenu } from "./menu.ts";
import type { Proposer } from "./proposers.ts";
import type { TrainerOutcome } from "./trainer.ts";
import { Slots, slotEnv } from "./slots.ts";

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

/** A row as `lab sweep` writes it (windtunnel's trajectory format plus provenance). */
export interface LabRow {
  id: string;
  config: Config;
  config_hash: string;
  val_bpb: number | null;
  status: "ok" | "crash" | "timeout";
  steps: number;
  seed: number;
  wall_s: number;
  baseline?: true;
  error?: string;
  /** The trainer could not be started (or its shell could not run it): retried on resume. */
  environmental?: true;
  time: string;
  proposer: string;
  repeat_of?: string;
}

export interface SweepProgress {
  done: number;
  total: number;
  failures: number;
  best?: { id: string; val_bpb: number };
  running: number;
}

export interface SweepEvents {
  resumed?(info: { rows: number; repaired?: Repair; orphansStopped: number[]; orphansSpared: Spared[]; retried: number }): void;
  started?(task: Task, slot: number, progress: SweepProgress): void;
  finished?(row: LabRow, outcome: TrainerOutcome, progress: SweepProgress): void;
  note?(message: string): void;
}

export interface Task {
  id: string;
  config: Config;
  seed: number;
  baseline: boolean;
  proposer: string;
  repeatOf?: string;
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

async function readRows(file: string): Promise<TrajectoryRow[]> {
  return existsSync(file) ? (await readTrajectoryFile(file, { format: "trajectory" })).rows : [];
}

const key = (hash: string, seed: number): string => `${hash}:${seed}`;

function parsedRow(line: string): Record<string, unknown> | undefined {
  const j = parseJsonLine(line);
  return j.ok && j.value !== null && typeof j.value === "object" && !Array.isArray(j.value) ? (j.value as Record<string, unknown>) : undefined;
}

// Only a row that is whole and ours is taken out; anything else stays for the reader to report.
const isEnvironmentalRow = (line: string): boolean => {
  const row = parsedRow(line);
  return row?.["environmental"] === true && typeof row["seed"] === "number" && typeof row["proposer"] === "string" && trajectoryRecordSchema().safeParse(row).success;
};

/** The task that trains a dropped environmental row again (the row is ours, so its fields are). */
function retryTask(line: string): Task {
  const r = parsedRow(line) as unknown as LabRow;
  return { id: r.id, config: r.config, seed: r.seed, baseline: r.baseline === true, proposer: r.proposer, ...(r.repeat_of ? { repeatOf: r.repeat_of } : {}) };
}

export async function runSweep(o: SweepOptions): Promise<SweepResult> {
  return withLab(o, (lock) => {
    checkManifest(o);
    return sweep(o, lock);
  });
}

async function sweep(o: SweepOptions, lock: LabLock): Promise<SweepResult> {
  const trajectory = join(o.dir, TRAJECTORY);
  const repaired = repairTornTail(trajectory);
  // Rows whose trainer could not start say nothing about their config: out of the trajectory,
  // and trained again first, under the same id.
  const retry = dropLines(trajectory, isEnvironmentalRow).map(retryTask);
  const existing = await readRows(trajectory);
  if (existing.length > 0 || repaired || lock.orphansStopped.length > 0 || lock.orphansSpared.length > 0 || retry.length > 0) {
    o.events?.resumed?.({ rows: existing.length, ...(repaired ? { repaired } : {}), orphansStopped: lock.orphansStopped, orphansSpared: lock.orphansSpared, retried: retry.length });
  }

  const seed = o.menu.seed;
  // Everything evaluated (or being evaluated) by config hash and seed.
  const known = new Map<string, string>();
  const usedIds = new Set<string>();
  const primary = new Map<string, { id: string; value: number | null; ok: boolean; config: Config }>();
  let failures = 0;
  let best: SweepProgress["best"];
  const note = (row: { id: string; status: string; val_bpb: number | null; seed?: number; configHash: string; config: Record<string, unknown> }): void => {
    known.set(key(row.configHash, row.seed ?? seed), row.id);
    usedIds.add(row.id);
    const ok = row.status === "ok" && row.val_bpb !== null && Number.isFinite(row.val_bpb);
    if (!ok) failures++;
    if (ok && (best === undefined || (row.val_bpb as number) < best.val_bpb)) best = { id: row.id, val_bpb: row.val_bpb as number };
    if ((row.seed ?? seed) === seed) primary.set(row.configHash, { id: row.id, value: row.val_bpb, ok, config: row.config as Config });
  };
  for (const r of existing) note(r);

  const journal = new Journal(trajectory);
  const baseline = baselineConfig(o.menu);
  const baselineHash = configHash(baseline);
  const plannedRepeats = o.repeats * (1 + o.repeatTop);
  let done = existing.length;
  let running = 0;
  const progress = (): SweepProgress => ({ done, total: Math.max(done + running, o.candidates + plannedRepeats), failures, running, ...(best ? { best } : {}) });

  let nextId = 0;
  const freshId = (): string => {
    while (usedIds.has(`c${String(nextId).padStart(3, "0")}`)) nextId++;
    const id = `c${String(nextId).padStart(3, "0")}`;
    usedIds.add(id);
    return id;
  };

  let proposals = 0;
  let answered = 0;
  let invalid = 0;
  let idle = 0;
  /** Config hashes proposed by this run (a replayed trajectory row is not a repeat the first time). */
  const proposedNow = new Set<string>();
  let proposerDone: string | undefined;
  let exhausted = false;
  let trained = 0;

  for (const t of retry) {
    usedIds.add(t.id);
    known.set(key(configHash(t.config), t.seed), t.id);
  }

  /** The next main-phase task, or undefined when N configs are evaluated or in flight. */
  const nextMain = async (): Promise<Task | undefined> => {
    const again = retry.shift();
    if (again !== undefined) return again;
    if (!known.has(key(baselineHash, seed))) {
      const t: Task = { id: freshId(), config: baseline, seed, baseline: true, proposer: "baseline" };
      known.set(key(baselineHash, seed), t.id);
      return t;
    }
    while (primary.size + inFlightPrimary < o.candidates && proposerDone === undefined) {
      // A proposer that answers at once (grid, random) resolves in a microtask; without a turn of
      // the event loop here a run of repeats would starve the SIGINT/SIGTERM handlers and timers.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (o.signal?.aborted) break;
      if (idle >= o.maxIdleProposals) {
        proposerDone = `the proposer made ${idle} proposals in a row that were repeats or invalid`;
        break;
      }
      proposals++;
      const p = await o.proposer.next({ trajectoryFile: trajectory, n: proposals, ...(o.signal ? { signal: o.signal } : {}) });
      if (p.kind === "exhausted") {
        exhausted = true;
        proposerDone = p.reason;
        break;
      }
      if (p.kind === "invalid") {
        invalid++;
        idle++;
        o.events?.note?.(`proposal ${proposals} (${o.proposer.name}) is invalid: ${p.reason}`);
        continue;
      }
      const hash = configHash(p.config);
      const have = known.get(key(hash, seed));
      const again = proposedNow.has(hash);
      proposedNow.add(hash);
      if (have !== undefined) {
        answered++;
        // The grid and random proposers replay their sequence on resume, each row once, and
        // that is no reason to stop; proposing a config twice in one run is, for every proposer
        // (random draws on a huge menu, an agent that keeps repeating itself).
        if (o.proposer.name === "command") {
          idle++;
          o.events?.note?.(`proposal ${proposals} repeats ${have}: answered from the trajectory, not trained again`);
        } else if (again) {
          idle++;
        }
        continue;
      }
      idle = 0;
      const t: Task = { id: freshId(), config: p.config, seed, baseline: hash === baselineHash, proposer: o.proposer.name };
      known.set(key(hash, seed), t.id);
      return t;
    }
    return undefined;
  };

  /** Noise repeats: the baseline and the best configs under further seeds, once the main phase is in. */
  let repeatQueue: Task[] | undefined;
  const nextRepeat = (): Task | undefined => {
    if (o.repeats === 0) return undefined;
    if (repeatQueue === undefined) {
      const ranked = [...primary.entries()].filter(([, v]) => v.ok).sort((a, b) => (a[1].value as number) - (b[1].value as number));
      const chosen = [baselineHash, ...ranked.map(([h]) => h).filter((h) => h !== baselineHash).slice(0, o.repeatTop)];
      repeatQueue = [];
      for (const h of chosen) {
        const origin = primary.get(h);
        if (origin === undefined) continue;
        const config = origin.config;
        for (let r = 1; r <= o.repeats; r++) {
          if (known.has(key(h, seed + r))) continue;
          const id = `${origin.id}-s${seed + r}`;
          usedIds.add(id);
          known.set(key(h, seed + r), id);
          repeatQueue.push({ id, config, seed: seed + r, baseline: h === baselineHash, proposer: "repeat", repeatOf: origin.id });
        }
      }
    }
    return repeatQueue.shift();
  };
  let inFlightPrimary = 0;
  const sweepDir = join(o.dir, "sweep");

  const run = async (t: Task, slot: number): Promise<void> => {
    const base = join(sweepDir, t.id);
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
    running--;
    if (t.seed === seed) inFlightPrimary--;
    if (outcome.status === "cancelled" || outcome.status === "stopped") {
      // Not evaluated: no row, so a re-run trains it.
      known.delete(key(configHash(t.config), t.seed));
      return;
    }
    const hash = configHash(t.config);
    const row: LabRow = {
      id: t.id,
      config: t.config,
      config_hash: hash,
      val_bpb: outcome.status === "ok" ? outcome.val_bpb : null,
      status: outcome.status,
      steps: outcome.steps,
      seed: t.seed,
      wall_s: outcome.wall_s,
      ...(t.baseline ? { baseline: true as const } : {}),
      ...(outcome.error !== undefined ? { error: outcome.error } : {}),
      ...(outcome.environmental ? { environmental: true as const } : {}),
      time: new Date().toISOString(),
      proposer: t.proposer,
      ...(t.repeatOf ? { repeat_of: t.repeatOf } : {}),
    };
    journal.append(row);
    trained++;
    done++;
    note({ id: row.id, status: row.status, val_bpb: row.val_bpb, seed: row.seed, configHash: hash, config: t.config });
    o.events?.finished?.(row, outcome, progress());
  };

  let phase: "main" | "repeats" = "main";
  const slots = new Slots(o.parallel);
  try {
    await slots.run(async (slot) => {
      let task = phase === "main" ? await nextMain() : undefined;
      // The repeats need every main-phase result in to know the best configs.
      if (task === undefined && phase === "main" && slots.busy === 0) phase = "repeats";
      if (phase === "repeats") task = nextRepeat();
      if (task === undefined) return undefined;
      const t = task;
      return () => {
        if (t.seed === seed) inFlightPrimary++;
        running++;
        o.events?.started?.(t, slot, progress());
        return run(t, slot);
      };
    }, o.signal);
  } finally {
    journal.close();
  }
  const interrupted = o.signal?.aborted ?? false;
  const shortfall = !interrupted && primary.size < o.candidates ? `${primary.size} of ${o.candidates} candidates evaluated: ${proposerDone ?? "the proposer stopped"}` : undefined;
  return { trajectory, rows: done, trained, answered, invalid, interrupted, exhausted, ...(shortfall ? { shortfall } : {}) };
}
