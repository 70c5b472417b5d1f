// Seeded randomness for reproducible runs: the same seed gives the same curve on every machine.
import { mulberry32, Mulberry32 } from "../../src/lab/random.ts";

export { mulberry32, Mulberry32 };

export function gaussian(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}
