// Boxed terminal tables without colour codes (logs and CI summaries stay clean). Imported lazily
// by the commands that draw them: cli-table3 costs a few ms to load, which `gate` never needs.
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

