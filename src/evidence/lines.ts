// Streams a text file as numbered lines with bounded memory: a single line can never grow past
// `maxLineChars` (a 5 GB file without newlines must not take 5 GB), NUL bytes and invalid UTF-8
// stop the read with the line they were on, and BOM/CRLF are accepted because spreadsheet and
// Windows tools write them.
import { closeSync, readSync } from "node:fs";
import type { Hash } from "node:crypto";
import { describeFileError, openRegularFile } from "../common/files.ts";
import type { Diagnostics } from "../common/problems.ts";

export interface LineBatch {
  /** Line number (1-based) of `lines[0]`; the rest follow consecutively. */
  first: number;
  /** `null` stands for a line that was too long and was skipped (already reported). */
  lines: (string | null)[];
  /** Set on the batch holding the file's last line when that line has no trailing newline. */
  unterminatedLast?: boolean;
}

export interface LineOptions {
  /** @default 1 MiB of characters */
  maxLineChars?: number;
  /**
   * Read size. Small enough that a batch of lines dies young (1 MiB batches of ~10K points
   * outlived scavenges and grew the heap with file size), large enough that async hops are rare.
   * @default 64 KiB
   */
  chunkBytes?: number;
  /** Fed every byte read, so a verdict can bind to the file without reading it twice. */
  hash?: Hash;
}

export const DEFAULT_MAX_LINE_CHARS = 1 << 20;

export async function* readLines(file: string, diag: Diagnostics, options: LineOptions = {}): AsyncGenerator<LineBatch> {
  const maxLine = options.maxLineChars ?? DEFAULT_MAX_LINE_CHARS;
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let carry = "";
  let lineNo = 1;
  let skipping = false;

  const overlong = (): void => {
    diag.error(lineNo, "line", `line is longer than ${formatChars(maxLine)}; not a line-oriented text file?`);
  };

  // Blocking reads of one chunk at a time: a CLI has nothing to do meanwhile, and a round trip
  // through libuv's thread pool per chunk (or a stream) cost more than the reading itself.
  let fd: number | undefined;
  try {
    fd = openRegularFile(file);
    const buffer = Buffer.allocUnsafe(options.chunkBytes ?? 64 * 1024);
    for (;;) {
      const bytesRead = readSync(fd, buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      const chunk = buffer.subarray(0, bytesRead);
      options.hash?.update(chunk);
      const nul = chunk.indexOf(0);
      if (nul !== -1) {
        diag.error(lineNo + countNewlines(chunk, nul), "encoding", "binary data (NUL byte); expected UTF-8 text");
        return;
      }
      let text: string;
      try {
        text = decoder.decode(chunk, { stream: true });
      } catch {
        diag.error(lineNo + newlinesBeforeInvalidUtf8(chunk), "encoding", "invalid UTF-8 byte sequence; expected UTF-8 text");
        return;
      }
      const first = lineNo;
      const lines: (string | null)[] = [];
      let pos = 0;
      for (;;) {
        const nl = text.indexOf("\n", pos);
        if (nl === -1) {
          if (!skipping) {
            carry += text.slice(pos);
            if (carry.length > maxLine) {
              overlong();
              skipping = true;
              carry = "";
            }
          }
          break;
        }
        if (skipping) {
          lines.push(null);
          skipping = false;
        } else {
          const line = carry.length > 0 ? carry + text.slice(pos, nl) : text.slice(pos, nl);
          carry = "";
          if (line.length > maxLine) {
            overlong();
            lines.push(null);
          } else {
            lines.push(stripCr(line));
          }
        }
        lineNo++;
        pos = nl + 1;
      }
      if (lines.length > 0) yield { first, lines };
    }
    try {
      carry += decoder.decode();
    } catch {
      diag.error(lineNo, "encoding", "file ends inside a multi-byte UTF-8 character (truncated?)");
      return;
    }
    if (skipping) {
      yield { first: lineNo, lines: [null], unterminatedLast: true };
    } else if (carry.length > 0) {
      yield { first: lineNo, lines: [stripCr(carry)], unterminatedLast: true };
    }
  } catch (err) {
    // A file that cannot be opened or read is bad input too (missing, a directory, no permission).
    if (!isFileError(err)) throw err;
    diag.error(0, "file", describeFileError(err));
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function isFileError(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === "string" && (err as NodeJS.ErrnoException).syscall !== undefined;
}

function stripCr(line: string): string {
  return line.charCodeAt(line.length - 1) === 13 ? line.slice(0, -1) : line;
}

function countNewlines(buf: Buffer, end: number): number {
  let n = 0;
  for (let i = buf.indexOf(10); i !== -1 && i < end; i = buf.indexOf(10, i + 1)) n++;
  return n;
}

function newlinesBeforeInvalidUtf8(buf: Buffer): number {
  const lenient = new TextDecoder("utf-8").decode(buf);
  const bad = lenient.indexOf("\uFFFD");
  let n = 0;
  for (let i = lenient.indexOf("\n"); i !== -1 && i < bad; i = lenient.indexOf("\n", i + 1)) n++;
  return n;
}

function formatChars(n: number): string {
  return n >= 1 << 20 ? `${n / (1 << 20)} Mi characters` : `${n} characters`;
}
