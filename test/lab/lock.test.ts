// The lab lock against real processes: what a lock names is killed only if it is verifiably a
// trainer this lab started; a decoy whose pid is planted in a lock survives.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { InputError, UsageError } from "../../src/common/errors.ts";
import { LabLock, parseLock } from "../../src/lab/lock.ts";
import { identify, judgeOrphan, parseCmdline, parseStat, processState } from "../../src/lab/process-identity.ts";
import { useTmpDir } from "../helpers/tmp.ts";

const tmp = useTmpDir();
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});

/** A `sleep 1000`, by default in its own process group, as a trainer would be. */
async function sleeper(detached = true, run?: string): Promise<ChildProcess & { pid: number }> {
  const c = spawn("sleep", ["1000"], { detached, stdio: "ignore", env: { ...process.env, ...(run !== undefined ? { WINDTUNNEL_LAB_RUN: run } : {}) } });
  children.push(c);
  await new Promise((r) => c.once("spawn", r));
  return c as ChildProcess & { pid: number };
}

const running = (c: ChildProcess): boolean => c.exitCode === null && c.signalCode === null;
const exited = (c: ChildProcess): Promise<unknown> => (running(c) ? new Promise((r) => c.once("exit", r)) : Promise.resolve());

const RUN = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";

function lockWith(trainers: unknown[], owner = 999_999_999): string {
  const dir = tmp.dir();
  writeFileSync(join(dir, ".lab.lock"), JSON.stringify({ pid: owner, start: "1", run: RUN, trainers }));
  return dir;
}

describe("/proc/<pid>/stat", () => {
  // Fields 3–52 of a real stat line; the name may hold spaces and parentheses.
  const rest = "S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 8000000 200 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0";
  it.each([
    ["4242 (sleep) ", { pgrp: 4242, start: "987654" }],
    ["4242 (a b) ", { pgrp: 4242, start: "987654" }],
    ["4242 (evil) 1 1 1 (x)) ", { pgrp: 4242, start: "987654" }],
  ])("takes the fields after the last ')' of %j", (head, want) => {
    expect(parseStat(head + rest)).toEqual(want);
  });
  it("refuses what is not a stat line", () => {
    expect(parseStat("garbage")).toBeUndefined();
    expect(parseStat("1 (x) S 1")).toBeUndefined();
    expect(parseCmdline("sleep\u00001000\u0000")).toEqual(["sleep", "1000"]);
  });
  it("reads this process's identity", () => {
    const me = processState(process.pid);
    if (typeof me !== "object") throw new Error(`expected this process's state, got ${me}`);
    expect(me.cmdline[0]).toBe(process.argv0);
    expect(me.start).toMatch(/^\d+$/);
    expect(Number.isInteger(me.pgrp)).toBe(true);
    expect(processState(2 ** 22 + 12345)).toBe("gone");
  });
});

describe("judgeOrphan", () => {
  const id = { start: "100", cmdline: ["python", "train.py"] };
  it.each([
    ["the recorded trainer", 7, id, { pgrp: 7, ...id, labRun: "r" }, { kill: true }],
    ["a process forged to look like it, without the run's token", 7, id, { pgrp: 7, ...id }, { kill: false, gone: false, why: "its environment does not carry the lab run's token (WINDTUNNEL_LAB_RUN): it was not started by that run" }],
    ["another run's trainer", 7, id, { pgrp: 7, ...id, labRun: "other" }, { kill: false, gone: false, why: "its environment does not carry the lab run's token (WINDTUNNEL_LAB_RUN): it was not started by that run" }],
    ["a gone process", 7, id, "gone" as const, { kill: false, gone: true }],
    ["no /proc", 7, id, "no-proc" as const, { kill: false, gone: false, why: "this system has no /proc to verify it is still the trainer" }],
    ["no recorded identity", 7, undefined, { pgrp: 7, ...id }, { kill: false, gone: false, why: "the lock does not record its start time and command line" }],
    ["a non-leader", 7, id, { pgrp: 1, ...id }, { kill: false, gone: false, why: "it does not lead its own process group, as a trainer does (the pid was reused)" }],
    ["another start time", 7, id, { pgrp: 7, ...id, start: "101" }, { kill: false, gone: false, why: "it started at another time than the trainer (the pid was reused)" }],
    ["another command line", 7, id, { pgrp: 7, ...id, cmdline: ["vim"] }, { kill: false, gone: false, why: 'it runs "vim", not the trainer\'s "python train.py"' }],
  ] as const)("%s", (_name, pid, recorded, now, want) => {
    expect(judgeOrphan(pid, recorded, now, "r")).toEqual(want);
  });

  it("spares a process when the lock records no run token at all", () => {
    expect(judgeOrphan(7, id, { pgrp: 7, ...id, labRun: "r" })).toEqual({ kill: false, gone: false, why: "the lock records no run token to check it against" });
  });
});

