// autoresearch-style results.tsv: a header row, one experiment per row, statuses such as
// keep/discard/crash, and double-quoted fields that may span lines. Real files written by LLM
// agents contain rows whose quoting is broken (a tool call leaked into a field, the rest of the
// row space-separated); those rows are reported one by one with their line and skipped, every
// good row is read, and the caller decides what the count means.
import { NON_NEGATIVE, type Status, type TrajectoryRow } from "../schemas.ts";
import { configHash } from "../hash.ts";
import { show } from "../issues.ts";
import type { Diagnostics } from "../../common/problems.ts";
import type { LineBatch } from "../lines.ts";
import { parseNumberText } from "../numbers.ts";
import type { TrajectoryOptions } from "./options.ts";

export const TSV_STATUSES: Readonly<Record<string, Status>> = {
  keep: "ok", discard: "ok", baseline: "ok", ok: "ok", success: "ok",
  crash: "crash", preflight_crash: "crash", harness_abort: "crash", error: "crash", failed: "crash", fail: "crash",
  timeout: "timeout", eval_budget_overrun: "timeout", train_budget_overrun: "timeout",
  size_blocked: "blocked", disqualified: "blocked", blocked: "blocked",
};

const ID_COLUMNS = ["exp_id", "id", "commit"];
/** Text columns that describe what was tried: together they identify a candidate. */
const CONFIG_COLUMNS = ["hypothesis", "description", "parent_exp", "baseline_exp"];
// expected_delta is the agent's guess and delta_vs_best is derived: neither is a measurement.
const TEXT_COLUMNS = new Set(["expected_delta", "delta_vs_best", "timestamp", "specialist", "domain", "status", "job_name", "snapshot_path", "notes", ...ID_COLUMNS, ...CONFIG_COLUMNS]);
/** A multi-line quoted field longer than this is treated as an unterminated quote. */
const MAX_RECORD_LINES = 500;
const MAX_RECORD_CHARS = 1 << 20;

export interface TsvInfo {
  columns: string[];
  /** Numeric columns other than val_bpb (accuracy, train_s, …). */
  metricColumns: string[];
}

type Split =
  | { kind: "fields"; fields: string[] }
  | { kind: "open"; at: number }
  | { kind: "broken"; field: number; at: number };

