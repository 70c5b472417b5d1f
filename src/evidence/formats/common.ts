// Small pieces every adapter shares: step ordering, JSON-object lines and the number syntax of logs.
import type { Diagnostics } from "../problems.ts";
import type { LineBatch } from "../lines.ts";
import { JsonLineParser, overflow } from "../json.ts";
import { show } from "../issues.ts";

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
 * Parse one JSONL line into an object, reporting syntax errors (with a hint when the file's last
 * line was cut short). Returns undefined for blank and bad lines; `json.nonFiniteTokens` tells
 * whether the line used NaN/Infinity.
 */
export function objectLine(json: JsonLineParser, text: string | null, line: number, batch: LineBatch, isLast: boolean, diag: Diagnostics): Record<string, unknown> | undefined {
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
 * Infinity token, a non-finite value can only have come from such an overflow.
 */
export function overflowedKey(obj: Record<string, unknown>, keys: readonly string[], nonFiniteTokens: boolean): string | undefined {
  if (nonFiniteTokens) return undefined;
  for (const k of keys) {
    const v = obj[k];
    if (typeof v === "number" && !Number.isFinite(v)) return k;
  }
  return undefined;
}

export function reportOverflow(diag: Diagnostics, line: number, key: string): void {
  const o = overflow(key);
  if (!o.ok) diag.error(line, o.field, o.message);
}

const DECIMAL = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;
const NON_FINITE: Record<string, number> = {
  nan: Number.NaN, "+nan": Number.NaN, "-nan": Number.NaN,
  inf: Infinity, "+inf": Infinity, infinity: Infinity, "+infinity": Infinity,
  "-inf": -Infinity, "-infinity": -Infinity,
};

/** A number as training logs print it: decimals, exponents, and Python/C's nan/inf spellings. */
export function parseLogNumber(s: string): { ok: true; value: number } | { ok: false; message: string } {
  if (DECIMAL.test(s)) {
    const value = Number(s);
    if (!Number.isFinite(value)) return { ok: false, message: `number ${show(s)} overflows a 64-bit float` };
    return { ok: true, value };
  }
  const nf = NON_FINITE[s.toLowerCase()];
  if (nf !== undefined) return { ok: true, value: nf };
  return { ok: false, message: `expected a number, got ${show(s)}` };
}
