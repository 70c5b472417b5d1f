// How windtunnel writes numbers for people, and the one rule by which it rounds the numbers it
// records (gate results, the cost so far): the gates, the CLI, the report and the watchdog all
// use these, so every command writes a number the same way. Pure.

/**
 * `x` to `digits` decimals, an exact tie away from zero (toFixed's rule). cost/round.ts builds
 * Python's round on it, which breaks exact ties to even, for the figures of the seed's arithmetic.
 */
export function round(x: number, digits: number): number {
  return Number(x.toFixed(digits));
}

/**
 * A measured value and its threshold, rounded to `digits` decimals, or to as many more as it takes
 * to keep them on the sides they are on: a deviation of 0.050003 against 0.05 must not be
 * recorded as 0.05 against 0.05 beside a ✗.
 */
export function roundApart(x: number, threshold: number, digits: number): [number, number] {
  for (let d = digits; d <= 15; d++) {
    const a = round(x, d);
    const b = round(threshold, d);
    if (Math.sign(a - b) === Math.sign(x - threshold)) return [a, b];
  }
  return [x, threshold];
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

/** A fraction as a percentage: fixed to `digits` decimals, or to 4 significant digits (fmt) when none are given. */
export function pct(x: number, digits?: number): string {
  return `${digits === undefined ? fmt(x * 100) : (x * 100).toFixed(digits)}%`;
}

/** A number for people: 4 significant digits, no exponent for ordinary magnitudes. */
export function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (x !== 0 && (Math.abs(x) < 1e-3 || Math.abs(x) >= 1e6)) return x.toExponential(2);
  return String(Number(x.toPrecision(4)));
}
