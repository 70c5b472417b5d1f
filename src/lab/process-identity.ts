// Which process a pid names now. Pids are reused, so a pid read back from a lock file says
// nothing by itself: a lock holding [1] once made a resume SIGKILL every process of the user.
// A process is the one recorded only if it still leads its own process group, has the same
// start time (clock ticks after boot, /proc/<pid>/stat field 22) and command line, and carries
// the lab run's secret token in its environment. The first three are readable by anyone, so a
// forged lock could name any process exactly; the environment (/proc/<pid>/environ) is readable
// only by the process's own user, and nobody can put the token into another process's.
import { existsSync, readFileSync } from "node:fs";

export interface ProcessIdentity {
  /** Start time in clock ticks after boot, as /proc writes it (kept as text: it is a u64). */
  start: string;
  cmdline: readonly string[];
}

export interface ProcessState extends ProcessIdentity {
  pgrp: number;
  /** Its WINDTUNNEL_LAB_RUN environment variable; undefined when absent or unreadable. */
  labRun?: string | undefined;
}

/** The environment variable that carries a lab run's token into each trainer it starts. */
export const LAB_RUN_VARIABLE = "WINDTUNNEL_LAB_RUN";

/** One variable of /proc/<pid>/environ ("NAME=value" entries ended by NUL each). */
export function environValue(text: string, name: string): string | undefined {
  const prefix = `${name}=`;
  for (const entry of text.split("\0")) if (entry.startsWith(prefix)) return entry.slice(prefix.length);
  return undefined;
}

/**
 * Fields of /proc/<pid>/stat after the command name. The name (field 2) is in parentheses and
 * may itself hold spaces and parentheses ("(a) b)"), so the rest starts after the last ")".
 */
export function parseStat(text: string): { pgrp: number; start: string } | undefined {
  const close = text.lastIndexOf(")");
  if (close === -1) return undefined;
  // fields[0] is field 3 (state): field n is fields[n - 3].
  const fields = text.slice(close + 1).trim().split(/\s+/);
  const pgrp = Number(fields[5 - 3]);
  const start = fields[22 - 3];
  if (!Number.isInteger(pgrp) || start === undefined || !/^\d+$/.test(start)) return undefined;
  return { pgrp, start };
}

/** /proc/<pid>/cmdline: arguments ended by NUL each. */
export function parseCmdline(text: string): string[] {
  const args = text.split("\0");
  if (args[args.length - 1] === "") args.pop();
  return args;
}

/** Whether this system has a /proc to verify processes with (Linux); elsewhere nothing is killed. */
export function canVerifyProcesses(proc = "/proc"): boolean {
  return existsSync(`${proc}/self/stat`);
}

/** What /proc says of `pid` now: its state, "gone", or "unknown" when it cannot be read. */
export function processState(pid: number, proc = "/proc"): ProcessState | "gone" | "unknown" {
  let stat: string;
  let cmdline: string;
  try {
    stat = readFileSync(`${proc}/${pid}/stat`, "utf8");
    cmdline = readFileSync(`${proc}/${pid}/cmdline`, "utf8");
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ENOENT" ? "gone" : "unknown";
  }
  const s = parseStat(stat);
  if (s === undefined) return "unknown";
  let labRun: string | undefined;
  try {
    labRun = environValue(readFileSync(`${proc}/${pid}/environ`, "utf8"), LAB_RUN_VARIABLE);
  } catch {
    labRun = undefined; // another user's process: its environment is not ours to read
  }
  return { ...s, cmdline: parseCmdline(cmdline), labRun };
}

/** A process's identity now, to record it; undefined where it cannot be read. */
export function identify(pid: number, proc = "/proc"): ProcessIdentity | undefined {
  const s = processState(pid, proc);
  return typeof s === "object" ? { start: s.start, cmdline: s.cmdline } : undefined;
}

export type Verdict = { kill: true } | { kill: false; gone: true } | { kill: false; gone: false; why: string };

/**
 * Whether the process group `pid` is still the trainer recorded as `recorded`, started by the lab
 * run whose token is `run`: only then is it killed.
 */
export function judgeOrphan(pid: number, recorded: ProcessIdentity | undefined, now: ProcessState | "gone" | "unknown" | "no-proc", run?: string): Verdict {
  if (now === "gone") return { kill: false, gone: true };
  if (now === "no-proc") return { kill: false, gone: false, why: "this system has no /proc to verify it is still the trainer" };
  if (now === "unknown") return { kill: false, gone: false, why: "its /proc entry cannot be read" };
  if (recorded === undefined) return { kill: false, gone: false, why: "the lock does not record its start time and command line" };
  if (now.pgrp !== pid) return { kill: false, gone: false, why: "it does not lead its own process group, as a trainer does (the pid was reused)" };
  if (now.start !== recorded.start) return { kill: false, gone: false, why: "it started at another time than the trainer (the pid was reused)" };
  if (JSON.stringify(now.cmdline) !== JSON.stringify(recorded.cmdline)) return { kill: false, gone: false, why: `it runs ${shown(now.cmdline)}, not the trainer's ${shown(recorded.cmdline)}` };
  if (run === undefined) return { kill: false, gone: false, why: "the lock records no run token to check it against" };
  if (now.labRun !== run) return { kill: false, gone: false, why: `its environment does not carry the lab run's token (${LAB_RUN_VARIABLE}): it was not started by that run` };
  return { kill: true };
}

const shown = (args: readonly string[]): string => {
  const s = args.join(" ");
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 79)}…` : s);
};
