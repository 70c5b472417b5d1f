// Number and word formatting for terminal output (the boxed tables live in tables.ts), built on
// the gate engine's formatters so every command writes numbers the same way.
import { grouped, usd as dollars } from "../common/format.ts";

export function usd(x: number | null): string {
  return x === null ? "n/a" : dollars(x, true);
}

export function num(x: number | null | undefined, digits = 4): string {
  if (x === null || x === undefined) return "n/a";
  if (Number.isNaN(x)) return "NaN";
  if (!Number.isFinite(x)) return x > 0 ? "Infinity" : "-Infinity";
  return Number.isInteger(x) ? grouped(x, 0) : String(Number(x.toPrecision(digits + 2)));
}

export function ratio(x: number | null): string {
  return x === null ? "n/a" : `${grouped(x, 3)}×`;
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
