// The trainer protocol: start the user's command for one candidate with everything it needs in
// environment variables, follow the metrics it appends, and turn whatever happens (a result, a
// crash, a hang, garbage) into an outcome the sweep can record and move on from.
//
// The trainer runs in its own process group, so a timeout, an early stop or Ctrl-C reaches the
// workers it started too (torchrun, dataloader processes) and no orphan keeps a GPU busy.
import { closeSync, openSync, readSync, fstatSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import { execa } from "execa";
import type { MetricPoint } from "../evidence/schemas.ts";
import { formatProblem } from "../evidence/problems.ts";
import { ensureRealDir, openForWriting, writeLabFile } from "./lab-dir.ts";
import { MetricsTail } from "./metrics-tail.ts";
import type { Config } from "./menu.ts";

export interface TrainerSpec {
  /** The user's command: program and arguments (no shell). */
  command: readonly string[];
  cwd?: string;
  id: string;
  config: Config;
  steps: number;
  seed: number;
  phase: "sweep" | "stress";
  /** Where the trainer appends its metrics (created fresh). */
  metricsFile: string;
  /** How the metrics file is named in problems. */
  metricsLabel?: string;
  configFile: string;
  /** stdout and stderr of the trainer. */
  logFile: string;
  /** Suggested logging interval, in steps. */
  logEvery: number;
  /** Extra environment, e.g. CUDA_VISIBLE_DEVICES for the slot. */
  env?: Record<string, string>;
  timeoutMs: number;
  /** A run that reports no val_bpb is a crash (Phase 1). @default true */
  requireValBpb?: boolean;
  /** Aborted on Ctrl-C: the trainer is killed and the outcome is `cancelled`. */
  signal?: AbortSignal;
  /** Called with new points as they arrive; return a reason to stop the run early. */
  onPoints?: (points: readonly MetricPoint[]) => string | undefined;
  /** @default 250 */
  pollMs?: number;
  /** Grace between SIGTERM and SIGKILL. @default 5000 */
  killGraceMs?: number;
  /** Told the process group id once started (to record it for orphan clean-up). */
  onSpawn?: (pid: number) => void;
}

export type OutcomeStatus = "ok" | "crash" | "timeout" | "stopped" | "cancelled";

export interface TrainerOutcome {
  status: OutcomeStatus;
  /** The last val_bpb the trainer reported (null when it reported none). */
  val_bpb: number | null;
  /** Last step the metrics reached. */
  steps: number;
  points: number;
  wall_s: number;
  /** Why a run is not ok: exit status, the first bad metrics line, the stop reason; with the log's tail. */
  error?: string;
  exitCode?: number;
  signal?: string;
}

const TAIL_BYTES = 1500;

/** The last lines of a log, at most TAIL_BYTES, for a crash row. */
export function logTail(file: string, bytes = TAIL_BYTES): string {
  let fd: number | undefined;
  try {
    fd = openSync(file, "r");
    const size = fstatSync(fd).size;
    const start = Math.max(0, size - bytes);
    const buffer = Buffer.alloc(size - start);
    readSync(fd, buffer, 0, buffer.length, start);
    let text = buffer.toString("utf8");
    if (start > 0) text = text.slice(text.indexOf("\n") + 1);
    return text.trim();
  } catch {
    return "";
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

export function trainerEnv(spec: TrainerSpec): Record<string, string> {
  return {
    WINDTUNNEL_CONFIG: JSON.stringify(spec.config),
    WINDTUNNEL_CONFIG_FILE: spec.configFile,
    WINDTUNNEL_METRICS: spec.metricsFile,
    WINDTUNNEL_STEPS: String(spec.steps),
    WINDTUNNEL_SEED: String(spec.seed),
    WINDTUNNEL_LOG_EVERY: String(spec.logEvery),
    WINDTUNNEL_CANDIDATE: spec.id,
    WINDTUNNEL_PHASE: spec.phase,
    ...spec.env,
  };
}

export async function runTrainer(spec: TrainerSpec): Promise<TrainerOutcome> {
  for (const d of new Set([spec.metricsFile, spec.configFile, spec.logFile].map((f) => dirname(f)))) ensureRealDir(d);
  rmSync(spec.metricsFile, { force: true });
  writeLabFile(spec.configFile, `${JSON.stringify(spec.config, null, 2)}\n`);
  writeLabFile(spec.logFile, "");
  const tail = new MetricsTail(spec.metricsFile, spec.metricsLabel ?? spec.metricsFile);
  const started = performance.now();
  let points = 0;
  let lastStep = 0;
  let valBpb: number | null = null;
  let stopReason: string | undefined;
  let ended: "timeout" | "stopped" | "cancelled" | undefined;

  const [file, ...args] = spec.command;
  if (file === undefined) throw new Error("empty trainer command");
  const child = execa(file, args, {
    cwd: spec.cwd,
    env: trainerEnv(spec),
    stdin: "ignore",
    // Both streams appended to one file (O_APPEND keeps their lines whole and in order).
    stdout: { file: spec.logFile, append: true },
    stderr: { file: spec.logFile, append: true },
    detached: true,
    reject: false,
    cleanup: true,
  });
  if (child.pid !== undefined) spec.onSpawn?.(child.pid);

  const take = (pts: readonly MetricPoint[]): void => {
    if (pts.length === 0) return;
    points += pts.length;
    for (const p of pts) {
      lastStep = p.step;
      if (p.val_bpb !== undefined) valBpb = p.val_bpb;
    }
    if (stopReason === undefined && ended === undefined) {
      const why = spec.onPoints?.(pts);
      if (why !== undefined) {
        stopReason = why;
        end("stopped");
      }
    }
  };

  let killTimer: NodeJS.Timeout | undefined;
  const end = (why: "timeout" | "stopped" | "cancelled"): void => {
    if (ended !== undefined || child.pid === undefined) return;
    ended = why;
    killGroup(child.pid, "SIGTERM");
    killTimer = setTimeout(() => child.pid !== undefined && killGroup(child.pid, "SIGKILL"), spec.killGraceMs ?? 5000);
  };
  const timeout = setTimeout(() => end("timeout"), spec.timeoutMs);
  const onAbort = (): void => end("cancelled");
  if (spec.signal?.aborted) onAbort();
  spec.signal?.addEventListener("abort", onAbort);
  const poller = setInterval(() => take(tail.poll()), spec.pollMs ?? 250);

  const result = await child;
  clearInterval(poller);
  clearTimeout(timeout);
  spec.signal?.removeEventListener("abort", onAbort);
  // Whatever the trainer left behind in its group goes too.
  if (child.pid !== undefined) killGroup(child.pid, "SIGKILL");
  if (killTimer !== undefined) clearTimeout(killTimer);
  take(tail.poll());
  take(tail.poll(true));
  tail.close();

  const wall_s = Math.round((performance.now() - started) / 10) / 100;
  const base = { val_bpb: valBpb, steps: lastStep, points, wall_s, ...(result.exitCode !== undefined ? { exitCode: result.exitCode } : {}), ...(result.signal ? { signal: result.signal } : {}) };
  const withTail = (why: string): string => {
    const t = logTail(spec.logFile);
    return t ? `${why}\n${t}` : why;
  };
  if (ended === "cancelled") return { ...base, status: "cancelled", error: "interrupted" };
  if (ended === "stopped") return { ...base, status: "stopped", error: stopReason ?? "stopped" };
  if (ended === "timeout") return { ...base, status: "timeout", error: withTail(`no result within ${fmtSeconds(spec.timeoutMs / 1000)}: killed at step ${lastStep}`) };
  if (result.failed || result.exitCode !== 0) {
    const how = result.signal ? `killed by ${result.signal}` : result.exitCode !== undefined ? `exited with code ${result.exitCode}` : (result.shortMessage ?? "failed to start");
    return { ...base, status: "crash", error: withTail(`trainer ${how} at step ${lastStep}`) };
  }
  const first = tail.diag.problems[0];
  if (first !== undefined) {
    const more = tail.diag.errorCount > 1 ? ` (${tail.diag.errorCount} bad lines in all)` : "";
    return { ...base, status: "crash", error: `bad metrics: ${formatProblem(first)}${more}` };
  }
  if (valBpb === null && spec.requireValBpb !== false) return { ...base, status: "crash", error: withTail(points === 0 ? "the trainer exited 0 without writing any metrics to WINDTUNNEL_METRICS" : `the trainer exited 0 without reporting val_bpb (${points} points, last step ${lastStep})`) };
  return { ...base, status: "ok" };
}

export function fmtSeconds(s: number): string {
  return s >= 120 ? `${Math.round(s / 60)} min` : `${Math.round(s * 10) / 10} s`;
}
