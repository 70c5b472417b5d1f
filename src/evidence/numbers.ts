// One grammar for numbers written as text, shared by log lines, results.tsv cells and the cost
// command's environment variables.
import { show } from "./issues.ts";

const DECIMAL = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;
const NON_FINITE: Record<string, number> = {
  nan: Number.NaN, "+nan": Number.NaN, "-nan": Number.NaN,
  inf: Infinity, "+inf": Infinity, infinity: Infinity, "+infinity": Infinity,
  "-inf": -Infinity, "-infinity": -Infinity,
};

/** A number written as text (log lines, TSV cells, environment variables): decimals, exponents, and Python/C's nan/inf spellings. */
export function parseNumberText(s: string): { ok: true; value: number } | { ok: false; message: string } {
  if (DECIMAL.test(s)) {
    const value = Number(s);
    if (!Number.isFinite(value)) return { ok: false, message: `number ${show(s)} overflows a 64-bit float` };
    return { ok: true, value };
  }
  const nf = NON_FINITE[s.toLowerCase()];
  if (nf !== undefined) return { ok: true, value: nf };
  return { ok: false, message: `expected a number, got ${show(s)}` };
}
