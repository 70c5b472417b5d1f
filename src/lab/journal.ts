// Append-only JSONL files the lab writes (trajectory.jsonl, stress.jsonl): one complete line per
// record, written with a single write() and fsync'd before the run goes on, so a crash or kill -9
// of windtunnel loses at most the candidate in flight. A line cut short by such a kill is removed
// when the file is reopened; everything before it is kept, and so is a whole last record whose
// newline alone is missing.
import { closeSync, constants, fsyncSync, ftruncateSync, openSync, readFileSync, writeSync, existsSync } from "node:fs";
import { dirname } from "node:path";
import { makeDirs } from "../common/files.ts";
import { parseJsonLine } from "../evidence/json.ts";
import { openForWriting, replaceLabFile } from "./lab-dir.ts";

/** What repairTornTail did to a last line that had no newline. */
export type Repair =
  /** It was cut short (a kill in the middle of a write): cut off. */
  | { kind: "cut"; bytes: number; line: number }
  /** It was a whole record that only lacked its newline: kept, and the newline added. */
  | { kind: "completed"; line: number };

/**
 * A whole record: a complete JSON object, which a write cut short can never be (its closing brace
 * is its last character). Whether it is a valid record is the reader's to say, at its line: a
 * whole row with a bad field was once cut as torn, and so lost, instead of refused.
 */
export function isWholeRecord(line: string): boolean {
  const j = parseJsonLine(line);
  return j.ok && j.value !== null && typeof j.value === "object" && !Array.isArray(j.value);
}

/**
 * Fix the last line of an append-only file when it has no newline: a whole record is kept and
 * completed, for its candidate was trained and must not be trained again; anything else is a torn
 * write and is cut off. Undefined when the file ends in a newline.
 */
export function repairTornTail(file: string, isWhole: (line: string) => boolean = isWholeRecord): Repair | undefined {
  if (!existsSync(file)) return undefined;
  const fd = openSync(file, constants.O_RDWR | constants.O_NOFOLLOW);
  try {
    const buf = readFileSync(fd);
    if (buf.length === 0 || buf[buf.length - 1] === 0x0a) return undefined;
    const keep = buf.lastIndexOf(0x0a) + 1;
    let line = 1;
    for (let i = 0; i < keep; i++) if (buf[i] === 0x0a) line++;
    if (isWhole(buf.subarray(keep).toString("utf8"))) {
      writeSync(fd, "\n", buf.length);
      fsyncSync(fd);
      return { kind: "completed", line };
    }
    ftruncateSync(fd, keep);
    fsyncSync(fd);
    return { kind: "cut", bytes: buf.length - keep, line };
  } finally {
    closeSync(fd);
  }
}

/** What a repair did, for the resume note. */
export function describeRepair(r: Repair): string {
  return r.kind === "cut" ? `removed a torn last line (line ${r.line}, ${r.bytes} bytes) left by an interrupted run` : `kept the last record (line ${r.line}), which was whole but for its newline, and added the newline`;
}

/**
 * Take the lines `drop` picks out of an append-only file, rewriting it whole (temporary file,
 * fsync, rename: a crash leaves either the old file or the new one, never half of each). Every
 * other line is kept byte for byte. Returns the lines taken out.
 */
export function dropLines(file: string, drop: (line: string) => boolean): string[] {
  if (!existsSync(file)) return [];
  const lines = readFileSync(file, "utf8").split("\n");
  const tail = lines.pop(); // "" after the last newline (a torn tail is repaired before)
  const dropped = lines.filter((l) => l.trim() !== "" && drop(l));
  if (dropped.length === 0) return [];
  const kept = lines.filter((l) => l.trim() === "" || !drop(l));
  replaceLabFile(file, `${kept.map((l) => `${l}\n`).join("")}${tail ?? ""}`);
  return dropped;
}

export class Journal {
  readonly file: string;
  private fd: number;

  constructor(file: string) {
    this.file = file;
    makeDirs(dirname(file));
    this.fd = openForWriting(file, "append");
  }

  append(record: unknown): void {
    writeSync(this.fd, `${jsonLine(record)}\n`);
    fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

// JSON.stringify writes NaN as null; the readers take Python's NaN/Infinity tokens, so write those.
const NON_FINITE = "\u0000nonfinite:";
function nonFinite(_key: string, v: unknown): unknown {
  return typeof v === "number" && !Number.isFinite(v) ? `${NON_FINITE}${String(v)}` : v;
}

/** JSON with NaN/Infinity as bare tokens (what Python's json.dumps writes and our readers accept). */
export function jsonLine(record: unknown): string {
  return JSON.stringify(record, nonFinite).replace(/"\\u0000nonfinite:(NaN|Infinity|-Infinity)"/g, "$1");
}
