// File I/O the shells share: content hashes that bind verdicts to evidence, atomic writes so an
// interrupted or failed run never leaves a half-written file where a good one was, and one way
// to open what the user names, which refuses anything but a regular file.
import { createHash } from "node:crypto";
import { closeSync, constants, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, realpathSync, statSync, type Stats } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { InputError, UsageError } from "./errors.ts";

/** Thrown (like an fs error, with `code` and `syscall`) when a path names something other than a regular file. */
export class NotRegularFile extends Error {
  readonly code: string;
  readonly syscall = "open";

  constructor(file: string, kind: string, code = "ENOTREG") {
    super(`${file}: ${kind}`);
    this.code = code;
  }
}

function kindOf(st: Stats): string {
  if (st.isFIFO()) return "is a named pipe (FIFO), expected a regular file";
  if (st.isCharacterDevice()) return "is a character device, expected a regular file";
  if (st.isBlockDevice()) return "is a block device, expected a regular file";
  if (st.isSocket()) return "is a socket, expected a regular file";
  return "is not a regular file";
}

/**
 * Open a file the user named for reading. Anything but a regular file is refused: reading a FIFO
 * blocks until someone writes to it (forever, in CI), and a device never ends. O_NONBLOCK makes
 * the open itself return at once on a FIFO with no writer; on a regular file it changes nothing.
 */
export function openRegularFile(file: string): number {
  const fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  let st: Stats;
  try {
    st = fstatSync(fd);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  if (st.isFile()) return fd;
  closeSync(fd);
  throw st.isDirectory() ? new NotRegularFile(file, "is a directory", "EISDIR") : new NotRegularFile(file, kindOf(st));
}

/** Why a file could not be read, in words (missing, a directory, a FIFO, no permission). */
export function describeFileError(err: unknown): string {
  if (err instanceof NotRegularFile) return err.code === "EISDIR" ? "is a directory, expected a file" : (err.message.split(": ").pop() ?? err.message);
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return "no such file";
  if (code === "EISDIR") return "is a directory, expected a file";
  if (code === "EACCES") return "permission denied";
  if (code === "ENOTDIR") return "a parent of it is not a directory";
  if (code === "ELOOP") return "too many levels of symbolic links";
  if (code === "ENXIO") return "is a socket or a device without a reader, expected a regular file";
  return (err as Error).message;
}

/** Why a folder could not be made or a file written, as the end of a sentence. */
export function describeWriteError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (e.code) {
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "ENOTDIR":
      return "a part of the path is a file, not a folder";
    case "EEXIST":
      return "it exists and is not a folder";
    case "EISDIR":
      return "it is a folder";
    case "EROFS":
      return "the file system is read-only";
    case "ENOSPC":
      return "no space left on the device";
    case "ENAMETOOLONG":
      return "the path is too long";
    case "ENOENT":
      return "the file system does not allow a folder there";
    default:
      return e.message ?? String(err);
  }
}

/** Why a file cannot be read as evidence (missing, a FIFO, a folder…), or undefined when it can. */
export function unreadableReason(file: string): string | undefined {
  try {
    closeSync(openRegularFile(file));
    return undefined;
  } catch (err) {
    return describeFileError(err);
  }
}

/** Configuration files (policies, plans, menus, stacks, verdicts, envelopes) are small; a huge one is a mistake. */
export const MAX_INPUT_FILE_BYTES = 16 << 20;

/**
 * The bytes of a file the user named (a YAML or JSON file of ours), or an InputError naming it:
 * missing, not a regular file, unreadable, or larger than `maxBytes`.
 */
export function readInputFile(file: string, maxBytes = MAX_INPUT_FILE_BYTES): Buffer {
  let fd: number | undefined;
  try {
    fd = openRegularFile(file);
    const size = fstatSync(fd).size;
    if (size > maxBytes) throw InputError.at(file, 0, "file", `is ${(size / (1 << 20)).toFixed(0)} MiB; a windtunnel configuration or verdict file is far smaller (at most ${maxBytes >> 20} MiB)`);
    return readFileSync(fd);
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw InputError.at(file, 0, "file", describeFileError(err), { cause: err });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The text of a file the user named, or an InputError naming it (see readInputFile). */
export function readTextFile(file: string, maxBytes = MAX_INPUT_FILE_BYTES): string {
  return readInputFile(file, maxBytes).toString("utf8");
}

/** sha256 of a file's bytes (read in bounded chunks), or null when it cannot be read. */
export async function sha256File(file: string): Promise<string | null> {
  const hash = createHash("sha256");
  let fd: number | undefined;
  try {
    fd = openRegularFile(file);
    const buffer = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const bytesRead = readSync(fd, buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
    }
  } catch {
    return null;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  return hash.digest("hex");
}

/**
 * Create a folder and the missing ones above it, one at a time. Node's `recursive: true` loops
 * forever where mkdir fails with ENOENT on a parent that exists (under /proc): `lab --dir
 * /proc/1/runs` spun at 100% CPU and ignored SIGTERM. Errors are fs errors (code, path).
 */
export function makeDirs(dir: string): void {
  const missing: string[] = [];
  for (let p = resolve(dir); !existsSync(p); p = dirname(p)) {
    missing.push(p);
    if (dirname(p) === p) break;
  }
  for (const m of missing.reverse()) {
    try {
      mkdirSync(m);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST" && statSync(m).isDirectory()) continue; // made meanwhile
      throw err;
    }
  }
  // What is there already must be a folder (as mkdir -p says of a file in the way).
  if (missing.length === 0 && !statSync(dir).isDirectory()) throw Object.assign(new Error(`EEXIST: file already exists, mkdir '${dir}'`), { code: "EEXIST", path: dir, syscall: "mkdir" });
}

/**
 * Write via a temporary file and rename, so readers see the old content or the new, never half;
 * the parent folder is created. A path that cannot be written is a usage error (exit 2).
 */
export async function writeFileAtomic(file: string, content: string): Promise<void> {
  // Loaded here, not at the top: node:fs/promises brings the stream stack (≈2 ms of every `gate`
  // run, which only writes with --out).
  const { rename, rm, writeFile } = await import("node:fs/promises");
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    makeDirs(dirname(file));
    await writeFile(tmp, content);
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw new UsageError(`cannot write ${file}: ${describeWriteError(err)}`, { cause: err });
  }
}

/** Where a path really is: symbolic links resolved, also for a file that does not exist yet. */
function realLocation(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    try {
      return join(realpathSync(dirname(resolve(file))), basename(file));
    } catch {
      return resolve(file);
    }
  }
}

/** Device and inode of an existing file (a hard link is the same file under another name). */
function identity(file: string): string | undefined {
  try {
    const st = statSync(file);
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}

/**
 * Refuse (exit 2) an output path that is one of the command's inputs, by path, through a link,
 * or as a hard link: `gate --out c.jsonl c.jsonl` silently replaced the evidence it judged.
 * Checked before any work, so nothing is read in vain and nothing is overwritten.
 */
export function assertNotAnInput(flag: string, outputs: readonly string[], inputs: readonly string[]): void {
  const inputsAt = new Map<string, string>();
  const inputIds = new Map<string, string>();
  for (const i of inputs) {
    inputsAt.set(realLocation(i), i);
    const id = identity(i);
    if (id !== undefined) inputIds.set(id, i);
  }
  for (const out of outputs) {
    const id = identity(out);
    const input = inputsAt.get(realLocation(out)) ?? (id !== undefined ? inputIds.get(id) : undefined);
    if (input !== undefined) throw new UsageError(`${flag} ${out}: that is an input of this command (${input}); writing there would replace it. Choose another path`);
  }
}
