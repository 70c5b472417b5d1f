// The laws a forecast chooses among, each fitted to a window of points: pure, no I/O. How it
// chooses among them, and how wide its band is, is laws.ts.
//
// Real LLM curves under a decaying learning rate bend down far faster than any power law in steps
// (the 48 GPT-2-small runs of modded-nanogpt track 3 fall 11% between step 1000 and their end), so
// when the learning rate is known (the curve logs `lr`, or the request names the run's schedule)
// the law is that of Tissue et al. 2024, "Scaling Law with Learning Rate Annealing":
//     L(s) = L0 + A·S1(s)^−α − C·S2(s)
// S1 = Σ_{i≤s} η_i (the forward area), S2 = Σ_{i≤s} m_i with m_i = λ·m_{i−1} + max(0, η_{i−1} − η_i)
// (the annealing area), η relative to its peak, λ = 0.999 (the paper's). A rising rate (warmup) is
// not negative annealing, hence the max(0, ·).
//  - α is profiled on a grid; for each α the law is linear in (L0, A, C), solved by exact
//    non-negative least squares, so the floor L0 is never negative.
//  - C cannot be told from a window that saw little annealing yet, so it has a prior: a full
//    anneal lowers the loss by a share ρ of its current value (C0 = ρ·y_last·(1 − λ)), with a
//    prior sd τ of the loss at the end. ρ differs between models (≈ 0.10–0.17 on GPT-2 small,
//    0–0.04 on the tiny reference trainer), so ρ ∈ {0.03, 0.10, 0.15} are three candidates.
// Without a learning rate, the candidates are schedule-free: the saturating power law
// a + b·x^−c with a, b ≥ 0, and a pure power law (a straight line in log-log through the last half
// of the points).
import { nnls } from "./least-squares.ts";

export interface XY {
  x: number;
  y: number;
}

export type Law = "annealing" | "saturating" | "power";

export const LAMBDA = 0.999;
const ALPHAS = Array.from({ length: 29 }, (_, i) => 0.1 + 0.05 * i);
const RHOS = [0.03, 0.1, 0.15];
/** Prior sd of the annealing drop, relative to the loss. */
const TAU = 0.03;
/** Nominal relative noise: the scale of a data row against the prior row. */
const SIGMA_N = 0.005;
const EXPONENTS = Array.from({ length: 40 }, (_, i) => Math.exp(Math.log(0.02) + (i * (Math.log(3) - Math.log(0.02))) / 39));

/** S1 and S2 after s updates, s = 0 … lr.length. */
export function annealAreas(lr: Float64Array, lambda = LAMBDA): { S1: Float64Array; S2: Float64Array } {
  let peak = 0;
  for (const v of lr) peak = Math.max(peak, v);
  const scale = peak > 0 ? peak : 1;
  const S1 = new Float64Array(lr.length + 1);
  const S2 = new Float64Array(lr.length + 1);
  let m = 0;
  for (let i = 0; i < lr.length; i++) {
    const eta = (lr[i] as number) / scale;
    const prev = i > 0 ? (lr[i - 1] as number) / scale : eta;
    m = lambda * m + Math.max(0, prev - eta);
    S1[i + 1] = (S1[i] as number) + eta;
    S2[i + 1] = (S2[i] as number) + m;
  }
  return { S1, S2 };
}

export interface Fitted {
  predict: (x: number) => number;
  params: Record<string, number>;
  formula: string;
}
export type Fitter = (pts: readonly XY[]) => Fitted;

const n4 = (v: number): string => Number(v.toPrecision(4)).toString();