describe("the lock file", () => {
  it.each([
    ["not JSON", "{pid: 5", /^\/x\/\.lab\.lock: lock: not JSON \(.*\): not a lock windtunnel wrote; if no windtunnel lab run uses this folder, remove \/x\/\.lab\.lock and run again$/],
    ["trainers not a list", '{"pid":5,"trainers":5}', /^\/x\/\.lab\.lock: trainers: expected array, got 5: not a lock windtunnel wrote/],
    ["an array", "[]", /^\/x\/\.lab\.lock: row: expected object, got an array: not a lock/],
    ["a pid as text", '{"pid":"5","trainers":[]}', /^\/x\/\.lab\.lock: pid: expected number, got "5": not a lock/],
    ["a negative trainer", '{"pid":5,"trainers":[-1]}', /^\/x\/\.lab\.lock: trainers\.0: /],
    ["a key written twice", '{"pid":4000000,"pid":1,"trainers":[]}', /^\/x\/\.lab\.lock: pid: written twice \(which would win\?\): not a lock/],
  ])("is refused when %s, naming the file and what is wrong", (_name, text, want) => {
    let err: unknown;
    try {
      parseLock("/x/.lab.lock", text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(want);
  });

  it("is stale when empty (a kill between create and write)", () => {
    const dir = tmp.dir();
    writeFileSync(join(dir, ".lab.lock"), "");
    const lock = LabLock.acquire(dir);
    expect(JSON.parse(readFileSync(join(dir, ".lab.lock"), "utf8"))).toMatchObject({ pid: process.pid, trainers: [] });
    lock.release();
    expect(existsSync(join(dir, ".lab.lock"))).toBe(false);
  });

  it("records each trainer's pid, start time and command line", async () => {
    const dir = tmp.dir();
    const lock = LabLock.acquire(dir);
    const t = await sleeper();
    lock.trainerStarted(t.pid);
    const saved = JSON.parse(readFileSync(join(dir, ".lab.lock"), "utf8")) as { trainers: { pid: number; start: string; cmdline: string[] }[] };
    expect(saved.trainers).toEqual([{ pid: t.pid, start: identify(t.pid)?.start, cmdline: ["sleep", "1000"] }]);
    lock.trainerEnded(t.pid);
    expect(JSON.parse(readFileSync(join(dir, ".lab.lock"), "utf8"))).toMatchObject({ trainers: [] });
    lock.release();
  });
});

describe("resuming after a killed run", () => {
  it("stops a real orphaned trainer whose pid, start time, command line and run token match", async () => {
    const orphan = await sleeper(true, RUN);
    const dir = lockWith([{ pid: orphan.pid, ...identify(orphan.pid) }]);
    const lock = LabLock.acquire(dir);
    expect(lock.orphansStopped).toEqual([orphan.pid]);
    expect(lock.orphansSpared).toEqual([]);
    await exited(orphan);
    expect(orphan.signalCode).toBe("SIGKILL");
    lock.release();
  });

  it("leaves decoys alone: a bare pid, another start time, another command line, a process that leads no group, an exact forgery", async () => {
    const [bare, early, renamed] = [await sleeper(true, RUN), await sleeper(true, RUN), await sleeper(true, RUN)];
    const member = await sleeper(false, RUN); // in this test's process group
    // Start time and command line are world-readable: a forged lock can name a bystander exactly.
    const bystander = await sleeper();
    const dir = lockWith([
      bare.pid,
      { pid: early.pid, start: "1", cmdline: ["sleep", "1000"] },
      { pid: renamed.pid, start: identify(renamed.pid)?.start, cmdline: ["python", "train.py"] },
      { pid: member.pid, ...identify(member.pid) },
      { pid: process.pid, ...identify(process.pid) },
      { pid: bystander.pid, ...identify(bystander.pid) },
    ]);
    const lock = LabLock.acquire(dir);
    await new Promise((r) => setTimeout(r, 200));
    for (const c of [bare, early, renamed, member, bystander]) expect(running(c), `pid ${c.pid}`).toBe(true);
    expect(lock.orphansStopped).toEqual([]);
    expect(lock.orphansSpared).toEqual([
      { pid: bare.pid, why: "the lock does not record its start time and command line" },
      { pid: early.pid, why: "it started at another time than the trainer (the pid was reused)" },
      { pid: renamed.pid, why: 'it runs "sleep 1000", not the trainer\'s "python train.py"' },
      { pid: member.pid, why: "it does not lead its own process group, as a trainer does (the pid was reused)" },
      { pid: process.pid, why: "it is this windtunnel run" },
      { pid: bystander.pid, why: "its environment does not carry the lab run's token (WINDTUNNEL_LAB_RUN): it was not started by that run" },
    ]);
    lock.release();
  });

  it("refuses a folder whose owner still runs, and takes one whose owner's pid now names another process", async () => {
    const owner = await sleeper();
    const start = identify(owner.pid)?.start as string;
    writeFileSync(join(tmp.dir(), ".lab.lock"), JSON.stringify({ pid: owner.pid, start, trainers: [] }));
    expect(() => LabLock.acquire(tmp.dir())).toThrow(UsageError);
    writeFileSync(join(tmp.dir(), ".lab.lock"), JSON.stringify({ pid: owner.pid, start: String(Number(start) + 1), trainers: [] }));
    LabLock.acquire(tmp.dir()).release();
    expect(running(owner)).toBe(true);
  });
});
