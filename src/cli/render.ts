// Number and word formatting for terminal output (the boxed tables live in tables.ts).
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
