// Phase 2: train the sweep gate's finalists for the policy's stress length (1,000 steps), one
// curve file each, judging every curve live with the same CurveMonitor `windtunnel gate` uses.
// A run that fails a gate no later step can undo (NaN, sustained divergence, a grad-norm blowup)
// is stopped there: on a desk GPU that is hours saved, and its curve still shows why.
import { existsSync, readFileSync, renameSync, rmSync } from "node:fs";
import { basename, join } from "node:path";
import "../common/zod-setup.ts";
import * as z from "zod/mini";
import { readTrajectoryFile } from "../evidence/read.ts";
import { InputError } from "../common/errors.ts";
import { describeIssue } from "../evidence/issues.ts";
import { parseJsonLine } from "../evidence/json.ts";
import type { Problem } from "../common/problems.ts";
import { lazy } from "../evidence/schemas.ts";
import { configHash } from "../evidence/hash.ts";
import { CurveMonitor } from "../gates/stress.ts";
import { evaluateSweep, type SweepOutcome } from "../gates/sweep.ts";
import type { Policy } from "../policy/schema.ts";
import { describeRepair, Journal, repairTornTail } from "./journal.ts";
import { describeSpared, withLab, type LabLock } from "./lock.ts";
import type { Config } from "./menu.ts";
import type { TrainerOutcome } from "./trainer.ts";
import { Slots, slotEnv } from "./slots.ts";

export const STRESS_LOG = "stress.jsonl";
export const CURVES = "curves";

export interface StressCandidate {
  id: string;
  config: Config;
  seed: number;
}

/** The sweep gate's verdict on a trajectory and the finalists it chose, with the seed each was first run at. */
export async function finalistsOf(trajectory: string, policy: Policy): Promise<{ sweep: SweepOutcome; candidates: StressCandidate[] }> {
  const t = await readTrajectoryFile(trajectory);
  const sweep = evaluateSweep({ subject: basename(trajectory), rows: t.rows, unreadable: t.unreadable }, policy);
  const seedOf = new Map(t.rows.map((r) => [r.id, r.seed ?? 0] as const));
  return { sweep, candidates: sweep.finalists.map((f) => ({ id: f.id, config: f.config as Config, seed: seedOf.get(f.id) ?? 0 })) };
}

export interface StressRecord {
  id: string;
  config: Config;
  config_hash: string;
  /** completed: ran its steps; stopped: a decisive gate failed live; crash/timeout: the trainer's fault. */
  status: "completed" | "stopped" | "crash" | "timeout";
  curve: string;
  steps: number;
  wall_s: number;
  gate?: string;
  step?: number;
  reason?: string;
  /** The trainer could not be started (or its shell could not run it): not done, so a re-run trains it. */
  environmental?: true;
  /**
   * The gates the curve failed when it ended, as the live monitor (the gates' own) judged it:
   * a run that completed its steps may still be rejected (a flatline, too few steps logged).
   */
  failed?: { gate: string; step?: number; reason: string }[];
  time: string;
}

export interface StressOptions {
  dir: string;
  command: readonly string[];
  cwd?: string;
  policy: Policy;
  candidates: readonly StressCandidate[];
  parallel: number;
  devices: readonly string[] | null;
  timeoutMs: number;
  logEvery: number;
  /** Stop a run at its first decisive gate failure. @default true */
  earlyStop: boolean;
  signal?: AbortSignal;
  events?: {
    resumed?(done: readonly StressRecord[], orphansStopped: number[]): void;
    started?(c: StressCandidate, slot: number): void;
    point?(c: StressCandidate, step: number): void;
    finished?(r: StressRecord): void;
    /** What resuming did besides skipping finished curves (a repaired log, retried runs). */
    note?(message: string): void;
  };
}

export interface StressResult {
  records: StressRecord[];
  curves: string[];
  interrupted: boolean;
}

/** The fields every stress.jsonl record has (readRecords refuses a record without them, at its line). */
const stressRecordSchema = lazy(() =>
  z.looseObject({
    id: z.string().check(z.minLength(1)),
    config: z.record(z.string(), z.unknown()),
    config_hash: z.string(),
    status: z.enum(["completed", "stopped", "crash", "timeout"]),
    curve: z.string().check(z.minLength(1)),
    steps: z.number(),
    wall_s: z.number(),
    time: z.string(),
  }),
);

function recordOf(line: string): unknown {
  const j = parseJsonLine(line);
  return j.ok ? j.value : undefined;
}

function readRecords(file: string): StressRecord[] {
  if (!existsSync(file)) return [];
  const problems: Problem[] = [];
  const records: StressRecord[] = [];
  readFileSync(file, "utf8")
    .split("\n")
    .forEach((l, i) => {
      if (l.trim() === "") return;
      const value = recordOf(l);
      const r = stressRecordSchema().safeParse(value);
      if (r.success) records.push(r.data as unknown as StressRecord);
      else problems.push({ file, line: i + 1, kind: "error", ...(value === undefined ? { field: "json", message: "not JSON; was the file edited?" } : describeIssue(r.error.issues[0] as z.core.$ZodIssue, value)) });
    });
  if (problems.length > 0) throw new InputError(problems);
  return records;
}

