// Entry points for evidence: detect a file's format (or take --format), stream it through the
// right adapter, and hand back rows plus the diagnostics gathered on the way.
import { closeSync, readSync } from "node:fs";
import { createHash } from "node:crypto";
import { Diagnostics } from "../common/problems.ts";
import { assertNever, InputError } from "../common/errors.ts";
import { DEFAULT_MAX_LINE_CHARS, readLines, type LineOptions } from "./lines.ts";
import { describeFileError, openRegularFile } from "../common/files.ts";
import { parseJsonLine } from "./json.ts";
import type { MetricPoint, TrajectoryRow } from "./schemas.ts";
import { metricsJsonl } from "./formats/metrics.ts";
import { trajectoryJsonl } from "./formats/trajectory.ts";
import { agentLoopJsonl, type AgentLoopInfo } from "./formats/agent-loop.ts";
import { resultsTsv, type TsvInfo } from "./formats/results-tsv.ts";
import { LOG_PRESETS, logLines, logPattern, type LogInfo, type LogPattern } from "./formats/log.ts";
import type { TrajectoryOptions } from "./formats/options.ts";

import { FORMATS, TRAJECTORY_FORMATS, type EvidenceFormat, type MetricsFormat, type TrajectoryFormat } from "./names.ts";

export { FORMATS, TRAJECTORY_FORMATS, type EvidenceFormat, type MetricsFormat, type TrajectoryFormat };

export interface ReadOptions extends TrajectoryOptions, LineOptions {
  /** Skip detection. */
  format?: EvidenceFormat;
  /** What detectFormat already found for this file (so it is not sniffed twice). */
  detected?: Detected;
  /** For `log`: a preset name or a regex with named groups (step, loss, val_loss, …). */
  logPreset?: string;
  logRegex?: string;
}

export interface Detected {
  format: EvidenceFormat;
  /** For logs: the pattern that matched. */
  log?: LogPattern;
}

const SNIFF_BYTES = 64 * 1024;
const SNIFF_LINES = 200;
/** A first line longer than the sniff window is read on, up to the readers' own line limit. */
const SNIFF_MAX_BYTES = DEFAULT_MAX_LINE_CHARS * 4;

