// The linear algebra the law fits are made of, small enough to be exact: non-negative least
// squares by trying every active set (the laws have at most three linear coefficients).

/** Exact non-negative least squares for ≤ 3 columns: every active set, the best feasible one. */
export function nnls(rows: readonly number[][], t: readonly number[], p: number): { coef: number[]; rss: number } {
  let best = { coef: new Array<number>(p).fill(0), rss: Infinity };
  for (let mask = 0; mask < 1 << p; mask++) {
    const idx: number[] = [];
    for (let j = 0; j < p; j++) if (mask & (1 << j)) idx.push(j);
    const coef = new Array<number>(p).fill(0);
    if (idx.length > 0) {
      const q = idx.length;
      const M = Array.from({ length: q }, () => new Array<number>(q + 1).fill(0));
      rows.forEach((row, r) => {
        for (let a = 0; a < q; a++) {
          const va = row[idx[a] as number] as number;
          const Ma = M[a] as number[];
          for (let b = 0; b < q; b++) Ma[b] = (Ma[b] as number) + va * (row[idx[b] as number] as number);
          Ma[q] = (Ma[q] as number) + va * (t[r] as number);
        }
      });
      const sol = solve(M, q);
      if (!sol || sol.some((v) => v < 0 || !Number.isFinite(v))) continue;
      idx.forEach((j, a) => (coef[j] = sol[a] as number));
    }
    let rss = 0;
    rows.forEach((row, r) => {
      let f = 0;
      for (let j = 0; j < p; j++) f += (row[j] as number) * (coef[j] as number);
      rss += (f - (t[r] as number)) ** 2;
    });
    if (rss < best.rss) best = { coef, rss };
  }
  return best;
}

/** Gauss–Jordan with partial pivoting on an augmented q × (q + 1) matrix; null when singular. */
function solve(M: number[][], q: number): number[] | null {
  for (let c = 0; c < q; c++) {
    let piv = c;
    for (let r = c + 1; r < q; r++) if (Math.abs((M[r] as number[])[c] as number) > Math.abs((M[piv] as number[])[c] as number)) piv = r;
    if (Math.abs((M[piv] as number[])[c] as number) < 1e-300) return null;
    [M[c], M[piv]] = [M[piv] as number[], M[c] as number[]];
    const Mc = M[c] as number[];
    for (let r = 0; r < q; r++) {
      if (r === c) continue;
      const Mr = M[r] as number[];
      const f = (Mr[c] as number) / (Mc[c] as number);
      for (let k = c; k <= q; k++) Mr[k] = (Mr[k] as number) - f * (Mc[k] as number);
    }
  }
  return Array.from({ length: q }, (_, i) => ((M[i] as number[])[q] as number) / ((M[i] as number[])[i] as number));
}
