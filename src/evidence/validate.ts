// One file in, one verdict out: stream it through its reader, fold a summary, keep the problems.
// Shared by `windtunnel validate` and the demo; gates count the same unreadable rows later.
import { openEvidence, type EvidenceFormat, type ReadOptions } from "./read.ts";
import { InputError } from "../common/errors.ts";
import type { Problem } from "../common/problems.ts";
import { MetricsFold, TrajectoryFold, type MetricsSummary, type TrajectorySummary } from "./summary.ts";
import type { AgentLoopInfo } from "./formats/agent-loop.ts";
import type { TsvInfo } from "./formats/results-tsv.ts";
import type { LogInfo } from "./formats/log.ts";

export interface FileReport {
  file: string;
  format?: EvidenceFormat;
  /** False when any error was found (or, with `strict`, any unreadable row). */
  valid: boolean;
  summary?: TrajectorySummary | MetricsSummary;
  errors: number;
  unreadable: number;
  unreadableLines: number[];
  /** The first problems in full (errors and unreadable rows), in file order. */
  problems: Problem[];
  /** Problems counted but not kept in `problems`. */
  moreProblems: number;
  agentLoop?: AgentLoopInfo;
  tsv?: TsvInfo;
  log?: LogInfo;
}

export async function validateFile(file: string, options: ReadOptions & { strict?: boolean } = {}): Promise<FileReport> {
  let ev;
  try {
    ev = await openEvidence(file, options);
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    return { file, valid: false, errors: 1, unreadable: 0, unreadableLines: [], problems: [...err.problems], moreProblems: 0 };
  }
  let summary: TrajectorySummary | MetricsSummary;
  if (ev.kind === "trajectory") {
    const fold = new TrajectoryFold();
    for await (const batch of ev.rows) fold.add(batch);
    summary = fold.result();
  } else {
    const fold = new MetricsFold();
    for await (const batch of ev.points) fold.add(batch);
    summary = fold.result();
  }
  const d = ev.diag;
  const found = summary.kind === "trajectory" ? summary.rows : summary.points;
  if (d.errorCount === 0 && found === 0) {
    const what = summary.kind === "trajectory" ? "no candidate rows" : "no metric points";
    d.error(1, "file", d.unreadableCount > 0 ? `${what} could be read (${d.unreadableCount} unreadable)` : `${what}; the file holds no evidence`);
  }
  const problems = [...d.problems].sort((a, b) => a.line - b.line);
  return {
    file,
    format: ev.format,
    valid: d.ok && !(options.strict && d.unreadableCount > 0),
    summary,
    errors: d.errorCount,
    unreadable: d.unreadableCount,
    unreadableLines: d.unreadableLines,
    problems,
    moreProblems: d.dropped,
    ...(ev.kind === "trajectory" && ev.agentLoop ? { agentLoop: ev.agentLoop } : {}),
    ...(ev.kind === "trajectory" && ev.tsv ? { tsv: ev.tsv } : {}),
    ...(ev.kind === "metrics" && ev.log ? { log: ev.log } : {}),
  };
}