/** Decide the format from the first lines; throws InputError when nothing fits. */
export async function detectFormat(file: string, options: Pick<ReadOptions, "logPreset" | "logRegex"> = {}): Promise<Detected> {
  const bytes = readHead(file);
  const notText = notUtf8Text(bytes);
  if (notText) throw InputError.at(file, notText.line, "encoding", notText.message);
  const head = new TextDecoder("utf-8").decode(bytes);
  const lines = head.split(/\r?\n/).slice(0, SNIFF_LINES);
  const firstIdx = lines.findIndex((l) => l.trim() !== "");
  const first = lines[firstIdx];
  if (first === undefined) throw InputError.at(file, 1, "file", "is empty; expected evidence (trajectory JSONL, results.tsv, metrics JSONL or a training log)");
  // --log-* names how the curves' logs read; a trajectory given beside them is still read as one.
  const logs = options.logPreset !== undefined || options.logRegex !== undefined;
  if (logs && !isTrajectoryHead(first)) return { format: "log", log: patternOf(options) };
  if (/^\s*[[{]\s*$/.test(first)) throw InputError.at(file, firstIdx + 1, "format", "a JSON document spread over lines (pretty-printed), not one JSON object per line: a config, verdict or envelope file? Evidence is JSON lines, a results.tsv or a training log");
  if (first.trimStart().startsWith("{")) {
    const parsed = parseJsonLine(first);
    // A first line that does not parse (cut short by the sniff window, or broken) is judged by the
    // keys it shows, so the reader can then report the real problem with its line and field.
    const keys = parsed.ok ? (parsed.value !== null && typeof parsed.value === "object" ? Object.keys(parsed.value) : []) : keysIn(first);
    const has = (k: string): boolean => keys.includes(k);
    if (has("_meta") || (has("iter") && has("candidate_cfg"))) return { format: "agent-loop" };
    if (has("step")) return { format: "metrics" };
    if (has("status") && (has("config") || has("id"))) return { format: "trajectory" };
    if (!parsed.ok) throw InputError.at(file, firstIdx + 1, parsed.field, parsed.message);
    throw InputError.at(file, firstIdx + 1, "format", "a JSON line, but not one of ours: metrics lines have step and loss, trajectory rows have id, config and status, agent-loop logs start with _meta; pass --format to say which");
  }
  if (first.includes("\t")) return { format: "results-tsv" };
  for (const name of Object.keys(LOG_PRESETS)) {
    const pattern = logPattern({ preset: name });
    if (lines.some((l) => pattern.regex.test(l))) return { format: "log", log: pattern };
  }
  throw InputError.at(file, firstIdx + 1, "format", `cannot tell the format from ${JSON.stringify(first.slice(0, 60))}; pass --format (${FORMATS.join(", ")}) or --log-regex`);
}

/** Whether a first line opens one of the trajectory formats (so log options do not apply to it). */
function isTrajectoryHead(first: string): boolean {
  if (first.includes("\t") && /(^|\t)status(\t|$)/.test(first)) return true;
  if (!first.trimStart().startsWith("{")) return false;
  const parsed = parseJsonLine(first);
  const keys = parsed.ok ? (parsed.value !== null && typeof parsed.value === "object" ? Object.keys(parsed.value) : []) : keysIn(first);
  return keys.includes("_meta") || (keys.includes("iter") && keys.includes("candidate_cfg")) || (!keys.includes("step") && keys.includes("status") && (keys.includes("config") || keys.includes("id")));
}

/** Top-level-looking keys of a JSON object prefix (good enough to pick a format). */
function keysIn(prefix: string): string[] {
  return [...prefix.matchAll(/"([A-Za-z_][A-Za-z0-9_]*)"\s*:/g)].map((m) => m[1] ?? "");
}

function patternOf(options: Pick<ReadOptions, "logPreset" | "logRegex">): LogPattern {
  return logPattern({ ...(options.logPreset !== undefined ? { preset: options.logPreset } : {}), ...(options.logRegex !== undefined ? { regex: options.logRegex } : {}) });
}

/**
 * Why the start of a file is not UTF-8 text, at its line: a UTF-16 byte-order mark (Windows
 * tools write it), a NUL byte (binary data), or an invalid byte sequence. Echoing such bytes back
 * as "cannot tell the format from …" printed garbage.
 */
function notUtf8Text(bytes: Buffer): { line: number; message: string } | undefined {
  if ((bytes[0] === 0xff && bytes[1] === 0xfe && bytes[2] === 0 && bytes[3] === 0) || (bytes[0] === 0 && bytes[1] === 0 && bytes[2] === 0xfe && bytes[3] === 0xff)) return { line: 1, message: "UTF-32 text (a UTF-32 byte-order mark); save the file as UTF-8" };
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) return { line: 1, message: "UTF-16 text (byte-order mark FF FE / FE FF); save the file as UTF-8" };
  const lineAt = (at: number): number => {
    let n = 1;
    for (let i = bytes.indexOf(10); i !== -1 && i < at; i = bytes.indexOf(10, i + 1)) n++;
    return n;
  };
  const nul = bytes.indexOf(0);
  if (nul !== -1) return { line: lineAt(nul), message: `binary data (a NUL byte at byte ${nul + 1}); expected UTF-8 text (a UTF-16 file without a byte-order mark looks like this too)` };
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes, { stream: true });
  } catch {
    const bad = new TextDecoder("utf-8").decode(bytes).indexOf("\uFFFD");
    const prefix = new TextDecoder("utf-8").decode(bytes).slice(0, Math.max(0, bad));
    return { line: (prefix.match(/\n/g)?.length ?? 0) + 1, message: "invalid UTF-8 byte sequence; expected UTF-8 text" };
  }
  return undefined;
}

