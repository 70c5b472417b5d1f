// The few statistics the gates need, pure and small.

export function mean(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/**
 * Smallest and largest of a list of any length. Math.min(...xs) passes every element as an
 * argument and overflows the stack from ~130K of them (a long curve, a repeated config).
 */
export function minOf(xs: Iterable<number>): number {
  let m = Infinity;
  for (const x of xs) if (x < m) m = x;
  return m;
}

export function maxOf(xs: Iterable<number>): number {
  let m = -Infinity;
  for (const x of xs) if (x > m) m = x;
  return m;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** Sum of squared deviations from the mean. */
export function sumSquares(xs: readonly number[]): number {
  const m = mean(xs);
  let s = 0;
  for (const x of xs) s += (x - m) ** 2;
  return s;
}

/**
 * `x` with thousands separators and at most `maxDecimals` decimals (at least `minDecimals`):
 * 1,669.3. Done by hand because the first toLocaleString call initialises ICU, ~10 ms of a gate
 * run that must start almost as fast as node.
 */
export function grouped(x: number, maxDecimals: number, minDecimals = 0): string {
  const [int = "0", frac = ""] = Math.abs(x).toFixed(maxDecimals).split(".");
  let decimals = frac.replace(/0+$/, "");
  if (decimals.length < minDecimals) decimals = decimals.padEnd(minDecimals, "0");
  const sign = x < 0 && Number(`${int}.${frac || "0"}`) !== 0 ? "-" : "";
  return `${sign}${int.replace(/\B(?=(\d{3})+(?!\d))/g, ",")}${decimals ? `.${decimals}` : ""}`;
}

/**
 * Dollars: $5,376 or $729.14 (cents only when there are some). With `table`, always two decimals
 * and up to four below a dollar, so columns line up and $0.0008 per candidate stays visible.
 */
export function usd(x: number, table = false): string {
  const body = table ? grouped(x, Math.abs(x) < 1 ? 4 : 2, 2) : grouped(x, 2, Math.round(Math.abs(x) * 100) % 100 === 0 ? 0 : 2);
  return body.startsWith("-") ? `-$${body.slice(1)}` : `$${body}`;
}

/** A number for people: 4 significant digits, no exponent for ordinary magnitudes. */
/** A fraction as a percentage: fixed to `digits` decimals, or to 4 significant digits (fmt) when none are given. */
export function pct(x: number, digits?: number): string {
  return `${digits === undefined ? fmt(x * 100) : (x * 100).toFixed(digits)}%`;
}

export function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (x !== 0 && (Math.abs(x) < 1e-3 || Math.abs(x) >= 1e6)) return x.toExponential(2);
  return String(Number(x.toPrecision(4)));
}
