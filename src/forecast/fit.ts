// A saturating power law L(x) = a + b·x^(−c) with its floor a ≥ 0, fitted robustly to a loss curve. For a fixed c the
// model is linear in (a, b), so the fit profiles c: weighted least squares for (a, b) at each c,
// with relative weights 1/y² (residuals in log space, so the band is a fraction of the loss) and
// Huber weights against spikes, then a golden-section refinement of c. Pure: no I/O.

import { maxOf, minOf } from "../gates/stats.ts";

export interface XY {
  x: number;
  y: number;
}

export interface PowerLawFit {
  a: number;
  b: number;
  c: number;
  /** Points fitted. */
  n: number;
  /** Coefficient of determination on y. */
  r2: number;
  /** Robust σ of the relative residuals (y − ŷ)/ŷ: 1.4826 × their median absolute deviation. */
  sigmaRel: number;
  /** Largest |relative residual|. */
  maxRel: number;
  xRange: [number, number];
}

export type FitOutcome = { ok: true; fit: PowerLawFit } | { ok: false; reason: string };

export interface FitOptions {
  /** Fewer points than this: refuse. @default 8 */
  minPoints?: number;
  /** Exponents searched. @default [0.01, 3] */
  cRange?: [number, number];
  /** Refuse when R² is below this. @default 0.9 */
  minR2?: number;
}

export const evalPowerLaw = (f: Pick<PowerLawFit, "a" | "b" | "c">, x: number): number => f.a + f.b * x ** -f.c;

const HUBER = 1.345;