/** The first SNIFF_BYTES of a file, and on to the end of its first line when that is longer. */
function readHead(file: string): Buffer {
  let fd: number | undefined;
  try {
    fd = openRegularFile(file);
    let buf = Buffer.alloc(SNIFF_BYTES);
    let bytesRead = readSync(fd, buf, 0, SNIFF_BYTES, 0);
    // A first line cut by the window was misreported as "line ends early (truncated line?)".
    while (bytesRead === buf.length && buf.indexOf(10) === -1 && buf.length < SNIFF_MAX_BYTES) {
      const bigger = Buffer.alloc(buf.length * 4);
      buf.copy(bigger);
      buf = bigger;
      bytesRead += readSync(fd, buf, bytesRead, buf.length - bytesRead, bytesRead);
    }
    return buf.subarray(0, bytesRead);
  } catch (err) {
    throw InputError.at(file, 0, "file", describeFileError(err), { cause: err });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}


export interface TrajectoryRead {
  format: TrajectoryFormat;
  diag: Diagnostics;
  rows: AsyncGenerator<TrajectoryRow[]>;
  agentLoop?: AgentLoopInfo;
  tsv?: TsvInfo;
}

export interface MetricsRead {
  format: MetricsFormat;
  diag: Diagnostics;
  points: AsyncGenerator<MetricPoint[]>;
  log?: LogInfo;
}

export type EvidenceRead = ({ kind: "trajectory" } & TrajectoryRead) | ({ kind: "metrics" } & MetricsRead);

/** Open any evidence file; stream `rows`/`points`, then read `diag` once the stream is done. */
export async function openEvidence(file: string, options: ReadOptions = {}): Promise<EvidenceRead> {
  const detected: Detected = options.detected ?? (options.format !== undefined ? { format: options.format } : await detectFormat(file, options));
  const diag = new Diagnostics(file);
  const lines = readLines(file, diag, options);
  switch (detected.format) {
    case "trajectory":
      return { kind: "trajectory", format: "trajectory", diag, rows: trajectoryJsonl(lines, diag, options) };
    case "agent-loop": {
      const agentLoop: AgentLoopInfo = { decisions: {} };
      return { kind: "trajectory", format: "agent-loop", diag, agentLoop, rows: agentLoopJsonl(lines, diag, options, agentLoop) };
    }
    case "results-tsv": {
      const tsv: TsvInfo = { columns: [], metricColumns: [] };
      return { kind: "trajectory", format: "results-tsv", diag, tsv, rows: resultsTsv(lines, diag, options, tsv) };
    }
    case "metrics":
      return { kind: "metrics", format: "metrics", diag, points: metricsJsonl(lines, diag) };
    case "log": {
      const log: LogInfo = { pattern: "", ignoredLines: 0 };
      const pattern = detected.log ?? patternOf(options);
      return { kind: "metrics", format: "log", diag, log, points: logLines(lines, diag, pattern, log) };
    }
    default:
      return assertNever(detected.format);
  }
}


export interface TrajectoryFile {
  rows: TrajectoryRow[];
  /** Rows that could not be read (they count as failed attempts). */
  unreadable: number;
  /** sha256 of the bytes read, taken in passing. */
  sha256: string;
}

/** A whole trajectory in memory (a sweep is at most thousands of rows); errors throw, unreadable rows are counted. */
export async function readTrajectoryFile(file: string, options: ReadOptions = {}): Promise<TrajectoryFile> {
  const hash = createHash("sha256");
  const ev = await openEvidence(file, { ...options, hash });
  if (ev.kind !== "trajectory") throw InputError.at(file, 1, "format", `expected a Phase 1 trajectory, found ${ev.format} data`);
  const rows: TrajectoryRow[] = [];
  for await (const b of ev.rows) for (const r of b) rows.push(r);
  if (!ev.diag.ok) throw new InputError(ev.diag.problems.filter((p) => p.kind === "error"));
  return { rows, unreadable: ev.diag.unreadableCount, sha256: hash.digest("hex") };
}
