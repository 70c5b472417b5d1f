// The lab folder (--dir) holds only what windtunnel writes there, so anything else in it, a
// symbolic link above all, is someone else's doing: a link at sweep/c000.log would make the next
// run overwrite whatever it points to with a trainer's output. The folder is scanned before a run
// and refused if it holds one, and every file the lab writes is opened with O_NOFOLLOW into
// sub-folders checked with lstat, so a link planted after the scan cannot redirect a write either.
// (--dir itself may be a link: that is the user's choice, made on the command line.)
import { accessSync, closeSync, constants, existsSync, fstatSync, fsyncSync, ftruncateSync, lstatSync, openSync, readdirSync, readlinkSync, renameSync, rmSync, writeSync } from "node:fs";
import { describeWriteError, makeDirs } from "../common/files.ts";
import { basename, dirname, join } from "node:path";
import { UsageError } from "../common/errors.ts";

/** How many offending entries a refusal lists (a folder full of links says so in ten lines). */
const SHOWN = 10;

export interface Intruder {
  path: string;
  what: string;
}

const kindOf = (s: { isFIFO(): boolean; isSocket(): boolean; isBlockDevice(): boolean; isCharacterDevice(): boolean }): string =>
  s.isFIFO() ? "a named pipe" : s.isSocket() ? "a socket" : s.isBlockDevice() || s.isCharacterDevice() ? "a device" : "not a file or folder";

/** Every entry under `dir` that windtunnel would not have written: symbolic links, pipes, sockets, devices. */
export function intrudersIn(dir: string): Intruder[] {
  const found: Intruder[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, e.name);
      if (e.isSymbolicLink()) {
        let target: string;
        try {
          target = readlinkSync(path);
        } catch {
          target = "?";
        }
        found.push({ path, what: `a symbolic link to ${target}` });
      } else if (e.isDirectory()) {
        walk(path);
      } else if (!e.isFile()) {
        found.push({ path, what: kindOf(e) });
      } else {
        // A second name of a file elsewhere: writing it (a log, a config) would change that file.
        const links = lstatSync(path).nlink;
        if (links > 1) found.push({ path, what: `a hard link (the file has ${links} names; one may be outside the folder)` });
      }
    }
  };
  walk(dir);
  return found;
}

/**
 * Create the lab folder if needed and refuse it if it holds anything windtunnel does not write.
 * Runs before anything is written, so a refusal changes nothing.
 */
export function prepareLabDir(dir: string): void {
  try {
    makeDirs(dir);
  } catch (err) {
    throw new UsageError(`cannot create the lab folder ${dir}: ${describeWriteError(err)}`, { cause: err });
  }
  // Writable, and so are the files and folders a resume writes to: else the first write would
  // fail with an internal error halfway (EACCES at the lock, the journal, a candidate's log).
  for (const p of [dir, ...["sweep", "curves", "trajectory.jsonl", "stress.jsonl", "lab.json", ".lab.lock"].map((f) => join(dir, f))]) {
    if (p !== dir && !existsSync(p)) continue;
    try {
      accessSync(p, constants.W_OK | (p === dir ? constants.X_OK : 0));
    } catch (err) {
      throw new UsageError(`cannot write in the lab folder: ${p}: ${describeWriteError(err)}`, { cause: err });
    }
  }
  let intruders: Intruder[];
  try {
    intruders = intrudersIn(dir);
  } catch (err) {
    throw new UsageError(`cannot read the lab folder ${dir}: ${describeWriteError(err)}`, { cause: err });
  }
  if (intruders.length === 0) return;
  const lines = intruders.slice(0, SHOWN).map((i) => `${i.path} is ${i.what}`);
  if (intruders.length > SHOWN) lines.push(`… and ${intruders.length - SHOWN} more`);
  lines.push(`a lab folder holds only files windtunnel writes, and it does not write through links: remove ${intruders.length === 1 ? "it" : "them"}, or use another --dir`);
  throw new UsageError(lines.join("\n"));
}

/** A sub-folder of the lab folder the lab writes into (sweep/, curves/): created, and a real folder, not a link. */
export function ensureRealDir(dir: string): void {
  makeDirs(dir);
  const s = lstatSync(dir);
  if (s.isDirectory()) return;
  let what = "not a folder";
  if (s.isSymbolicLink()) {
    let target = "?";
    try {
      target = readlinkSync(dir);
    } catch {
      // gone meanwhile
    }
    what = `a symbolic link to ${target}`;
  }
  throw new UsageError(`${dir} is ${what}; windtunnel writes only into real folders inside the lab folder: remove it, or use another --dir`);
}

// O_NONBLOCK: a named pipe planted at the path fails to open (ENXIO) instead of blocking the run
// until someone reads it; on a regular file the flag changes nothing.
const NO_FOLLOW = constants.O_NOFOLLOW | constants.O_NONBLOCK;

/**
 * Open a file of the lab folder for writing, never through a symbolic link and only if it is a
 * regular file. `append` keeps what is there (journals); `truncate` starts it empty and then
 * appends (logs, where a trainer's workers share the descriptor; configs); `new` requires that
 * nothing is there yet (temporary files).
 */
export function openForWriting(file: string, how: "append" | "truncate" | "new"): number {
  // Truncated only once it is known to be the lab's own file (O_TRUNC would empty a hard-linked
  // file elsewhere before it could be checked).
  const flags = constants.O_WRONLY | constants.O_CREAT | NO_FOLLOW | (how === "append" || how === "truncate" ? constants.O_APPEND : constants.O_EXCL);
  let fd: number;
  try {
    fd = openSync(file, flags, 0o666);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ELOOP") throw new UsageError(`${file} is a symbolic link; windtunnel does not write through links in a lab folder: remove it`, { cause: err });
    if (code === "ENXIO") throw new UsageError(`${file} is a named pipe, not a file windtunnel writes: remove it`, { cause: err });
    throw err;
  }
  const st = fstatSync(fd);
  if (!st.isFile()) {
    closeSync(fd);
    throw new UsageError(`${file} is not a regular file; windtunnel writes only regular files in a lab folder: remove it`);
  }
  if (st.nlink > 1) {
    closeSync(fd);
    throw new UsageError(`${file} is a hard link (the file has ${st.nlink} names); windtunnel does not write a file that may also live outside the lab folder: remove it`);
  }
  if (how === "truncate") ftruncateSync(fd, 0);
  return fd;
}

/** Write a whole file of the lab folder (a candidate's config, the manifest), never through a link. */
export function writeLabFile(file: string, data: string): void {
  const fd = openForWriting(file, "truncate");
  try {
    writeAll(fd, Buffer.from(data));
  } finally {
    closeSync(fd);
  }
}

/**
 * Replace a file with new contents so that a crash leaves either the old file or the new one:
 * a temporary file beside it, fsync'd, renamed over it, and the folder fsync'd.
 */
export function replaceLabFile(file: string, data: string | Uint8Array): void {
  const tmp = join(dirname(file), `.${basename(file)}.tmp`);
  rmSync(tmp, { force: true }); // left by a kill during an earlier replace
  const fd = openForWriting(tmp, "new");
  try {
    writeAll(fd, typeof data === "string" ? Buffer.from(data) : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  syncDir(dirname(file));
}

function writeAll(fd: number, data: Uint8Array): void {
  for (let at = 0; at < data.length; ) at += writeSync(fd, data, at);
}

function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
    fsyncSync(fd);
  } catch {
    // Not every file system lets a folder be fsync'd; the rename itself is still atomic.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
