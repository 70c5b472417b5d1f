// One lab run per folder: a second `windtunnel lab` on the same folder would append the same
// candidates twice. The lock names the owner and the trainers it started, so a run that was
// killed (kill -9, a power cut) is detected as stale and its orphaned trainers are stopped before
// a new run resumes, instead of training beside it on the same GPU.
//
// The lock is a file anyone who can write the folder can edit, so what it says is checked before
// it is acted on: a trainer's process group is killed only if its leader is still the process
// this lab started (process-identity.ts); anything else is reported and left alone.
import "../common/zod-setup.ts";
import * as z from "zod/mini";
import { closeSync, constants, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { InputError, UsageError } from "../common/errors.ts";
import { describeIssue } from "../evidence/issues.ts";
import { parseJsonText } from "../evidence/json.ts";
import { lazy } from "../evidence/schemas.ts";
import { prepareLabDir, replaceLabFile } from "./lab-dir.ts";
import { checkTrainerCommand } from "./trainer-command.ts";
import { runTrainer, type TrainerOutcome, type TrainerSpec } from "./trainer.ts";
import { randomUUID } from "node:crypto";
import { canVerifyProcesses, identify, judgeOrphan, LAB_RUN_VARIABLE, processState, type ProcessIdentity } from "./process-identity.ts";

const pid = () => z.int().check(z.positive());

const lockSchema = lazy(() =>
  z.looseObject({
    pid: pid(),
    /** The owner's start time: a pid reused after the owner died does not hold the folder. */
    start: z.optional(z.nullable(z.string().check(z.regex(/^\d+$/)))),
    /** The run's secret token, in every trainer's environment: what proves an orphan is ours. */
    run: z.optional(z.string().check(z.regex(/^[0-9a-f-]{16,64}$/))),
    trainers: z.array(
      z.union([
        z.looseObject({ pid: pid(), start: z.nullable(z.string().check(z.regex(/^\d+$/))), cmdline: z.nullable(z.array(z.string())) }),
        // Written by windtunnel before it recorded identities: reported, never killed.
        pid(),
      ]),
    ),
  }),
);

type LockState = z.infer<ReturnType<typeof lockSchema>>;
type TrainerEntry = LockState["trainers"][number];

/** A trainer a killed run left in the lock that was not stopped, and why. */
export interface Spared {
  pid: number;
  why: string;
}

/** The resume note for trainers named in a lock that were left alone. */
export function describeSpared(spared: readonly Spared[]): string {
  return `left ${spared.length} process(es) named in the lock alone, as they could not be verified as its trainers: ${spared.map((s) => `pid ${s.pid}: ${s.why}`).join("; ")}`;
}

const alive = (p: number): boolean => {
  try {
    process.kill(p, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
};

/** What an earlier lock says, or why it cannot be trusted; an empty file is a stale lock (a kill between create and write). */
export function parseLock(file: string, text: string): LockState | undefined {
  if (text.trim() === "") return undefined;
  const hint = `not a lock windtunnel wrote; if no windtunnel lab run uses this folder, remove ${file} and run again`;
  const j = parseJsonText(text);
  if (!j.ok) throw j.problem === "duplicate" ? InputError.at(file, 0, j.key, `written twice (which would win?): ${hint}`) : InputError.at(file, 0, "lock", `not JSON (${j.message}): ${hint}`);
  const value = j.value;
  const r = lockSchema().safeParse(value);
  if (r.success) return r.data;
  const problems = r.error.issues.map((i) => ({ file, line: 0, kind: "error" as const, ...describeIssue(i, value) }));
  const last = problems[problems.length - 1];
  if (last !== undefined) last.message = `${last.message}: ${hint}`;
  throw new InputError(problems);
}

export class LabLock {
  readonly file: string;
  private readonly state: { pid: number; start: string | null; run: string; trainers: { pid: number; start: string | null; cmdline: readonly string[] | null }[] };
  /** Trainer process groups of a killed earlier run that were still alive and were stopped. */
  readonly orphansStopped: number[] = [];
  /** Trainers of a killed earlier run that are still running something but could not be verified as ours: left alone. */
  readonly orphansSpared: Spared[] = [];

  private constructor(file: string) {
    this.file = file;
    this.state = { pid: process.pid, start: identify(process.pid)?.start ?? null, run: randomUUID(), trainers: [] };
  }

  /** The environment every trainer of this run gets: the token that later proves it was ours. */
  get trainerEnv(): Record<string, string> {
    return { [LAB_RUN_VARIABLE]: this.state.run };
  }

  static acquire(dir: string): LabLock {
    const lock = new LabLock(join(dir, ".lab.lock"));
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        // O_EXCL: also refuses a link planted at the lock's path.
        const fd = openSync(lock.file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o666);
        writeSync(fd, JSON.stringify(lock.state));
        closeSync(fd);
        return lock;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      }
      const prev = parseLock(lock.file, readLockText(lock.file));
      if (prev !== undefined && prev.pid !== process.pid && ownerAlive(prev)) {
        throw new UsageError(`${dir} is in use by another windtunnel lab run (pid ${prev.pid}); wait for it or stop it first`);
      }
      for (const t of prev?.trainers ?? []) lock.stopOrphan(t, prev?.run);
      rmSync(lock.file, { force: true });
    }
    throw new UsageError(`cannot take the lock ${lock.file}`);
  }

  private stopOrphan(entry: TrainerEntry, run: string | undefined): void {
    const [p, recorded]: [number, ProcessIdentity | undefined] =
      typeof entry === "number" ? [entry, undefined] : [entry.pid, entry.start !== null && entry.cmdline !== null ? { start: entry.start, cmdline: entry.cmdline } : undefined];
    if (p === process.pid) {
      this.orphansSpared.push({ pid: p, why: "it is this windtunnel run" });
      return;
    }
    const verdict = judgeOrphan(p, recorded, canVerifyProcesses() ? processState(p) : alive(p) ? "no-proc" : "gone", run);
    if (verdict.kill) {
      try {
        process.kill(-p, "SIGKILL");
        this.orphansStopped.push(p);
      } catch {
        // gone meanwhile
      }
    } else if (!verdict.gone) {
      this.orphansSpared.push({ pid: p, why: verdict.why });
    }
  }

  /** Run a trainer of this lab: its group is named in the lock while it runs, so that it can be found if this run is killed. */
  async runTrainer(spec: TrainerSpec): Promise<TrainerOutcome> {
    let pid: number | undefined;
    const outcome = await runTrainer({
      ...spec,
      env: { ...this.trainerEnv, ...spec.env },
      onSpawn: (p) => {
        pid = p;
        this.trainerStarted(p);
      },
    });
    if (pid !== undefined) this.trainerEnded(pid);
    return outcome;
  }

  trainerStarted(pid: number): void {
    // Read right after spawn: the child has already exec'd the trainer (spawn returns only then).
    const id = identify(pid);
    this.state.trainers.push({ pid, start: id?.start ?? null, cmdline: id?.cmdline ?? null });
    this.save();
  }

  trainerEnded(pid: number): void {
    this.state.trainers = this.state.trainers.filter((t) => t.pid !== pid);
    this.save();
  }

  private save(): void {
    replaceLabFile(this.file, JSON.stringify(this.state));
  }

  release(): void {
    rmSync(this.file, { force: true });
  }
}

function readLockText(file: string): string {
  try {
    const fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      return readFileSync(fd, "utf8");
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return ""; // released meanwhile
    throw err;
  }
}

/** Whether the lock's owner still runs: by its start time where /proc can tell, else by its pid. */
function ownerAlive(prev: LockState): boolean {
  if (prev.start != null && canVerifyProcesses()) {
    const now = processState(prev.pid);
    if (now === "gone") return false;
    if (typeof now === "object") return now.start === prev.start;
  }
  return alive(prev.pid);
}

/**
 * How `lab sweep` and `lab stress` start: the trainer command is runnable, the folder holds only
 * what windtunnel writes, and the lab's lock is held for `work` and released whatever it throws.
 */
export async function withLab<T>(o: { command: readonly string[]; cwd?: string | undefined; dir: string }, work: (lock: LabLock) => Promise<T>): Promise<T> {
  checkTrainerCommand(o.command, o.cwd);
  prepareLabDir(o.dir);
  const lock = LabLock.acquire(o.dir);
  try {
    return await work(lock);
  } finally {
    lock.release();
  }
}
