// Seeded randomness: the same seed proposes the same candidates on every machine, which is what
// lets a resumed sweep continue exactly where the killed one stopped.
export function mulberry32(seed: number): () => number {
  const g = new Mulberry32(seed);
  return () => g.next();
}

/** The same generator with its state in the open: a trainer saves it in a checkpoint and draws on where it stopped (issue 17). */
export class Mulberry32 {
  /** The whole state: one 32-bit word. */
  state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}