function annealingFitter(S1: Float64Array, S2: Float64Array, until: number, rho: number): Fitter {
  const at = (a: Float64Array, x: number): number => a[Math.max(0, Math.min(a.length - 1, Math.round(x)))] as number;
  return (pts) => {
    const yl = (pts[pts.length - 1] as XY).y;
    const C0 = rho * yl * (1 - LAMBDA);
    // The prior row: (C − C0)·S2(until)/y_last in units of τ.
    const pr = at(S2, until) / (yl * TAU);
    let best = { rss: Infinity, alpha: 0.5, coef: [yl, 0, C0] };
    for (const alpha of ALPHAS) {
      const rows: number[][] = [];
      const t: number[] = [];
      for (const p of pts) {
        const w = 1 / (p.y * SIGMA_N);
        rows.push([w, w * Math.max(at(S1, p.x), 1e-9) ** -alpha, -w * at(S2, p.x)]);
        t.push(p.y * w);
      }
      if (pr > 0) {
        rows.push([0, 0, pr]);
        t.push(pr * C0);
      }
      const r = nnls(rows, t, 3);
      if (r.rss < best.rss) best = { rss: r.rss, alpha, coef: r.coef };
    }
    const [L0, A, C] = best.coef as [number, number, number];
    const alpha = best.alpha;
    return {
      predict: (x) => L0 + A * Math.max(at(S1, x), 1e-9) ** -alpha - C * at(S2, x),
      params: { L0, A, alpha, C, rho },
      formula: rho > 0 ? `L = ${n4(L0)} + ${n4(A)}·S1^−${n4(alpha)} − ${n4(C)}·S2 (prior ρ ${rho})` : `L = ${n4(L0)} + ${n4(A)}·S1^−${n4(alpha)} (no annealing in the window)`,
    };
  };
}

const saturatingFitter: Fitter = (pts) => {
  let best = { rss: Infinity, c: 0.5, coef: [(pts[pts.length - 1] as XY).y, 0] };
  for (const c of EXPONENTS) {
    const r = nnls(pts.map((p) => [1 / p.y, p.x ** -c / p.y]), pts.map(() => 1), 2);
    if (r.rss < best.rss) best = { rss: r.rss, c, coef: r.coef };
  }
  const [a, b] = best.coef as [number, number];
  const c = best.c;
  return { predict: (x) => a + b * x ** -c, params: { a, b, c }, formula: `L = ${n4(a)} + ${n4(b)}·x^−${n4(c)}` };
};

/** Ordinary least squares of ln y on ln x. */
export function logLogLine(pts: readonly XY[]): { lnB: number; slope: number } {
  const n = pts.length;
  let sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (const p of pts) {
    const lx = Math.log(p.x);
    const ly = Math.log(p.y);
    sx += lx; sy += ly; sxx += lx * lx; sxy += lx * ly;
  }
  const d = n * sxx - sx * sx;
  const slope = d === 0 ? 0 : (n * sxy - sx * sy) / d;
  return { lnB: (sy - slope * sx) / n, slope };
}

const powerFitter: Fitter = (pts) => {
  const { lnB, slope } = logLogLine(pts.slice(-Math.max(2, Math.ceil(pts.length / 2))));
  return { predict: (x) => Math.exp(lnB + slope * Math.log(x)), params: { b: Math.exp(lnB), c: -slope }, formula: `L = ${n4(Math.exp(lnB))}·x^${slope <= 0 ? `−${n4(-slope)}` : n4(slope)} (log-log line, last half)` };
};

/**
 * The candidates for a window ending at xLast: the annealing law when the learning rate covers
 * the forecast (or the window, if shorter), else the schedule-free laws.
 */
export function candidateFitters(lr: Float64Array | undefined, until: number, xLast: number): [Law, Fitter][] {
  if (lr && lr.length >= Math.min(until, xLast)) {
    const { S1, S2 } = annealAreas(lr);
    // No annealing anywhere up to the window's end: C is 0 whatever its prior, one candidate.
    const anneals = (S2[Math.max(0, Math.min(S2.length - 1, Math.round(until)))] as number) > 0;
    return (anneals ? RHOS : [0]).map((rho): [Law, Fitter] => ["annealing", annealingFitter(S1, S2, until, rho)]);
  }
  // Schedule-free laws only without a learning rate: they cannot bend with an anneal, and on the
  // short horizons of the backtest they scored well enough to take weight from the law that can
  // (measured on the 48 GPT-2-small runs from step 1000: worst end error 4.75% with them, 3.89% without).
  return [["saturating", saturatingFitter], ["power", powerFitter]];
}
