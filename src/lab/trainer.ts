// The trainer protocol: start the user's command for one candidate with everything it needs in
// environment variables, follow the metrics it appends, and turn whatever happens (a result, a
// crash, a hang, garbage) into an outcome the sweep can record and move on from.
//
// The trainer runs in its own process group, so a timeout, an early stop or Ctrl-C reaches the
// workers it started too (torchrun, dataloader processes) and no orphan keeps a GPU busy.
//
// How an ended run is judged is trainer-outcome.ts; whether the command can start at all,
// trainer-command.ts.
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync, readSync, fstatSync, lstatSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import type { MetricPoint } from "../evidence/schemas.ts";
import { ensureRealDir, openForWriting, writeLabFile } from "./lab-dir.ts";
import { MetricsTail } from "./metrics-tail.ts";
import type { Config } from "./menu.ts";
import { outcomeOf, type Exit, type TrainerOutcome } from "./trainer-outcome.ts";

// Where they were before the split, for the modules that take them from here.
export { fmtSeconds, type OutcomeStatus, type TrainerOutcome } from "./trainer-outcome.ts";

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
  /** Steps whose metrics line should also carry val_bpb (early stopping's rungs), as WINDTUNNEL_EVAL_STEPS. */
  evalSteps?: readonly number[];
  /** Extra environment, e.g. CUDA_VISIBLE_DEVICES for the slot. */
  env?: Record<string, string>;
  timeoutMs: number;
  /** A run that reports no val_bpb is a crash (Phase 1). @default true */
  requireValBpb?: boolean;
  /** Aborted on Ctrl-C: the trainer is killed and the outcome is `cancelled`. */
  signal?: AbortSignal;
  /**
   * Called with new points as they arrive; return a reason to stop the run early. `running` is
   * false for the points read after the trainer exited, which no stop can save steps on.
   */
  onPoints?: (points: readonly MetricPoint[], running: boolean) => string | undefined;
  /** @default 250 */
  pollMs?: number;
  /** Grace between SIGTERM and SIGKILL. @default 5000 */
  killGraceMs?: number;
  /** Told the process group id once started (to record it for orphan clean-up). */
  onSpawn?: (pid: number) => void;
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
    ...(spec.evalSteps !== undefined && spec.evalSteps.length > 0 ? { WINDTUNNEL_EVAL_STEPS: spec.evalSteps.join(",") } : {}),
    WINDTUNNEL_CANDIDATE: spec.id,
    WINDTUNNEL_PHASE: spec.phase,
    ...spec.env,
  };
}

export async function runTrainer(spec: TrainerSpec): Promise<TrainerOutcome> {
  for (const d of new Set([spec.metricsFile, spec.configFile, spec.logFile].map((f) => dirname(f)))) ensureRealDir(d);
  rmSync(spec.metricsFile, { force: true });
  // Made here (exclusive, not through a link) so the trainer appends to the lab's own file; its
  // identity is checked when the run ends, in case a link was planted at the name meanwhile.
  const metricsFd = openForWriting(spec.metricsFile, "new");
  const metricsId = fstatSync(metricsFd);
  closeSync(metricsFd);
  writeLabFile(spec.configFile, `${JSON.stringify(spec.config, null, 2)}\n`);
  // The child writes its output straight into the log through this descriptor: nothing passes
  // through windtunnel, so a trainer that prints gigabytes costs no memory here (through execa's
  // pipes and buffer, 99 MB of stdout peaked at 548 MB and hit maxBuffer, which killed the run).
  // Only the log's last bytes are read back, for a crash row (logTail).
  const logFd = openForWriting(spec.logFile, "truncate");
  const tail = new MetricsTail(spec.metricsFile, spec.metricsLabel ?? spec.metricsFile);
  const started = performance.now();
  let points = 0;
  let lastStep = 0;
  let valBpb: number | null = null;
  let stopReason: string | undefined;
  let ended: "timeout" | "stopped" | "cancelled" | undefined;
  let running = true;

  const [file, ...args] = spec.command;
  if (file === undefined) {
    closeSync(logFd);
    throw new Error("empty trainer command");
  }
  let child: ChildProcess;
  try {
    // node:child_process rather than execa: execa's types take no descriptor but 1 and 2 for
    // stdout, and with the output going to a file there is nothing left for it to collect.
    child = spawn(file, args, {
      ...(spec.cwd ? { cwd: spec.cwd } : {}),
      env: { ...process.env, ...trainerEnv(spec) },
      // Both streams on one descriptor opened with O_APPEND: their lines stay whole and in order.
      stdio: ["ignore", logFd, logFd],
      detached: true,
    });
  } finally {
    // The child has its own copy once spawned; a spawn that failed needs none.
    closeSync(logFd);
  }
  const exited = new Promise<Exit>((done) => {
    // 'error' means it could not be started (ENOENT, EACCES, …): nothing is ever sent to it
    // through `child`, whose other errors come from doing that.
    child.once("error", (error: NodeJS.ErrnoException) => done({ code: null, signal: null, error }));
    child.once("exit", (code, signal) => done({ code, signal }));
  });
  // Ctrl-C twice exits at once (process.exit): the trainer's group goes with windtunnel.
  const onExit = (): void => void (child.pid !== undefined && killGroup(child.pid, "SIGTERM"));
  process.once("exit", onExit);
  if (child.pid !== undefined) spec.onSpawn?.(child.pid);

  const take = (pts: readonly MetricPoint[]): void => {
    if (pts.length === 0) return;
    points += pts.length;
    for (const p of pts) {
      lastStep = p.step;
      if (p.val_bpb !== undefined) valBpb = p.val_bpb;
    }
    if (stopReason === undefined && ended === undefined) {
      const why = spec.onPoints?.(pts, running);
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

  const result = await exited;
  running = false;
  process.off("exit", onExit);
  clearInterval(poller);
  clearTimeout(timeout);
  spec.signal?.removeEventListener("abort", onAbort);
  // Whatever the trainer left behind in its group goes too.
  if (child.pid !== undefined) killGroup(child.pid, "SIGKILL");
  if (killTimer !== undefined) clearTimeout(killTimer);
  take(tail.poll());
  take(tail.poll(true));
  tail.close();

  const wallMs = performance.now() - started;
  const replaced = replacedFile(spec.metricsFile, metricsId);
  // The planted name only: rm never follows a link.
  if (replaced !== undefined) rmSync(spec.metricsFile, { force: true });
  return outcomeOf(
    { exit: result, ...(ended ? { ended } : {}), ...(stopReason !== undefined ? { stopReason } : {}), ...(replaced !== undefined ? { replaced } : {}), valBpb, lastStep, points, wallMs, diag: tail.diag },
    { metricsLabel: spec.metricsLabel ?? spec.metricsFile, timeoutMs: spec.timeoutMs, requireValBpb: spec.requireValBpb !== false },
    () => logTail(spec.logFile),
  );
}

/** How a file is no longer the one created (`was`), or undefined when it still is. */
function replacedFile(file: string, was: { dev: number; ino: number }): string | undefined {
  let now;
  try {
    now = lstatSync(file);
  } catch {
    return "it was removed";
  }
  if (now.isSymbolicLink()) return "it is now a symbolic link";
  if (!now.isFile()) return "it is no longer a regular file";
  if (now.dev !== was.dev || now.ino !== was.ino) return "it is now another file";
  if (now.nlink > 1) return "it is now hard-linked";
  return undefined;
}

