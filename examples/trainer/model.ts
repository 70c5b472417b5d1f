// A real, small character-level language model (Bengio et al. 2003: embeddings → tanh MLP →
// softmax) trained with Adam on the CPU. It is small enough that 1,000 steps take a couple of
// seconds and real enough to fail the ways big runs fail: too-high learning rates diverge, a
// learning-rate jump blows it up mid-run, fp16 gradients overflow to NaN, and a tiny
// learning rate never learns.
import { ALPHABET, generateCorpus } from "./corpus.ts";
import { gaussian, mulberry32, Mulberry32 } from "./random.ts";

export interface ModelConfig {
  context: number;
  d_embed: number;
  /** Width of every hidden layer. */
  d_hidden: number;
  /** Hidden layers (depth). @default 1 */
  n_layer?: number;
  /** @default "tanh" */
  activation?: "tanh" | "relu";
  batch: number;
  /** Initialisation and batch order. */
  seed: number;
  /** Scale of the output layer's initial weights; 0 starts at the uniform prediction (a zero-init LM head, as modded-nanogpt does). @default 1 */
  outputInit?: number;
  /** Held-out positions in the validation batch. @default 256 */
  valBatch?: number;
  /** Seed of the generated corpus and of the validation batch. @default seed + 1 and seed + 7 */
  dataSeed?: number;
  /**
   * Arithmetic of the forward pass: "bf16" rounds every activation and logit to bfloat16
   * (round to nearest even), as mixed-precision training computes them; weights, gradients and
   * Adam stay in high precision like master weights. @default "fp64"
   */
  precision?: "fp64" | "bf16";
  /**
   * Split each batch into this many shards whose gradients are computed separately and then summed,
   * as data- or tensor-parallel layouts all-reduce them: the same mathematics, a different order
   * of floating-point additions. @default 1
   */
  shards?: number;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
/** Round to the nearest bfloat16 (ties to even), returned as a double. */
export function toBf16(x: number): number {
  f32[0] = x;
  const bits = u32[0] as number;
  if ((bits & 0x7f800000) === 0x7f800000) return f32[0] as number; // Inf, NaN
  u32[0] = ((bits + 0x7fff + ((bits >>> 16) & 1)) & 0xffff0000) >>> 0;
  return f32[0] as number;
}

export interface TrainConfig {
  steps: number;
  /** Learning rate at each step (1-based). */
  lr: (step: number) => number;
  /** Clip the global grad norm to this (0: no clipping). */
  clip: number;
  /**
   * fp16 gradients under a loss scale that doubles every `growthInterval` steps, with the overflow
   * check bypassed (optimizer.step() called directly instead of scaler.step()): the first gradient
   * past 65504 after scaling writes Inf into Adam's state and the weights turn NaN.
   */
  fp16LossScale?: { initial: number; growthInterval: number };
  logEvery: number;
  valEvery: number;
  /** Steps that also log and evaluate (a sweep's early-stopping rungs); evaluating changes no training state. */
  evalAt?: ReadonlySet<number>;
}

export interface StepLog {
  step: number;
  /** Mean training loss since the last log. */
  loss: number;
  grad_norm: number;
  lr: number;
  tokens: number;
  val_loss?: number;
  /** Largest |gradient element| since the last log. */
  maxGrad: number;
  /** First step whose scaled fp16 gradients overflowed, once it happened. */
  overflowStep?: number;
}

/** The largest finite float16. */
const FP16_MAX = 65504;

/** Where a run is between two steps, beside the weights: what a resumed run needs to log as the uninterrupted one would. */
export interface RunState {
  /** Steps done. */
  step: number;
  /** The logging interval's running sums (the logged loss is their mean). */
  lossSum: number;
  lossN: number;
  maxGrad: number;
  lossScale: number;
  overflowStep?: number;
}

/** Everything a checkpoint holds of the model: weights, Adam's moments and step, the batch sampler's random state. */
export interface ModelState {
  /** The parameter tensors, then Adam's first moments, then its second moments, each in parameter order. */
  tensors: Float64Array[];
  adamStep: number;
  rng: number;
}

export class CharMLP {
  readonly cfg: ModelConfig;
  readonly vocab = ALPHABET.length;
  private readonly params: Float64Array[];
  private readonly grads: Float64Array[];
  private readonly m: Float64Array[];
  private readonly v: Float64Array[];
  private readonly train: Uint8Array;
  private readonly val: Uint8Array;
  private readonly rng: Mulberry32;
  private readonly rand: () => number;
  private t = 0;

