// The Tree-structured Parzen Estimator behind `--proposer tpe` (issue 18; Bergstra et al. 2011,
// "Algorithms for Hyper-Parameter Optimization"), with Optuna's TPESampler as the reference
// behaviour. Written here rather than taken from npm: the one package that names the method
// ("hyperparameters", a port of hyperopt) ships random and grid search only and has seen no code
// since 2018; nothing else on the registry implements it. Pure: no clock, no I/O, randomness
// only from the generator it is handed, so the same observations propose the same config.
//
// It works on indices into each knob's listed choices. As in Optuna:
// - until `startup` observations exist, configs are drawn uniformly (Optuna: n_startup_trials 10);
// - the observations are split into the best γ(n) = min(⌈0.1 n⌉, 25) ("good") and the rest ("bad");
// - each set gets a Parzen estimator: a mixture of one kernel per observation plus a uniform
//   prior kernel of weight 1 (prior_weight). A categorical knob's kernel is the prior-weighted
//   count estimator (the observed choice gets 1 + w/n, every choice w/n, then normalised); a
//   knob whose choices are all numbers is ordered, and its kernel falls off with the distance in
//   rank, exp(−(d/d_max)² · ln(n/w) · ln(k)/ln 6) (Optuna's categorical_distance_func kernel);
// - `candidates` configs (n_ei_candidates 24) are drawn from the good estimator l(x) and the one
//   with the largest l(x)/g(x) is proposed.
// Where it differs, and why:
// - The kernels are joint over the knobs (Optuna's multivariate=True; Falkner et al. 2018 report it
//   beats the independent form): a candidate is a whole config, which is what the dedupe needs.
// - Failed runs (crash, timeout, NaN) and pruned ones are always bad, never good: Optuna leaves
//   failures out and lets a pruned trial be good when too few completed. Here a crash region
//   must push g(x) up so the proposer leaves it (a sweep that only crashes still learns), and
//   once anything failed the score also carries log s(x)/f(x), runs that did not fail against
//   runs that did (as c-TPE treats a constraint).
// - A config already evaluated or in flight is never a candidate (the sweep would answer it from
//   the trajectory and learn nothing); when every draw is one, a random unevaluated config is.
// - Each group of observations (this campaign, each prior file) is split on its own: val_bpb of
//   another campaign (other steps, data or seed) need not be on this one's scale, its ranks are.
//   Observations weigh what they are given (priors less; see tpe-proposer.ts), not Optuna's ramp
//   that discounts old trials of a drifting objective.
export interface TpeKnob {
  /** How many choices the knob lists. */
  size: number;
  /** For an ordered knob (numeric choices): the rank of each listed choice by value. Absent: categorical. */
  rank?: readonly number[];
}

export interface Observation {
  /** The listed index of each knob's value; undefined where the source did not set that knob. */
  x: readonly (number | undefined)[];
  /** What is minimised; null for a failed or pruned run, which is always bad. */
  value: number | null;
  /** It crashed, timed out or gave a NaN (a pruned run did not fail: it was stopped). */
  failed: boolean;
  /** Its weight in the mixtures (1 for this campaign's own). */
  weight: number;
  /** Observations are ranked within their group only. */
  group: string;
}

export interface TpeOptions {
  /** Observations before the model is used; until then configs are uniform draws. @default 10 */
  startup: number;
  /** Configs drawn from l(x) per proposal. @default 24 */
  candidates: number;
  /** Weight of the uniform prior kernel. @default 1 */
  priorWeight: number;
  /** How many of a group's n observations are good. @default min(⌈0.1 n⌉, 25) */
  gamma: (n: number) => number;
}

export const TPE_DEFAULTS: TpeOptions = { startup: 10, candidates: 24, priorWeight: 1, gamma: (n) => Math.min(Math.ceil(0.1 * n), 25) };

/** Draws past this many collisions with evaluated configs give up on the model for one uniform draw. */
const MODEL_ROUNDS = 8;
/** A space this small is enumerated to find what is left once random draws keep colliding. */
const ENUMERABLE = 1 << 20;

export type Suggestion = { x: number[]; how: "startup" | "model" | "fallback" } | { how: "exhausted" };

/**
 * The next config to try, as indices, given what is known. `taken` holds the keys (keyOf) of the
 * configs evaluated or in flight in this sweep; they are never suggested.
 */
export function suggest(space: readonly TpeKnob[], observations: readonly Observation[], taken: ReadonlySet<string>, rand: () => number, options: Partial<TpeOptions> = {}): Suggestion {
  const o = { ...TPE_DEFAULTS, ...options };
  const size = space.reduce((n, k) => n * k.size, 1);
  if (taken.size >= size) return { how: "exhausted" };
  if (observations.length >= o.startup) {
    const { good, bad } = split(observations, o.gamma);
    const l = new ParzenEstimator(space, good, o.priorWeight);
    const g = new ParzenEstimator(space, bad, o.priorWeight);
    const feasibility = feasibilityOf(space, observations, o.priorWeight);
    for (let round = 0; round < MODEL_ROUNDS; round++) {
      let best: { x: number[]; score: number } | undefined;
      for (let c = 0; c < o.candidates; c++) {
        const x = l.sample(rand);
        if (taken.has(keyOf(x))) continue;
        const score = l.logPdf(x) - g.logPdf(x) + (feasibility?.(x) ?? 0);
        if (best === undefined || score > best.score) best = { x, score };
      }
      if (best !== undefined) return { x: best.x, how: "model" };
    }
    return uniform(space, taken, size, rand, "fallback");
  }
  return uniform(space, taken, size, rand, "startup");
}

/** The identity of a config in index space. */
export const keyOf = (x: readonly number[]): string => x.join(",");

