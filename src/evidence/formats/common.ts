// Small pieces every adapter shares: step ordering, JSON-object lines and the number syntax of logs.
import type { Diagnostics } from "../../common/problems.ts";
import type { LineBatch } from "../lines.ts";
import type * as z from "zod/mini";
import { JsonLineParser, overflow } from "../json.ts";
import { firstIssue, show } from "../issues.ts";

/** Steps must strictly increase within one series (a tag, or a log's train/val stream). */
export class StepOrder {
  private readonly last = new Map<string, { step: number; line: number }>();

  /** Returns why `step` is out of order, or undefined. */
  check(key: string, step: number, line: number): string | undefined {
    const prev = this.last.get(key);
    if (prev === undefined) {
      this.last.set(key, { step, line });
      return undefined;
    }
    const ok = step > prev.step;
    const why = ok
      ? undefined
      : step === prev.step
        ? `duplicate step ${step}${key ? ` in series "${key}"` : ""} (also on line ${prev.line})`
        : `step ${step} goes backwards${key ? ` in series "${key}"` : ""} (line ${prev.line} had step ${prev.step}); steps must increase`;
    prev.step = step; // updated in place: one allocation per series, not per point
    prev.line = line;
    return why;
  }
}

/**
 * JSON lines as objects through `each`, which returns a row or undefined (having reported why).
 * Blank lines are skipped; syntax errors are reported with their line. `json.nonFiniteTokens`
 * tells `each` whether the current line used NaN/Infinity tokens. The returned function keeps its
 * state between batches, so a file followed while it grows reads exactly like one read at once.
 */
export function jsonlMapper<T>(diag: Diagnostics, each: (obj: Record<string, unknown>, line: number, json: JsonLineParser) => T | undefined): (batch: LineBatch) => T[] {
  const json = new JsonLineParser();
  return (batch) => {
    const out: T[] = [];
    const n = batch.lines.length;
    for (let i = 0; i < n; i++) {
      const line = batch.first + i;
      const obj = objectLine(json, batch.lines[i] ?? null, line, batch, i === n - 1, diag);
      if (obj === undefined) continue;
      const row = each(obj, line, json);
      if (row !== undefined) out.push(row);
    }
    return out;
  };
}

/** Stream JSON lines through `each` (see jsonlMapper), one array per batch that produced rows. */
export function mapJsonl<T>(batches: AsyncIterable<LineBatch>, diag: Diagnostics, each: (obj: Record<string, unknown>, line: number, json: JsonLineParser) => T | undefined): AsyncGenerator<T[]> {
  return mapBatches(batches, jsonlMapper(diag, each));
}

/** Apply a batch mapper to a stream, yielding only the batches that produced something. */
export async function* mapBatches<T>(batches: AsyncIterable<LineBatch>, map: (batch: LineBatch) => T[]): AsyncGenerator<T[]> {
  for await (const batch of batches) {
    const out = map(batch);
    if (out.length > 0) yield out;
  }
}

/** One JSONL line as an object, or undefined for blank and bad lines (bad ones reported). */
function objectLine(json: JsonLineParser, text: string | null, line: number, batch: LineBatch, isLast: boolean, diag: Diagnostics): Record<string, unknown> | undefined {
  if (text === null || text.length === 0 || (text.charCodeAt(0) <= 32 && text.trim() === "")) return undefined;
  if (!json.parse(text)) {
    const torn = isLast && batch.unterminatedLast ? "last line has no newline and is cut short (was the writer killed?); " : "";
    diag.error(line, json.field, torn + json.message);
    return undefined;
  }
  const v = json.value;
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    diag.error(line, "row", `expected a JSON object, got ${show(v)}`);
    return undefined;
  }
  return v as Record<string, unknown>;
}

/**
 * JSON.parse turns an overflowing literal such as 1e999 into Infinity; when the line used no
 * Infinity token, an infinite value can only have come from such an overflow.
 */
function overflowedKey(obj: Record<string, unknown>, keys: readonly string[], nonFiniteTokens: boolean): string | undefined {
  if (nonFiniteTokens) return undefined;
  for (const k of keys) {
    const v = obj[k];
    if (v === Infinity || v === -Infinity) return k;
  }
  return undefined;
}

/**
 * Validate one parsed JSON line against its schema. Reports the first issue (or a number that
 * overflowed among `numericKeys`) with line and field and returns undefined; else the data.
 */
export function validRecord<S extends z.ZodMiniType<Record<string, unknown>>>(schema: S, obj: Record<string, unknown>, numericKeys: readonly string[], json: JsonLineParser, line: number, diag: Diagnostics): z.output<S> | undefined {
  const r = schema.safeParse(obj);
  if (!r.success) {
    const { field, message } = firstIssue(r.error, obj);
    diag.error(line, field, message);
    return undefined;
  }
  const bad = overflowedKey(r.data as Record<string, unknown>, numericKeys, json.nonFiniteTokens);
  if (bad !== undefined) {
    const o = overflow(bad);
    if (!o.ok) diag.error(line, o.field, o.message);
    return undefined;
  }
  return r.data;
}
