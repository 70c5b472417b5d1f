// The few statistics the gates need, pure and small.

export function mean(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
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
 * Dollars with thousands separators: $5,376 or $729.14. Done by hand because the first
 * toLocaleString call initialises ICU, ~10 ms of a gate run that must start almost as fast as node.
 */
export function usd(x: number): string {
  const cents = Math.round(Math.abs(x) * 100);
  const whole = Math.floor(cents / 100).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const frac = cents % 100 === 0 ? "" : `.${String(cents % 100).padStart(2, "0")}`;
  return `${x < 0 ? "-" : ""}$${whole}${frac}`;
}

/** A number for people: 4 significant digits, no exponent for ordinary magnitudes. */
export function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (x !== 0 && (Math.abs(x) < 1e-3 || Math.abs(x) >= 1e6)) return x.toExponential(2);
  return String(Number(x.toPrecision(4)));
}
