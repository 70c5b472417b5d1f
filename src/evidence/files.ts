// File I/O the shells share: content hashes that bind verdicts to evidence, and atomic writes so
// an interrupted or failed run never leaves a half-written file where a good one was.
import { createHash } from "node:crypto";
import { closeSync, openSync, readSync } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { UsageError } from "./errors.ts";

/** sha256 of a file's bytes (read in bounded chunks), or null when it cannot be read. */
export async function sha256File(file: string): Promise<string | null> {
  const hash = createHash("sha256");
  let fd: number | undefined;
  try {
    fd = openSync(file, "r");
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
 * Write via a temporary file and rename, so readers see the old content or the new, never half;
 * the parent folder is created. A path that cannot be written is a usage error (exit 2).
 */
export async function writeFileAtomic(file: string, content: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    await mkdir(dirname(file), { recursive: true });
    await writeFile(tmp, content);
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot write ${file}: ${code === "EACCES" ? "permission denied" : code === "EISDIR" ? "is a directory" : code === "ENOTDIR" ? "a parent is not a directory" : (err as Error).message}`, { cause: err });
  }
}
