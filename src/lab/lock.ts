// One lab run per folder: a second `windtunnel lab` on the same folder would append the same
// candidates twice. The lock names the owner and the trainers it started, so a run that was
// killed (kill -9, a power cut) is detected as stale and its orphaned trainers are stopped before
// a new run resumes, instead of training beside it on the same GPU.
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { UsageError } from "../evidence/errors.ts";
import { replaceLabFile } from "./lab-dir.ts";

interface LockState {
  pid: number;
  trainers: number[];
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
};

export class LabLock {
  readonly file: string;
  private readonly state: LockState = { pid: process.pid, trainers: [] };
  /** Trainer process groups of a killed earlier run that were still alive and were stopped. */
  readonly orphansStopped: number[] = [];

  private constructor(file: string) {
    this.file = file;
  }

  static acquire(dir: string): LabLock {
    mkdirSync(dir, { recursive: true });
    const lock = new LabLock(join(dir, ".lab.lock"));
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(lock.file, "wx");
        writeSync(fd, JSON.stringify(lock.state));
        closeSync(fd);
        return lock;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      }
      let prev: LockState | undefined;
      try {
        prev = JSON.parse(readFileSync(lock.file, "utf8")) as LockState;
      } catch {
        prev = undefined; // torn lock from a kill: stale
      }
      if (prev !== undefined && prev.pid !== process.pid && alive(prev.pid)) {
        throw new UsageError(`${dir} is in use by another windtunnel lab run (pid ${prev.pid}); wait for it or stop it first`);
      }
      for (const pgid of prev?.trainers ?? []) {
        if (!alive(pgid)) continue;
        try {
          process.kill(-pgid, "SIGKILL");
          lock.orphansStopped.push(pgid);
        } catch {
          // gone meanwhile
        }
      }
      rmSync(lock.file, { force: true });
    }
    throw new UsageError(`cannot take the lock ${lock.file}`);
  }

  trainerStarted(pid: number): void {
    this.state.trainers.push(pid);
    this.save();
  }

  trainerEnded(pid: number): void {
    this.state.trainers = this.state.trainers.filter((p) => p !== pid);
    this.save();
  }

  private save(): void {
    replaceLabFile(this.file, JSON.stringify(this.state));
  }

  release(): void {
    rmSync(this.file, { force: true });
  }
}