/** RFC 4180 quoting with tabs: a field that starts with `"` runs to the next lone `"`; `""` escapes. */
export function splitTsv(text: string): Split {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    if (text.charCodeAt(i) === 34) {
      const open = i;
      let value = "";
      i++;
      for (;;) {
        const q = text.indexOf('"', i);
        if (q === -1) return { kind: "open", at: open };
        value += text.slice(i, q);
        if (text.charCodeAt(q + 1) === 34) {
          value += '"';
          i = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      fields.push(value);
      if (i === text.length) return { kind: "fields", fields };
      if (text.charCodeAt(i) !== 9) return { kind: "broken", field: fields.length - 1, at: i };
      i++;
    } else {
      const tab = text.indexOf("\t", i);
      if (tab === -1) {
        fields.push(text.slice(i));
        return { kind: "fields", fields };
      }
      fields.push(text.slice(i, tab));
      i = tab + 1;
    }
    if (i === text.length) {
      fields.push("");
      return { kind: "fields", fields };
    }
  }
}

/** Where offset `at` of a record that starts on `first` falls, as "line L, column C". */
function position(text: string, first: number, at: number): { line: number; column: number } {
  let line = first;
  let start = 0;
  for (let nl = text.indexOf("\n"); nl !== -1 && nl < at; nl = text.indexOf("\n", nl + 1)) {
    line++;
    start = nl + 1;
  }
  return { line, column: at - start + 1 };
}

export async function* resultsTsv(batches: AsyncIterable<LineBatch>, diag: Diagnostics, options: TrajectoryOptions, info: TsvInfo): AsyncGenerator<TrajectoryRow[]> {
  const statuses: Record<string, Status> = { ...TSV_STATUSES, ...options.statusMap };
  let header: string[] | undefined;
  let index = new Map<string, number>();
  let idColumn: string | undefined;
  const metricColumns = new Set<string>();
  const seen = new Map<string, number>();
  let pending: { line: number; text: string }[] = [];
  let out: TrajectoryRow[] = [];

  const columnName = (i: number): string => header?.[i] ?? `field ${i + 1}`;

  const onRecord = (first: number, text: string, split: Split & { kind: "fields" | "broken" }): void => {
    if (split.kind === "broken") {
      const where = position(text, first, split.at);
      const what = `closing quote is followed by ${show(text.charAt(split.at))} (line ${where.line}, column ${where.column}) instead of a tab; the row's quoting is broken`;
      if (header === undefined) diag.error(first, "header", what);
      else diag.unreadable(first, columnName(split.field), what);
      return;
    }
    const fields = split.fields;
    if (header === undefined) {
      header = fields.map((f) => f.trim());
      const dupCol = header.find((h, i) => header?.indexOf(h) !== i);
      if (!header.includes("status")) diag.error(first, "header", `no "status" column; expected a results.tsv header such as exp_id<TAB>…<TAB>status<TAB>val_bpb (got ${header.length} column(s): ${header.slice(0, 6).join(", ")})`);
      else if (dupCol !== undefined) diag.error(first, "header", `column ${JSON.stringify(dupCol)} appears twice`);
      index = new Map(header.map((h, i) => [h, i]));
      idColumn = ID_COLUMNS.find((c) => index.has(c));
      info.columns = header;
      return;
    }
    if (!index.has("status")) return; // header already reported as invalid
    if (fields.length === 1 && fields[0] === "") return; // blank line
    if (fields.length !== header.length) {
      diag.unreadable(first, "row", `expected ${header.length} tab-separated fields, found ${fields.length}`);
      return;
    }
    const get = (col: string): string | undefined => {
      const i = index.get(col);
      return i === undefined ? undefined : fields[i];
    };
    const id = idColumn !== undefined ? (get(idColumn) ?? "").trim() : `row-${first}`;
    if (id === "") {
      diag.unreadable(first, idColumn ?? "id", "empty id");
      return;
    }
    const dup = seen.get(id);
    if (dup !== undefined) {
      diag.unreadable(first, idColumn ?? "id", `duplicate id ${JSON.stringify(id)} (first on line ${dup})`);
      return;
    }
    const rawStatus = (get("status") ?? "").trim();
    const status = statuses[rawStatus.toLowerCase()];
    if (status === undefined) {
      diag.unreadable(first, "status", `unknown status ${show(rawStatus)}; known: ${Object.keys(statuses).join(", ")} (map others with --status-map raw=ok|crash|timeout|blocked|pruned)`);
      return;
    }
    let val_bpb: number | null = null;
    const rawVal = (get("val_bpb") ?? "").trim();
    if (rawVal !== "") {
      const v = parseNumberText(rawVal);
      if (!v.ok) {
        diag.unreadable(first, "val_bpb", v.message);
        return;
      }
      if (v.value < 0) {
        // Not a messy row to skip: an impossible measurement that would win the sweep.
        diag.error(first, "val_bpb", `${NON_NEGATIVE}, got ${rawVal}`);
        return;
      }
      val_bpb = v.value;
    }
    const config: Record<string, unknown> = {};
    for (const c of CONFIG_COLUMNS) {
      const v = get(c);
      if (v !== undefined && v.trim() !== "") config[c] = v.trim();
    }
    if (Object.keys(config).length === 0) config["id"] = id;
    const metrics: Record<string, number> = {};
    header.forEach((col, i) => {
      if (col === "val_bpb" || TEXT_COLUMNS.has(col)) return;
      const raw = (fields[i] ?? "").trim();
      if (raw === "") return;
      const v = parseNumberText(raw);
      if (v.ok && Number.isFinite(v.value)) {
        metrics[col] = v.value;
        metricColumns.add(col);
      }
    });
    seen.set(id, first);
    const row: TrajectoryRow = {
      id,
      line: first,
      config,
      configHash: configHash(config, options.identityExclude),
      val_bpb,
      status,
      rawStatus,
      baseline: rawStatus.toLowerCase() === "baseline",
    };
    const wall = metrics["total_s"] ?? metrics["train_s"];
    if (wall !== undefined) row.wall_s = wall;
    if (Object.keys(metrics).length > 0) row.metrics = metrics;
    out.push(row);
  };

  const attempt = (): void => {
    const first = pending[0];
    if (first === undefined) return;
    const text = pending.length === 1 ? first.text : pending.map((p) => p.text).join("\n");
    const split = splitTsv(text);
    if (split.kind === "open") {
      if (pending.length < MAX_RECORD_LINES && text.length < MAX_RECORD_CHARS) return;
      unterminated(split.at);
      return;
    }
    pending = [];
    onRecord(first.line, text, split);
  };

  // Give up on the open quote: report its row and re-read the lines it swallowed as new rows.
  const unterminated = (at?: number): void => {
    const first = pending.shift();
    if (first === undefined) return;
    const col = at !== undefined && at < first.text.length ? `, column ${at + 1}` : "";
    const field = header === undefined ? "header" : "row";
    const message = `unterminated quote (opened on line ${first.line}${col}); the row's quoting is broken`;
    if (header === undefined) diag.error(first.line, field, message);
    else diag.unreadable(first.line, field, message);
    const rest = pending;
    pending = [];
    for (const p of rest) feed(p.line, p.text);
  };

  const feed = (line: number, text: string): void => {
    pending.push({ line, text });
    attempt();
  };

  for await (const batch of batches) {
    for (let i = 0; i < batch.lines.length; i++) {
      const text = batch.lines[i];
      if (text === null || text === undefined) {
        if (pending.length > 0) unterminated();
        continue;
      }
      feed(batch.first + i, text);
    }
    if (out.length > 0) {
      yield out;
      out = [];
    }
  }
  while (pending.length > 0) {
    const split = splitTsv(pending.map((p) => p.text).join("\n"));
    unterminated(split.kind === "open" ? split.at : undefined);
  }
  info.metricColumns = [...metricColumns];
  if (out.length > 0) yield out;
}
