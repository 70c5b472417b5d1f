// The few statistics the gates need, pure and small (how numbers are written: common/format.ts).

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
  return medianOfSorted([...xs].sort((a, b) => a - b));
}

/** The median of values already in ascending order, without copying them. */
export function medianOfSorted(s: readonly number[]): number {
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
