// What a trainer run came to, from how it ended: a result, a crash (and whether the machine or the
// config is to blame), a hang, garbage metrics. Kept apart from following the process so that each
// way a run can end reads as one line here, in the order they take precedence.
import type { Diagnostics } from "../common/problems.ts";
import { formatProblem } from "../common/problems.ts";

export type OutcomeStatus = "ok" | "crash" | "timeout" | "stopped" | "cancelled";

/**
 * Exit codes a shell gives a command it could not run: 126 found but not executable, 127 not
 * found (a wrapper script whose `python` is missing). The machine's fault, not the recipe's.
 */
const CANNOT_RUN: Record<number, string> = { 126: "the shell's \"cannot execute\"", 127: "the shell's \"command not found\"" };

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
  /**
   * The crash is the environment's, not the config's: the trainer could not be started, or its
   * shell could not run what it named (exit 126/127). Such rows are retried on resume.
   */
  environmental?: true;
  /** The metrics file was replaced during the run (a link planted at its name): nothing it holds is the trainer's. */
  metricsReplaced?: true;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all. */
  error?: NodeJS.ErrnoException;
}

/** Everything runTrainer saw of a run, once the process is gone. */
export interface RunEnd {
  exit: Exit;
  /** Why windtunnel ended it, when it did. */
  ended?: "timeout" | "stopped" | "cancelled";
  stopReason?: string;
  /** How the metrics file is no longer the one made for the trainer, when it is not. */
  replaced?: string;
  valBpb: number | null;
  lastStep: number;
  points: number;
  wallMs: number;
  diag: Pick<Diagnostics, "problems" | "errorCount">;
}

export function outcomeOf(end: RunEnd, spec: { metricsLabel: string; timeoutMs: number; requireValBpb: boolean }, logTail: () => string): TrainerOutcome {
  const { exit, ended, valBpb, lastStep, points } = end;
  const wall_s = Math.round(end.wallMs / 10) / 100;
  const base = { val_bpb: valBpb, steps: lastStep, points, wall_s, ...(exit.code !== null ? { exitCode: exit.code } : {}), ...(exit.signal ? { signal: exit.signal } : {}) };
  // Read only for the outcomes that show it: the log may be anything the trainer printed.
  const withTail = (why: string): string => {
    const t = logTail();
    return t ? `${why}\n${t}` : why;
  };
  if (end.replaced !== undefined) return { ...base, status: "crash", metricsReplaced: true, error: `${spec.metricsLabel} was replaced during the run (${end.replaced}): its points are not the trainer's, and it is removed` };
  if (ended === "cancelled") return { ...base, status: "cancelled", error: "interrupted" };
  if (ended === "stopped") return { ...base, status: "stopped", error: end.stopReason ?? "stopped" };
  if (ended === "timeout") return { ...base, status: "timeout", error: withTail(`no result within ${fmtSeconds(spec.timeoutMs / 1000)}: killed at step ${lastStep}`) };
  if (exit.error !== undefined) return { ...base, status: "crash", environmental: true, error: `the trainer could not be started: ${exit.error.message}` };
  if (exit.code !== 0) {
    const how = exit.signal ? `killed by ${exit.signal}` : `exited with code ${exit.code}`;
    const cannot = exit.code !== null ? CANNOT_RUN[exit.code] : undefined;
    return { ...base, status: "crash", ...(cannot ? { environmental: true as const } : {}), error: withTail(`trainer ${how}${cannot ? ` (${cannot})` : ""} at step ${lastStep}`) };
  }
  const first = end.diag.problems[0];
  if (first !== undefined) {
    const more = end.diag.errorCount > 1 ? ` (${end.diag.errorCount} bad lines in all)` : "";
    return { ...base, status: "crash", error: `bad metrics: ${formatProblem(first)}${more}` };
  }
  if (valBpb === null && spec.requireValBpb) return { ...base, status: "crash", error: withTail(points === 0 ? "the trainer exited 0 without writing any metrics to WINDTUNNEL_METRICS" : `the trainer exited 0 without reporting val_bpb (${points} points, last step ${lastStep})`) };
  return { ...base, status: "ok" };
}

export function fmtSeconds(s: number): string {
  return s >= 120 ? `${Math.round(s / 60)} min` : `${Math.round(s * 10) / 10} s`;
}