/** Each group's best γ(n) finite values are good; the rest, every failure and every pruned run, bad. */
export function split(observations: readonly Observation[], gamma: (n: number) => number): { good: Observation[]; bad: Observation[] } {
  const groups = new Map<string, Observation[]>();
  for (const ob of observations) groups.set(ob.group, [...(groups.get(ob.group) ?? []), ob]);
  const good: Observation[] = [];
  const bad: Observation[] = [];
  for (const members of groups.values()) {
    const finite = members.filter((m) => m.value !== null).sort((a, b) => (a.value as number) - (b.value as number));
    const nGood = Math.min(Math.max(0, gamma(members.length)), finite.length);
    const chosen = new Set(finite.slice(0, nGood));
    for (const m of members) (chosen.has(m) ? good : bad).push(m);
  }
  return { good, bad };
}

/**
 * log s(x)/f(x), the density of runs that did not fail over that of runs that did (c-TPE's ratio for
 * a constraint, Watanabe & Hutter 2023), or nothing when none failed. Failures in g(x) alone
 * hardly steer: g also holds every merely bad run, and l(x)'s kernels reach into a crash region
 * that borders the best configs (test/lab/tpe.test.ts, a third of the menu crashing: 7.0 crashes
 * per 24-candidate sweep with g(x) alone, 4.05 with this ratio, 7.85 for the random proposer).
 */
function feasibilityOf(space: readonly TpeKnob[], observations: readonly Observation[], priorWeight: number): ((x: readonly number[]) => number) | undefined {
  const failed = observations.filter((ob) => ob.failed);
  if (failed.length === 0) return undefined;
  const s = new ParzenEstimator(space, observations.filter((ob) => !ob.failed), priorWeight);
  const f = new ParzenEstimator(space, failed, priorWeight);
  return (x) => s.logPdf(x) - f.logPdf(x);
}

/** A mixture of one product kernel per observation and a uniform prior kernel. */
export class ParzenEstimator {
  private readonly weights: number[];
  /** kernels[k][j][i]: kernel k's probability of choice i of knob j. */
  private readonly kernels: number[][][];

  constructor(space: readonly TpeKnob[], observations: readonly Observation[], priorWeight: number) {
    const nKernels = observations.length + 1;
    const uniformKernel = space.map((k) => Array.from({ length: k.size }, () => 1 / k.size));
    this.kernels = [...observations.map((ob) => space.map((knob, j) => kernelOf(knob, ob.x[j], nKernels, priorWeight))), uniformKernel];
    const raw = [...observations.map((ob) => ob.weight), observations.length === 0 ? 1 : priorWeight];
    const total = raw.reduce((a, b) => a + b, 0);
    this.weights = raw.map((w) => w / total);
  }

  logPdf(x: readonly number[]): number {
    let max = -Infinity;
    const terms = this.kernels.map((kernel, k) => {
      let t = Math.log(this.weights[k] as number);
      for (let j = 0; j < kernel.length; j++) t += Math.log((kernel[j] as number[])[x[j] as number] as number);
      if (t > max) max = t;
      return t;
    });
    if (max === -Infinity) return -Infinity;
    return max + Math.log(terms.reduce((s, t) => s + Math.exp(t - max), 0));
  }

  sample(rand: () => number): number[] {
    const kernel = this.kernels[draw(this.weights, rand)] as number[][];
    return kernel.map((p) => draw(p, rand));
  }
}

/** One observation's kernel over one knob's choices (Optuna's _calculate_categorical_distributions). */
function kernelOf(knob: TpeKnob, observed: number | undefined, nKernels: number, priorWeight: number): number[] {
  if (observed === undefined || knob.size === 1) return Array.from({ length: knob.size }, () => 1 / knob.size);
  let p: number[];
  if (knob.rank !== undefined) {
    const rank = knob.rank;
    const at = rank[observed] as number;
    const d = rank.map((r) => Math.abs(r - at));
    const dMax = Math.max(...d);
    const coef = (Math.log(nKernels / priorWeight) * Math.log(knob.size)) / Math.log(6);
    p = d.map((di) => Math.exp(-((di / dMax) ** 2) * coef));
  } else {
    const base = priorWeight / nKernels;
    p = Array.from({ length: knob.size }, (_, i) => base + (i === observed ? 1 : 0));
  }
  const total = p.reduce((a, b) => a + b, 0);
  return p.map((v) => v / total);
}

/** An index drawn with probability proportional to `p`. */
function draw(p: readonly number[], rand: () => number): number {
  let r = rand() * p.reduce((a, b) => a + b, 0);
  for (let i = 0; i < p.length; i++) {
    r -= p[i] as number;
    if (r < 0) return i;
  }
  return p.length - 1;
}

/** A uniform draw among the configs not taken (enumerated when draws keep colliding in a small space). */
function uniform(space: readonly TpeKnob[], taken: ReadonlySet<string>, size: number, rand: () => number, how: "startup" | "fallback"): Suggestion {
  const one = (): number[] => space.map((k) => Math.floor(rand() * k.size));
  for (let t = 0; t < 64; t++) {
    const x = one();
    if (!taken.has(keyOf(x))) return { x, how };
  }
  // A huge space where 64 draws all collided: the sweep's dedupe answers the repeat.
  if (size > ENUMERABLE) return { x: one(), how };
  const left: number[][] = [];
  for (let i = 0; i < size; i++) {
    const x: number[] = [];
    let rest = i;
    for (let j = space.length - 1; j >= 0; j--) {
      const n = (space[j] as TpeKnob).size;
      x[j] = rest % n;
      rest = Math.floor(rest / n);
    }
    if (!taken.has(keyOf(x))) left.push(x);
  }
  return { x: left[Math.floor(rand() * left.length)] as number[], how };
}
