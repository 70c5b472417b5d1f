// Terminal rendering helpers: tables without colour codes (logs and CI summaries stay clean).
import Table from "cli-table3";

const PLAIN = { head: [], border: [] };
/** No rule between body rows: long tables stay readable in a terminal and in CI logs. */
const COMPACT = { mid: "", "left-mid": "", "mid-mid": "", "right-mid": "" };

/** A two-column key/value table. */
export function keyValueTable(rows: readonly (readonly [string, string])[]): string {
  const t = new Table({ style: PLAIN, chars: COMPACT, wordWrap: true, colWidths: [24, 76] });
  for (const [k, v] of rows) t.push([k, v]);
  return t.toString();
}

/** A table with a header row. */
export function grid(head: readonly string[], rows: readonly (readonly string[])[], align?: readonly ("left" | "right")[]): string {
  const t = new Table({ head: [...head], style: PLAIN, chars: COMPACT, ...(align ? { colAligns: [...align] } : {}) });
  for (const r of rows) t.push([...r]);
  return t.toString();
}

export function usd(x: number | null): string {
  if (x === null) return "n/a";
  // Sub-dollar amounts keep up to four decimals: $0.0008 per candidate is the point of Phase 1.
  const max = Math.abs(x) < 1 ? 4 : 2;
  return `$${x.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: max })}`;
}

export function num(x: number | null | undefined, digits = 4): string {
  if (x === null || x === undefined) return "n/a";
  if (Number.isNaN(x)) return "NaN";
  if (!Number.isFinite(x)) return x > 0 ? "Infinity" : "-Infinity";
  return Number.isInteger(x) ? x.toLocaleString("en-US") : String(Number(x.toPrecision(digits + 2)));
}

export function ratio(x: number | null): string {
  return x === null ? "n/a" : `${x.toLocaleString("en-US")}×`;
}

export function months(x: number | null): string {
  if (x === null) return "never";
  return x < 0.1 ? "< 0.1 months" : `${x} months`;
}

export function counts(record: Readonly<Record<string, number>>, skipZero = true): string {
  const parts = Object.entries(record)
    .filter(([, n]) => !skipZero || n > 0)
    .map(([k, n]) => `${k} ${n}`);
  return parts.length > 0 ? parts.join(" · ") : "none";
}