  constructor(cfg: ModelConfig) {
    this.cfg = cfg;
    this.rng = new Mulberry32(cfg.seed);
    this.rand = () => this.rng.next();
    const text = generateCorpus(120_000, cfg.dataSeed ?? cfg.seed + 1);
    const ids = Uint8Array.from(text, (ch) => Math.max(0, ALPHABET.indexOf(ch)));
    const cut = Math.floor(ids.length * 0.9);
    this.train = ids.subarray(0, cut);
    this.val = ids.subarray(cut);
    const { context: C, d_embed: E, d_hidden: H } = cfg;
    const L = this.depth;
    const V = this.vocab;
    // ReLU layers get He initialisation (√2 larger), tanh layers LeCun's.
    const gain = cfg.activation === "relu" ? Math.SQRT2 : 1;
    const init = (n: number, scale: number): Float64Array => Float64Array.from({ length: n }, () => gaussian(this.rand) * scale);
    // emb, W1, b1, (W, b) for each further hidden layer, Wout, bout
    this.params = [init(V * E, 1), init(C * E * H, gain / Math.sqrt(C * E)), new Float64Array(H)];
    for (let l = 1; l < L; l++) this.params.push(init(H * H, gain / Math.sqrt(H)), new Float64Array(H));
    this.params.push(init(H * V, (cfg.outputInit ?? 1) / Math.sqrt(H)), new Float64Array(V));
    this.grads = this.params.map((p) => new Float64Array(p.length));
    this.m = this.params.map((p) => new Float64Array(p.length));
    this.v = this.params.map((p) => new Float64Array(p.length));
  }

  get depth(): number {
    return this.cfg.n_layer ?? 1;
  }

  /** Trainable parameters. */
  get parameterCount(): number {
    return this.params.reduce((s, p) => s + p.length, 0);
  }

  /** Mean cross-entropy (nats) of one batch; with `learn`, accumulates into G gradients of the mean over `norm` samples. */
  private batchLoss(data: Uint8Array, starts: readonly number[], learn: boolean, G: Float64Array[] = this.grads, norm = starts.length): number {
    const { context: C, d_embed: E, d_hidden: H } = this.cfg;
    const L = this.depth;
    const V = this.vocab;
    const I = C * E;
    const relu = this.cfg.activation === "relu";
    const P = this.params;
    const bf16 = this.cfg.precision === "bf16";
    const emb = P[0] as Float64Array;
    const gEmb = G[0] as Float64Array;
    // Layer l (0-based) has weights P[1 + 2l] and bias P[2 + 2l]; the output layer is l = L.
    const x = new Float64Array(I);
    const hs = Array.from({ length: L }, () => new Float64Array(H));
    const z = new Float64Array(V);
    const da = new Float64Array(H);
    const dPrev = new Float64Array(H);
    const dx = new Float64Array(I);
    let total = 0;
    for (const s of starts) {
      for (let c = 0; c < C; c++) {
        const t = (data[s + c] as number) * E;
        for (let e = 0; e < E; e++) x[c * E + e] = emb[t + e] as number;
      }
      const y = data[s + C] as number;
      // Loops run along contiguous rows (i outer, j inner) so the weight matrices stream through cache.
      for (let l = 0; l < L; l++) {
        const input = l === 0 ? x : (hs[l - 1] as Float64Array);
        const W = P[1 + 2 * l] as Float64Array;
        const h = hs[l] as Float64Array;
        h.set(P[2 + 2 * l] as Float64Array);
        for (let i = 0; i < input.length; i++) {
          const xi = input[i] as number;
          const row = i * H;
          for (let j = 0; j < H; j++) h[j] = (h[j] as number) + xi * (W[row + j] as number);
        }
        if (relu) for (let j = 0; j < H; j++) h[j] = Math.max(0, h[j] as number);
        else for (let j = 0; j < H; j++) h[j] = Math.tanh(h[j] as number);
        if (bf16) for (let j = 0; j < H; j++) h[j] = toBf16(h[j] as number);
      }
      const last = hs[L - 1] as Float64Array;
      const Wout = P[1 + 2 * L] as Float64Array;
      z.set(P[2 + 2 * L] as Float64Array);
      for (let j = 0; j < H; j++) {
        const hj = last[j] as number;
        const row = j * V;
        for (let k = 0; k < V; k++) z[k] = (z[k] as number) + hj * (Wout[row + k] as number);
      }
      if (bf16) for (let k = 0; k < V; k++) z[k] = toBf16(z[k] as number);
      let zmax = -Infinity;
      for (let k = 0; k < V; k++) if ((z[k] as number) > zmax) zmax = z[k] as number;
      let sum = 0;
      for (let k = 0; k < V; k++) {
        const e = Math.exp((z[k] as number) - zmax);
        z[k] = e;
        sum += e;
      }
      for (let k = 0; k < V; k++) z[k] = (z[k] as number) / sum; // probabilities
      total -= Math.log(z[y] as number);
      if (!learn) continue;
      // Backward: dz = (p − onehot(y)) / B, then through the output layer, each hidden layer and the embeddings.
      // The output layer and the hidden layers repeat the same row loop on purpose: folded into one
      // helper function it ran ~40% slower (1.06–1.25 s → 1.47–1.61 s for a 60-step candidate).
      z[y] = (z[y] as number) - 1;
      for (let k = 0; k < V; k++) z[k] = (z[k] as number) / norm;
      const gWout = G[1 + 2 * L] as Float64Array;
      const gbout = G[2 + 2 * L] as Float64Array;
      for (let j = 0; j < H; j++) {
        const hj = last[j] as number;
        const row = j * V;
        let acc = 0;
        for (let k = 0; k < V; k++) {
          const dz = z[k] as number;
          gWout[row + k] = (gWout[row + k] as number) + hj * dz;
          acc += (Wout[row + k] as number) * dz;
        }
        da[j] = acc * (relu ? (hj > 0 ? 1 : 0) : 1 - hj * hj);
      }
      for (let k = 0; k < V; k++) gbout[k] = (gbout[k] as number) + (z[k] as number);
      for (let l = L - 1; l >= 0; l--) {
        const input = l === 0 ? x : (hs[l - 1] as Float64Array);
        const W = P[1 + 2 * l] as Float64Array;
        const gW = G[1 + 2 * l] as Float64Array;
        const gb = G[2 + 2 * l] as Float64Array;
        const dInput = l === 0 ? dx : dPrev;
        for (let j = 0; j < H; j++) gb[j] = (gb[j] as number) + (da[j] as number);
        for (let i = 0; i < input.length; i++) {
          const xi = input[i] as number;
          const row = i * H;
          let acc = 0;
          for (let j = 0; j < H; j++) {
            const d = da[j] as number;
            gW[row + j] = (gW[row + j] as number) + xi * d;
            acc += (W[row + j] as number) * d;
          }
          dInput[i] = acc;
        }
        if (l > 0) {
          for (let i = 0; i < H; i++) {
            const hi = input[i] as number;
            da[i] = (dPrev[i] as number) * (relu ? (hi > 0 ? 1 : 0) : 1 - hi * hi);
          }
        }
      }
      for (let c = 0; c < C; c++) {
        const t = (data[s + c] as number) * E;
        for (let e = 0; e < E; e++) gEmb[t + e] = (gEmb[t + e] as number) + (dx[c * E + e] as number);
      }
    }
    return total / starts.length;
  }

