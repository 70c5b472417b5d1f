// The laws a forecast chooses among, and how it chooses: pure, no I/O.
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
//
// The choice: a rolling-origin backtest on the fitted window itself (fit the first k points, score
// every later one, for k = ⌈n/2⌉ … n − 1) gives each candidate a relative RMS error; the forecast
// weighs them by 1/error². The band is calibrated from the same backtest: the 90th percentile of
// the weighted forecast's error per unit of ln(x / x_last), so it widens with the horizon, never
// under 0.04 per unit (measured: 0.035 held 83% of held-out GPT-2 points, 0.04 held ≥ 87.5%),
// plus twice the scatter of the fitted points around the fit (the seed noise the curve shows).

export interface XY {
  x: number;
  y: number;
}

export interface Candidate {
  law: "annealing" | "saturating" | "power";
  /** A readable formula with the fitted numbers. */
  formula: string;
  params: Record<string, number>;
  /** Relative RMS error of the candidate fitted on the window's first part, over its later points. */
  backtest_error: number | null;
  /** (origin, later point) pairs behind backtest_error. */
  backtest_pairs: number;
  weight: number;
}

export interface LawsFit {
  candidates: (Candidate & { predict: (x: number) => number })[];
  chosen: Candidate["law"];
  predict: (x: number) => number;
  /** Relative half-width of the band at x, calibrated to hold `coverage` of held-out points. */
  band: (x: number) => number;
  coverage: number;
  /** band(x) = max(floor, per_log_horizon · ln(x / x_last) + 2·noise) past the fitted window. */
  bandParams: { per_log_horizon: number; floor: number; noise: number };
  n: number;
  xRange: [number, number];
}

export type LawsOutcome = { ok: true; fit: LawsFit } | { ok: false; reason: string };

export interface LawsInput {
  /** The fitted points, x in steps when `lr` is given. */
  points: readonly XY[];
  /** Learning rate of each update 0 … (at least the window's end), any scale: turns on the annealing law. */
  lr?: Float64Array | undefined;
  /** The x the forecast runs to (the prior on C is stated there). */
  until: number;
  /** Fewer fitted points: refuse. @default 5 */
  minPoints?: number;
}

export const LAMBDA = 0.999;
export const COVERAGE = 0.9;
const ALPHAS = Array.from({ length: 29 }, (_, i) => 0.1 + 0.05 * i);
const RHOS = [0.03, 0.1, 0.15];
/** Prior sd of the annealing drop, relative to the loss. */
const TAU = 0.03;
/** Nominal relative noise: the scale of a data row against the prior row. */
const SIGMA_N = 0.005;
const EXPONENTS = Array.from({ length: 40 }, (_, i) => Math.exp(Math.log(0.02) + (i * (Math.log(3) - Math.log(0.02))) / 39));
const MIN_SLOPE = 0.04;
/** Backtest pairs nearer their origin than this ratio say nothing of the horizon (their error is the noise). */
const MIN_RATIO = 1.05;
const NOISE_MULT = 2;

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

/** Exact non-negative least squares for ≤ 3 columns: every active set, the best feasible one. */
function nnls(rows: readonly number[][], t: readonly number[], p: number): { coef: number[]; rss: number } {
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

interface Fitted {
  predict: (x: number) => number;
  params: Record<string, number>;
  formula: string;
}
type Fitter = (pts: readonly XY[]) => Fitted;

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

function quantile(v: readonly number[], q: number): number {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] as number;
}

/** Points fitted at most: a dense curve (a training loss every step) is thinned to medians of consecutive runs. */
export const MAX_FITTED = 400;
/** Backtest origins at most, spread evenly over the second half of the window. */
const MAX_ORIGINS = 12;