function median(xs: number[]): number {
  const s = [...xs].sort((p, q) => p - q);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

interface Profile {
  a: number;
  b: number;
  loss: number;
}

/** (a, b) at a fixed c by iteratively reweighted least squares; loss is the Huber objective. */
function profile(xs: readonly number[], ys: readonly number[], c: number, scale: number): Profile {
  const u = xs.map((x) => x ** -c);
  const base = ys.map((y) => 1 / (y * y));
  let w = [...base];
  let a = 0;
  let b = 0;
  for (let iter = 0; iter < 6; iter++) {
    let sw = 0, su = 0, sy = 0, suu = 0, suy = 0;
    for (let i = 0; i < u.length; i++) {
      const wi = w[i] as number;
      const ui = u[i] as number;
      const yi = ys[i] as number;
      sw += wi; su += wi * ui; sy += wi * yi; suu += wi * ui * ui; suy += wi * ui * yi;
    }
    const det = sw * suu - su * su;
    if (!(Math.abs(det) > 1e-300)) return { a: Number.NaN, b: Number.NaN, loss: Infinity };
    b = (sw * suy - su * sy) / det;
    a = (sy - b * su) / sw;
    // The floor is a loss: never below zero. At a < 0 the constrained optimum is on the
    // boundary a = 0, where the model is the pure power law b·x^(−c).
    if (a < 0) {
      a = 0;
      b = suu > 0 ? suy / suu : Number.NaN;
    }
    if (scale <= 0) break;
    w = base.map((bw, i) => {
      const r = Math.abs(((ys[i] as number) - (a + b * (u[i] as number))) / (ys[i] as number)) / scale;
      return bw * (r <= HUBER ? 1 : HUBER / r);
    });
  }
  let loss = 0;
  for (let i = 0; i < u.length; i++) {
    const r = ((ys[i] as number) - (a + b * (u[i] as number))) / (ys[i] as number);
    const t = scale > 0 ? Math.abs(r) / scale : Math.abs(r);
    loss += scale > 0 ? (t <= HUBER ? 0.5 * t * t : HUBER * t - 0.5 * HUBER * HUBER) : r * r;
  }
  return { a, b, loss };
}

/** The exponent minimising `f` over [lo, hi]: a log-spaced grid, then golden section around the best. */
function minimise(f: (c: number) => number, lo: number, hi: number): { c: number; atBound: boolean } {
  const N = 80;
  const grid = Array.from({ length: N }, (_, i) => lo * (hi / lo) ** (i / (N - 1)));
  let best = 0;
  let bestV = Infinity;
  grid.forEach((c, i) => {
    const v = f(c);
    if (v < bestV) {
      bestV = v;
      best = i;
    }
  });
  let l = Math.log(grid[Math.max(0, best - 1)] as number);
  let h = Math.log(grid[Math.min(N - 1, best + 1)] as number);
  const g = (Math.sqrt(5) - 1) / 2;
  let x1 = h - g * (h - l);
  let x2 = l + g * (h - l);
  let f1 = f(Math.exp(x1));
  let f2 = f(Math.exp(x2));
  for (let i = 0; i < 60; i++) {
    if (f1 <= f2) {
      h = x2; x2 = x1; f2 = f1; x1 = h - g * (h - l); f1 = f(Math.exp(x1));
    } else {
      l = x1; x1 = x2; f1 = f2; x2 = l + g * (h - l); f2 = f(Math.exp(x2));
    }
  }
  return { c: Math.exp((l + h) / 2), atBound: best === 0 || best === N - 1 };
}

export function fitPowerLaw(points: readonly XY[], options: FitOptions = {}): FitOutcome {
  const minPoints = options.minPoints ?? 8;
  const [cLo, cHi] = options.cRange ?? [0.01, 3];
  const usable = points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y) && p.x > 0 && p.y > 0);
  if (usable.length < minPoints) return { ok: false, reason: `too few points to fit: ${usable.length} finite points with x > 0, at least ${minPoints} needed` };
  // x scaled to start at 1, so x^(−c) stays in a sane range for every c searched.
  const x0 = minOf(usable.map((p) => p.x));
  const xs = usable.map((p) => p.x / x0);
  const ys = usable.map((p) => p.y);
  const ols = minimise((c) => profile(xs, ys, c, 0).loss, cLo, cHi);
  const start = profile(xs, ys, ols.c, 0);
  const residuals = ys.map((y, i) => (y - (start.a + start.b * (xs[i] as number) ** -ols.c)) / y);
  const scale = Math.max(1.4826 * median(residuals.map(Math.abs)), 1e-6);
  const robust = minimise((c) => profile(xs, ys, c, scale).loss, cLo, cHi);
  const p = profile(xs, ys, robust.c, scale);
  if (!Number.isFinite(p.a) || !Number.isFinite(p.b)) return { ok: false, reason: "the fit did not converge (singular system)" };
  if (p.b <= 0) return { ok: false, reason: "the curve does not fall over the fitted range (b ≤ 0): nothing to extrapolate" };
  if (robust.atBound) {
    const low = robust.c < Math.sqrt(cLo * cHi);
    return {
      ok: false,
      reason: low
        ? `the fit did not converge: the exponent c ran to its lower bound ${cLo}, i.e. the curve still falls like a logarithm with no sign of levelling off, so its floor cannot be located (run Phase 2 longer)`
        : `the fit did not converge: the exponent c ran to its upper bound ${cHi}, i.e. the curve had already flattened before the fitted range (is warmup excluded?)`,
    };
  }
  const fitted = xs.map((x) => p.a + p.b * x ** -robust.c);
  const rel = ys.map((y, i) => (y - (fitted[i] as number)) / (fitted[i] as number));
  const mean = ys.reduce((s, y) => s + y, 0) / ys.length;
  const ssTot = ys.reduce((s, y) => s + (y - mean) ** 2, 0);
  const ssRes = ys.reduce((s, y, i) => s + (y - (fitted[i] as number)) ** 2, 0);
  const r2 = ssTot > 0 ? 1 - ssRes / ssTot : 0;
  const minR2 = options.minR2 ?? 0.9;
  if (r2 < minR2) return { ok: false, reason: `the fit is poor: R² = ${r2.toFixed(3)} < ${minR2} (a noisy or non-monotone curve)` };
  const fit: PowerLawFit = {
    a: p.a,
    // Back to the caller's x: b·(x/x0)^(−c) = (b·x0^c)·x^(−c).
    b: p.b * x0 ** robust.c,
    c: robust.c,
    n: usable.length,
    r2,
    sigmaRel: 1.4826 * median(rel.map(Math.abs)),
    maxRel: maxOf(rel.map(Math.abs)),
    xRange: [x0, maxOf(usable.map((q) => q.x))],
  };
  return { ok: true, fit };
}