  private shardGrads: Float64Array[][] | undefined;

  /** One training batch, sharded when the layout says so: each shard's gradients summed at the end. */
  private trainBatch(starts: readonly number[]): number {
    const shards = this.cfg.shards ?? 1;
    if (shards <= 1) return this.batchLoss(this.train, starts, true);
    this.shardGrads ??= Array.from({ length: shards }, () => this.params.map((p) => new Float64Array(p.length)));
    let loss = 0;
    const size = Math.ceil(starts.length / shards);
    this.shardGrads.forEach((G, i) => {
      for (const g of G) g.fill(0);
      const part = starts.slice(i * size, (i + 1) * size);
      if (part.length > 0) loss += this.batchLoss(this.train, part, true, G, starts.length) * part.length;
    });
    // The all-reduce: per-parameter sums across shards, in shard order.
    this.grads.forEach((g, pi) => {
      for (const G of this.shardGrads ?? []) {
        const src = G[pi] as Float64Array;
        for (let i = 0; i < g.length; i++) g[i] = (g[i] as number) + (src[i] as number);
      }
    });
    return loss / starts.length;
  }

  private sample(data: Uint8Array, n: number, rand: () => number): number[] {
    return Array.from({ length: n }, () => Math.floor(rand() * (data.length - this.cfg.context - 1)));
  }

  private valStarts: number[] | undefined;

  /** Mean loss (nats) on a fixed batch of 256 held-out positions. */
  validationLoss(): number {
    this.valStarts ??= this.sample(this.val, this.cfg.valBatch ?? 256, mulberry32(this.cfg.dataSeed !== undefined ? this.cfg.dataSeed + 6 : this.cfg.seed + 7));
    return this.batchLoss(this.val, this.valStarts, false);
  }

