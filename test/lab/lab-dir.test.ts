// What a lab folder may contain, and how the lab writes into it: never through a link.
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { execa } from "execa";
import { UsageError } from "../../src/common/errors.ts";
import { Journal } from "../../src/lab/journal.ts";
import { ensureRealDir, intrudersIn, openForWriting, prepareLabDir, replaceLabFile, writeLabFile } from "../../src/lab/lab-dir.ts";
import { describeWriteError } from "../../src/common/files.ts";
import { useTmpDir } from "../helpers/tmp.ts";

const tmp = useTmpDir();

/** A lab folder with a planted link at sweep/c000.log pointing at a file outside it. */
function planted(): { lab: string; victim: string; link: string } {
  const lab = join(tmp.dir(), "runs");
  mkdirSync(join(lab, "sweep"), { recursive: true });
  const victim = tmp.write("victim.txt", "precious\n");
  const link = join(lab, "sweep/c000.log");
  symlinkSync(victim, link);
  return { lab, victim, link };
}

const thrown = (f: () => unknown): unknown => {
  try {
    f();
  } catch (err) {
    return err;
  }
  throw new Error("expected it to throw");
};

describe("the lab folder", () => {
  it("finds every link (to a file, to a folder, dangling) and every pipe, and nothing else", async () => {
    const { lab, victim } = planted();
    writeFileSync(join(lab, "trajectory.jsonl"), "");
    writeFileSync(join(lab, "sweep/c001.log"), "ok\n");
    symlinkSync(tmp.dir(), join(lab, "curves"));
    symlinkSync("/nonexistent/x", join(lab, "sweep/c000.config.json"));
    await execa("mkfifo", [join(lab, "sweep/c002.log")]);
    const found = intrudersIn(lab).map((i) => `${i.path.slice(lab.length + 1)} is ${i.what}`).sort();
    expect(found).toEqual([`curves is a symbolic link to ${tmp.dir()}`, "sweep/c000.config.json is a symbolic link to /nonexistent/x", `sweep/c000.log is a symbolic link to ${victim}`, "sweep/c002.log is a named pipe"]);
  });

  it("is refused with each link and its target, before anything is written", () => {
    const { lab, victim, link } = planted();
    const before = readdirSync(lab, { recursive: true }).sort();
    const err = thrown(() => prepareLabDir(lab));
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toBe(`${link} is a symbolic link to ${victim}\na lab folder holds only files windtunnel writes, and it does not write through links: remove it, or use another --dir`);
    expect(readdirSync(lab, { recursive: true }).sort()).toEqual(before);
    expect(readFileSync(victim, "utf8")).toBe("precious\n");
  });

  it("may itself be a link the user chose", () => {
    const real = join(tmp.dir(), "real");
    mkdirSync(join(real, "sweep"), { recursive: true });
    writeFileSync(join(real, "sweep/c000.log"), "");
    symlinkSync(real, join(tmp.dir(), "runs"));
    expect(() => prepareLabDir(join(tmp.dir(), "runs"))).not.toThrow();
  });

  it("that cannot be created is a sentence, not an internal error", () => {
    const file = tmp.write("a-file", "");
    expect((thrown(() => prepareLabDir(join(file, "runs"))) as Error).message).toBe(`cannot create the lab folder ${file}/runs: a part of the path is a file, not a folder`);
    expect((thrown(() => prepareLabDir(file)) as Error).message).toBe(`cannot create the lab folder ${file}: it exists and is not a folder`);
  });

  // Tests run as root, for whom EACCES does not happen: the mapping is tested on the errors themselves.
  it.each([
    ["EACCES", "permission denied"],
    ["EPERM", "permission denied"],
    ["EROFS", "the file system is read-only"],
    ["ENOSPC", "no space left on the device"],
    ["ENOTDIR", "a part of the path is a file, not a folder"],
  ])("says %s as %j", (code, want) => {
    expect(describeWriteError(Object.assign(new Error(`${code}: mkdir`), { code }))).toBe(want);
  });
});

describe("writes into the lab folder", () => {
  it("never follow a link planted after the scan: configs, logs, journals", () => {
    const { lab, victim, link } = planted();
    expect((thrown(() => writeLabFile(link, "overwritten")) as Error).message).toBe(`${link} is a symbolic link; windtunnel does not write through links in a lab folder: remove it`);
    expect(thrown(() => openForWriting(link, "append"))).toBeInstanceOf(UsageError);
    const journal = join(lab, "trajectory.jsonl");
    symlinkSync(victim, journal);
    expect(thrown(() => new Journal(journal))).toBeInstanceOf(UsageError);
    expect(readFileSync(victim, "utf8")).toBe("precious\n");
  });

  it("refuse a named pipe at once instead of blocking on it", async () => {
    const fifo = join(tmp.dir(), "c000.log");
    await execa("mkfifo", [fifo]);
    expect((thrown(() => writeLabFile(fifo, "x")) as Error).message).toBe(`${fifo} is a named pipe, not a file windtunnel writes: remove it`);
  });

  it("go only into real sub-folders", () => {
    const lab = join(tmp.dir(), "runs");
    mkdirSync(lab);
    const elsewhere = join(tmp.dir(), "elsewhere");
    mkdirSync(elsewhere);
    symlinkSync(elsewhere, join(lab, "sweep"));
    expect((thrown(() => ensureRealDir(join(lab, "sweep"))) as Error).message).toBe(`${lab}/sweep is a symbolic link to ${elsewhere}; windtunnel writes only into real folders inside the lab folder: remove it, or use another --dir`);
    ensureRealDir(join(lab, "curves"));
    expect(existsSync(join(lab, "curves"))).toBe(true);
  });

  it("replace a file whole, leaving no temporary file behind", () => {
    const f = tmp.write("lab.json", "old\n");
    writeFileSync(join(tmp.dir(), ".lab.json.tmp"), "left by a kill");
    replaceLabFile(f, "new\n");
    expect(readFileSync(f, "utf8")).toBe("new\n");
    expect(readdirSync(tmp.dir())).toEqual(["lab.json"]);
  });
});
