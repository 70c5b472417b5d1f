// A generated corpus (no downloads): each next character comes from a mixture of hashed order-1,
// order-2 and order-3 Markov sources, each context with its own skewed distribution. A model
// learns the 28 order-1 contexts fast, the 784 order-2 ones slower and the 22K order-3 ones
// slowest, so its loss keeps falling for thousands of steps the way language-model loss does;
// per-token difficulty is even enough that logged losses are not dominated by noise.
import { mulberry32 } from "./random.ts";

export const ALPHABET = "abcdefghijklmnopqrstuvwxyz .";
/** Weight of the order-1, order-2 and order-3 sources in the mixture. */
const MIXTURE = [0.45, 0.35, 0.2] as const;
const FAVOURITES = 6;
/** Probability mass spread uniformly over the whole alphabet (the rest goes to the favourites). */
const UNIFORM_MASS = 0.06;

/** Next-character distribution of a context, derived from a hash so no table is stored. */
function distribution(context: string, seed: number): Float64Array {
  let h = 2166136261 ^ seed;
  for (let i = 0; i < context.length; i++) h = Math.imul(h ^ context.charCodeAt(i), 16777619);
  const rand = mulberry32(h >>> 0);
  const p = new Float64Array(ALPHABET.length).fill(UNIFORM_MASS / ALPHABET.length);
  let z = 0;
  for (let r = 1; r <= FAVOURITES; r++) z += 1 / r;
  for (let r = 1; r <= FAVOURITES; r++) {
    const k = Math.floor(rand() * ALPHABET.length);
    p[k] = (p[k] as number) + ((1 - UNIFORM_MASS) * (1 / r)) / z;
  }
  return p;
}

export function generateCorpus(chars: number, seed = 1): string {
  const rand = mulberry32(seed);
  const cache = new Map<string, Float64Array>();
  const source = (ctx: string): Float64Array => {
    let p = cache.get(ctx);
    if (p === undefined) {
      p = distribution(ctx, seed);
      cache.set(ctx, p);
    }
    return p;
  };
  const out: string[] = ["t", "h", "e"];
  const p = new Float64Array(ALPHABET.length);
  while (out.length < chars) {
    p.fill(0);
    MIXTURE.forEach((w, i) => {
      const q = source(out.slice(-(i + 1)).join(""));
      for (let k = 0; k < p.length; k++) p[k] = (p[k] as number) + w * (q[k] as number);
    });
    let u = rand();
    let k = 0;
    while (k < p.length - 1 && u >= (p[k] as number)) u -= p[k++] as number;
    out.push(ALPHABET[k] as string);
  }
  return out.join("");
}