export async function runStress(o: StressOptions): Promise<StressResult> {
  // Whatever fails from here on (an edited stress.jsonl, a journal that cannot be opened, a
  // trainer that cannot start), the folder is free again afterwards.
  return withLab(o, (lock) => stressLocked(o, lock));
}

async function stressLocked(o: StressOptions, lock: LabLock): Promise<StressResult> {
  const logFile = join(o.dir, STRESS_LOG);
  const repaired = repairTornTail(logFile);
  if (repaired) o.events?.note?.(`${STRESS_LOG}: ${describeRepair(repaired)}`);
  const earlier = new Map(readRecords(logFile).map((r) => [r.id, r] as const));
  const done = o.candidates.map((c) => earlier.get(c.id)).filter((r): r is StressRecord => r !== undefined && r.environmental !== true && existsSync(join(o.dir, r.curve)));
  const retried = o.candidates.filter((c) => earlier.get(c.id)?.environmental === true).length;
  if (retried > 0) o.events?.note?.(`retrying ${retried} run(s) whose trainer could not be started`);
  if (done.length > 0 || lock.orphansStopped.length > 0) o.events?.resumed?.(done, lock.orphansStopped);
  if (lock.orphansSpared.length > 0) o.events?.note?.(describeSpared(lock.orphansSpared));
  const pending = o.candidates.filter((c) => !done.some((r) => r.id === c.id));
  const journal = new Journal(logFile);
  const records: StressRecord[] = [...done];

  const one = async (c: StressCandidate, slot: number): Promise<void> => {
    const curve = join(CURVES, `${c.id}.jsonl`);
    const partial = join(o.dir, CURVES, `.${c.id}.partial.jsonl`);
    const monitor = new CurveMonitor(c.id, o.policy.stress);
    let stop: { gate: string; step: number; reason: string } | undefined;
    o.events?.started?.(c, slot);
    const outcome: TrainerOutcome = await lock.runTrainer({
      command: o.command,
      ...(o.cwd ? { cwd: o.cwd } : {}),
      id: c.id,
      config: c.config,
      steps: o.policy.stress.min_steps,
      seed: c.seed,
      phase: "stress",
      metricsFile: partial,
      metricsLabel: curve,
      configFile: join(o.dir, CURVES, `${c.id}.config.json`),
      logFile: join(o.dir, CURVES, `${c.id}.log`),
      logEvery: o.logEvery,
      env: slotEnv(o.devices, slot),
      timeoutMs: o.timeoutMs,
      requireValBpb: false,
      ...(o.signal ? { signal: o.signal } : {}),
      onPoints: (points) => {
        for (const p of points) monitor.push(p);
        const last = points[points.length - 1];
        if (last) o.events?.point?.(c, last.step);
        if (!o.earlyStop) return undefined;
        const f = monitor.decisiveFailure();
        if (f === undefined) return undefined;
        stop = { gate: f.id, step: f.step ?? last?.step ?? 0, reason: f.message };
        return `${f.id}: ${f.message}`;
      },
    });
    if (outcome.status === "cancelled") return;
    // A run that wrote no point leaves no curve: there is nothing to judge, and an empty file
    // would stop `gate` at bad input. The finalist then has no curve, which stress.coverage names.
    const wrote = outcome.points > 0 && outcome.metricsReplaced !== true;
    if (wrote && existsSync(partial)) renameSync(partial, join(o.dir, curve));
    else rmSync(partial, { force: true });
    const status: StressRecord["status"] = outcome.status === "ok" ? (wrote ? "completed" : "crash") : outcome.status;
    const silent = outcome.status === "ok" && !wrote ? "the trainer exited 0 without writing any metrics to WINDTUNNEL_METRICS" : undefined;
    const failed = wrote && !stop ? monitor.finish().results.filter((r) => r.status === "fail").map((r) => ({ gate: r.id, ...(r.step !== undefined ? { step: r.step } : {}), reason: r.message })) : [];
    const record: StressRecord = {
      id: c.id,
      config: c.config,
      config_hash: configHash(c.config),
      status,
      curve,
      steps: outcome.steps,
      wall_s: outcome.wall_s,
      ...(stop ? { gate: stop.gate, step: stop.step, reason: stop.reason } : status === "crash" || status === "timeout" ? { reason: silent ?? outcome.error ?? status } : {}),
      ...(outcome.environmental ? { environmental: true as const } : {}),
      ...(failed.length > 0 ? { failed } : {}),
      time: new Date().toISOString(),
    };
    journal.append(record);
    records.push(record);
    o.events?.finished?.(record);
  };

  try {
    await new Slots(o.parallel).run(async (slot) => {
      const c = pending.shift();
      return c === undefined ? undefined : () => one(c, slot);
    }, o.signal);
  } finally {
    journal.close();
  }
  const order = new Map(o.candidates.map((c, i) => [c.id, i] as const));
  records.sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0));
  return { records, curves: records.map((r) => join(o.dir, r.curve)).filter((f) => existsSync(f)), interrupted: o.signal?.aborted ?? false };
}