const med = (v: number[]): number => {
  const s = v.sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

/** At most `max` points: the median x and y of consecutive runs of points (robust to spikes, keeps the last x). */
export function thin(pts: readonly XY[], max = MAX_FITTED): XY[] {
  if (pts.length <= max) return [...pts];
  const out: XY[] = [];
  for (let g = 0; g < max; g++) {
    const run = pts.slice(Math.floor((g * pts.length) / max), Math.floor(((g + 1) * pts.length) / max));
    out.push({ x: g === max - 1 ? (run[run.length - 1] as XY).x : med(run.map((p) => p.x)), y: med(run.map((p) => p.y)) });
  }
  return out;
}

export function fitLaws(input: LawsInput): LawsOutcome {
  const minPoints = input.minPoints ?? 5;
  const raw = [...input.points].filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y) && p.x > 0 && p.y > 0).sort((a, b) => a.x - b.x);
  if (raw.length < minPoints) return { ok: false, reason: `too few points: at least ${minPoints} needed` };
  const pts = thin(raw);
  const n = pts.length;
  const xLast = (pts[n - 1] as XY).x;
  const fitters: [Candidate["law"], Fitter][] = [];
  if (input.lr && input.lr.length >= Math.min(input.until, xLast)) {
    const { S1, S2 } = annealAreas(input.lr);
    // No annealing anywhere up to the window's end: C is 0 whatever its prior, one candidate.
    const anneals = (S2[Math.max(0, Math.min(S2.length - 1, Math.round(input.until)))] as number) > 0;
    for (const rho of anneals ? RHOS : [0]) fitters.push(["annealing", annealingFitter(S1, S2, input.until, rho)]);
  } else {
    // Schedule-free laws only without a learning rate: they cannot bend with an anneal, and on the
    // short horizons of the backtest they scored well enough to take weight from the law that can
    // (measured on the 48 GPT-2-small runs from step 1000: worst end error 4.75% with them, 3.89% without).
    fitters.push(["saturating", saturatingFitter], ["power", powerFitter]);
  }

  // The rolling-origin backtest.
  const k0 = Math.max(3, Math.ceil(n / 2));
  const count = Math.min(MAX_ORIGINS, Math.max(0, n - k0));
  const origins = [...new Set(Array.from({ length: count }, (_, i) => k0 + Math.round((i * (n - 1 - k0)) / Math.max(1, count - 1))))];
  const pairs = fitters.map(([, fit]) => {
    const out: { r: number; pred: number; y: number }[] = [];
    for (const k of origins) {
      const sub = pts.slice(0, k);
      const f = fit(sub);
      const xl = (sub[k - 1] as XY).x;
      for (let j = k; j < n; j++) out.push({ r: (pts[j] as XY).x / xl, pred: f.predict((pts[j] as XY).x), y: (pts[j] as XY).y });
    }
    return out;
  });
  const rmse = pairs.map((ps) => (ps.length > 0 ? Math.sqrt(ps.reduce((s, q) => s + (q.pred / q.y - 1) ** 2, 0) / ps.length) : Number.NaN));
  // A perfect (tiny) backtest must not take infinite weight; no backtest at all: equal weights.
  const inverse = rmse.map((e) => (Number.isFinite(e) ? 1 / Math.max(e, 1e-4) ** 2 : 1));
  const total = inverse.reduce((a, b) => a + b, 0);
  const weights = inverse.map((v) => v / total);
  const fits = fitters.map(([, fit]) => fit(pts));
  const predictAll = (x: number): number => fits.reduce((s, f, i) => s + (weights[i] as number) * f.predict(x), 0);
  const candidates = fitters.map(([law], i) => {
    const f = fits[i] as Fitted;
    const e = rmse[i] as number;
    return { law, formula: f.formula, params: f.params, backtest_error: Number.isFinite(e) ? e : null, backtest_pairs: (pairs[i] as unknown[]).length, weight: weights[i] as number, predict: f.predict };
  });
  const predict = (x: number): number => candidates.reduce((s, c) => s + c.weight * c.predict(x), 0);

  // The seed noise: the robust scatter (1.4826 × the median absolute relative residual) around the
  // fit of the later half of the points given (not the thinned ones), where the forecast starts:
  // over all of them, a fast early drop the law follows loosely read as noise (±13% on GPT-2 medium).
  const scatter = (ps: readonly XY[]): number => {
    const later = ps.slice(Math.floor(ps.length / 2));
    return 1.4826 * med(later.map((p) => Math.abs(predictAll(p.x) / p.y - 1)));
  };
  const noise = scatter(raw);
  // The band: the weighted forecast's backtest errors per unit of ln(horizon ratio), beyond the
  // scatter the band carries anyway. Without that subtraction a held-out point next to its origin
  // (ln r ≈ 0) turned one noisy training-loss point into a slope of ±50% per unit and a band no
  // run could leave (red team: a run 30% worse than forecast passed).
  const scatterFitted = NOISE_MULT * scatter(pts);
  const perLog: number[] = [];
  (pairs[0] ?? []).forEach((q, idx) => {
    const pred = pairs.reduce((s, ps, i) => s + (weights[i] as number) * (ps[idx] as { pred: number }).pred, 0);
    if (q.r > MIN_RATIO) perLog.push(Math.max(0, Math.abs(pred / q.y - 1) - scatterFitted) / Math.log(q.r));
  });
  const per_log_horizon = Math.max(MIN_SLOPE, perLog.length > 0 ? quantile(perLog, COVERAGE) : 0);
  const floor = Math.max(NOISE_MULT * noise, 0.002);
  const band = (x: number): number => Math.max(floor, per_log_horizon * Math.log(Math.max(1, x / xLast)) + (x > xLast ? NOISE_MULT * noise : 0));
  const chosen = candidates.reduce((a, b) => (b.weight > a.weight ? b : a)).law;
  return { ok: true, fit: { candidates, chosen, predict, band, coverage: COVERAGE, bandParams: { per_log_horizon, floor, noise }, n: raw.length, xRange: [(raw[0] as XY).x, (raw[raw.length - 1] as XY).x] } };
}
