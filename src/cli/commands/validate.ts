// `windtunnel validate <file>…`: a summary per file, or precise errors; exit 0 valid, 2 invalid.
import { validateFile, type FileReport } from "../../evidence/validate.ts";
import { formatProblem } from "../../common/problems.ts";
import type { ReadOptions } from "../../evidence/read.ts";
import { counts, num } from "../render.ts";
import type { Io } from "../io.ts";

export interface ValidateFlags extends ReadOptions {
  json?: boolean;
  strict?: boolean;
}

/** How many unreadable-row lines to print per file before summarising the rest. */
const SHOW_PROBLEMS = 200;

export async function validateCommand(files: readonly string[], flags: ValidateFlags, io: Io): Promise<number> {
  const reports: FileReport[] = [];
  for (const file of files) reports.push(await validateFile(file, flags));
  if (flags.json) {
    io.out(JSON.stringify(reports, jsonReplacer, 2));
  } else {
    const { keyValueTable } = await import("../tables.ts");
    for (const r of reports) renderReport(r, io, keyValueTable);
    const bad = reports.filter((r) => !r.valid).length;
    if (reports.length > 1) io.out(`${reports.length - bad} of ${reports.length} files valid`);
  }
  return reports.every((r) => r.valid) ? 0 : 2;
}

/** JSON has no NaN/Infinity: write them as strings rather than null so nothing is lost. */
function jsonReplacer(_key: string, v: unknown): unknown {
  return typeof v === "number" && !Number.isFinite(v) ? String(v) : v;
}

function renderReport(r: FileReport, io: Io, keyValueTable: (rows: readonly (readonly [string, string])[]) => string): void {
  const shown = r.problems.slice(0, SHOW_PROBLEMS);
  for (const p of shown) (p.kind === "error" ? io.err : io.out)(formatProblem(p));
  const hidden = r.problems.length - shown.length + r.moreProblems;
  if (hidden > 0) io.err(`${r.file}: … and ${hidden} more problem(s)`);
  if (!r.valid || !r.summary) {
    io.err(`✗ ${r.file}: invalid (${r.errors} error${r.errors === 1 ? "" : "s"}${r.unreadable ? `, ${r.unreadable} unreadable row(s)` : ""})`);
    return;
  }
  io.out(`✓ ${r.file}  [${r.format}${r.log ? `: ${r.log.pattern}` : ""}]`);
  io.out(keyValueTable(summaryRows(r)));
}

function summaryRows(r: FileReport): [string, string][] {
  const s = r.summary;
  if (!s) return [];
  const rows: [string, string][] = [];
  if (s.kind === "trajectory") {
    const baselines = s.baselines;
    const pruned = s.statuses.pruned;
    rows.push(["rows", `${s.rows - pruned} evaluated${baselines ? ` (${baselines} of the baseline)` : ""}${pruned > 0 ? `, ${pruned} pruned early` : ""}`]);
    rows.push(["distinct configs", `${s.distinctConfigs} (${s.repeats} repeat evaluation${s.repeats === 1 ? "" : "s"} of an earlier config)`]);
    rows.push(["statuses", counts(s.statuses)]);
    rows.push(["as written", counts(s.rawStatuses)]);
    if (r.agentLoop && Object.keys(r.agentLoop.decisions).length > 0) rows.push(["agent decisions", counts(r.agentLoop.decisions)]);
    if (s.stepRange) rows.push(["steps per candidate", s.stepRange[0] === s.stepRange[1] ? `${s.stepRange[0]}` : `${s.stepRange[0]}–${s.stepRange[1]}`]);
    rows.push(["best val_bpb", s.best ? `${num(s.best.value)} (${s.best.at}, line ${s.best.line})` : "none"]);
    if (s.baselineValBpb !== undefined) rows.push(["baseline val_bpb", num(s.baselineValBpb)]);
    rows.push(["non-finite val_bpb", String(s.nonFinite)]);
    if (s.withoutValue > 0) rows.push(["rows without val_bpb", String(s.withoutValue)]);
    if (r.tsv && r.tsv.metricColumns.length > 0 && !r.tsv.columns.includes("val_bpb")) rows.push(["ranks by", `no val_bpb column; numeric columns: ${r.tsv.metricColumns.join(", ")}`]);
    if (r.agentLoop?.summary) {
      const sm = r.agentLoop.summary;
      const iterations = s.rows - baselines;
      const checks = [`${sm.stage} (line ${sm.line})`];
      if (sm.itersRequested !== undefined) checks.push(`iters_requested ${sm.itersRequested}${sm.itersRequested === iterations ? " ✓" : ` ≠ ${iterations} iterations read`}`);
      if (sm.acceptCount !== undefined) {
        const keeps = r.agentLoop.decisions["keep"] ?? 0;
        checks.push(`accept_count ${sm.acceptCount}${sm.acceptCount === keeps ? " ✓" : ` ≠ ${keeps} keep decisions`}`);
      }
      rows.push(["loop summary", checks.join(" · ")]);
    }
  } else {
    rows.push(["points", `${s.points}${seriesNote(s.series)}`]);
    if (s.stepRange) rows.push(["steps", `${s.stepRange[0]}–${s.stepRange[1]}`]);
    if (s.tags.length > 0) rows.push(["tags", s.tags.join(", ")]);
    for (const [k, b] of Object.entries(s.best)) rows.push([`best ${k}`, `${num(b.value)} at step ${b.at} (line ${b.line})`]);
    for (const [k, v] of Object.entries(s.last)) rows.push([`last ${k}`, num(v)]);
    rows.push(["non-finite points", s.firstNonFinite ? `${s.nonFinite} (first at step ${s.firstNonFinite.step}, line ${s.firstNonFinite.line})` : "0"]);
    if (r.log) rows.push(["ignored lines", `${r.log.ignoredLines} (no match for the ${r.log.pattern} pattern)`]);
  }
  rows.push(["unreadable rows", r.unreadable === 0 ? "0" : `${r.unreadable} (lines ${abbreviate(r.unreadableLines)})`]);
  return rows;
}

function seriesNote(series: Readonly<Record<string, number>>): string {
  const parts = Object.entries(series).filter(([, n]) => n > 0);
  return parts.length > 0 ? ` (${parts.map(([k, n]) => `${k} ${n}`).join(", ")})` : "";
}

function abbreviate(lines: readonly number[], max = 12): string {
  return lines.length <= max ? lines.join(", ") : `${lines.slice(0, max).join(", ")}, … ${lines.length - max} more`;
}