  /** Train, calling `log` every logEvery steps (and on the last step). */
  run(tc: TrainConfig, log: (entry: StepLog) => void): void {
    const s = CharMLP.startState(tc);
    while (s.step < tc.steps) {
      const entry = this.trainStep(tc, s);
      if (entry) log(entry);
    }
  }

  /** A run before its first step. */
  static startState(tc: Pick<TrainConfig, "fp16LossScale">): RunState {
    return { step: 0, lossSum: 0, lossN: 0, maxGrad: 0, lossScale: tc.fp16LossScale?.initial ?? 1 };
  }

  /** One training step, the one after `s.step`, advancing `s`; what to log when the step logs. */
  trainStep(tc: TrainConfig, s: RunState): StepLog | undefined {
    const step = s.step + 1;
    for (const g of this.grads) g.fill(0);
    const loss = this.trainBatch(this.sample(this.train, this.cfg.batch, this.rand));
    if (tc.fp16LossScale) {
      // Gradients of (loss × scale) in fp16, unscaled afterwards: values past 65504 become Inf.
      let overflowed = false;
      for (const g of this.grads) {
        for (let i = 0; i < g.length; i++) {
          if (Math.abs((g[i] as number) * s.lossScale) > FP16_MAX) {
            g[i] = Math.sign(g[i] as number) * Infinity;
            overflowed = true;
          }
        }
      }
      if (overflowed) s.overflowStep ??= step;
      if (step % tc.fp16LossScale.growthInterval === 0) s.lossScale *= 2;
    }
    let sq = 0;
    for (const g of this.grads) {
      for (let i = 0; i < g.length; i++) {
        const gi = g[i] as number;
        sq += gi * gi;
        if (Math.abs(gi) > s.maxGrad) s.maxGrad = Math.abs(gi);
      }
    }
    const gradNorm = Math.sqrt(sq);
    s.lossSum += loss;
    s.lossN++;
    const lr = tc.lr(step);
    this.adam(lr, tc.clip > 0 && gradNorm > tc.clip ? tc.clip / gradNorm : 1);
    s.step = step;
    // Like Megatron, log the mean training loss over the logging interval.
    const evaluate = tc.evalAt?.has(step) === true;
    if (step % tc.logEvery !== 0 && step !== tc.steps && !evaluate) return undefined;
    const entry: StepLog = { step, loss: s.lossSum / s.lossN, grad_norm: gradNorm, lr, tokens: step * this.cfg.batch, maxGrad: s.maxGrad, ...(s.overflowStep !== undefined ? { overflowStep: s.overflowStep } : {}) };
    if (step % tc.valEvery === 0 || evaluate) entry.val_loss = this.validationLoss();
    s.lossSum = 0;
    s.lossN = 0;
    s.maxGrad = 0;
    return entry;
  }

  /** The model's state as a checkpoint keeps it (the arrays are the model's own: copy before training on). */
  exportState(): ModelState {
    return { tensors: [...this.params, ...this.m, ...this.v], adamStep: this.t, rng: this.rng.state };
  }

  /** Continue from a checkpoint of a model of the same shape; the reason when it is not. */
  importState(st: ModelState): string | undefined {
    const own = [...this.params, ...this.m, ...this.v];
    if (st.tensors.length !== own.length) return `expected ${own.length} tensors, got ${st.tensors.length}`;
    const bad = own.findIndex((t, i) => t.length !== st.tensors[i]?.length);
    if (bad >= 0) return `tensor ${bad}: expected ${own[bad]?.length} values, got ${st.tensors[bad]?.length}`;
    own.forEach((t, i) => t.set(st.tensors[i] as Float64Array));
    this.t = st.adamStep;
    this.rng.state = st.rng;
    return undefined;
  }

  private adam(lr: number, scale: number): void {
    const b1 = 0.9;
    const b2 = 0.999;
    this.t++;
    const c1 = 1 - b1 ** this.t;
    const c2 = 1 - b2 ** this.t;
    this.params.forEach((p, pi) => {
      const g = this.grads[pi] as Float64Array;
      const m = this.m[pi] as Float64Array;
      const v = this.v[pi] as Float64Array;
      for (let i = 0; i < p.length; i++) {
        const gi = (g[i] as number) * scale;
        m[i] = b1 * (m[i] as number) + (1 - b1) * gi;
        v[i] = b2 * (v[i] as number) + (1 - b2) * gi * gi;
        p[i] = (p[i] as number) - (lr * ((m[i] as number) / c1)) / (Math.sqrt((v[i] as number) / c2) + 1e-8);
      }
    });
  }
}
