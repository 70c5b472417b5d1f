// Python's round(x, n), bit for bit, because `windtunnel cost --json` must reproduce the seed's
// cost_arithmetic.py output exactly. Python rounds the exact binary value of the double
// half-to-even; Number.prototype.toFixed also rounds the exact value but breaks exact ties
// upwards, so only exact ties (x·10ⁿ ending in .5 exactly, e.g. round(0.125, 2)) need help:
// everything else is windtunnel's one rounding rule (common/format.ts).
import { InternalError } from "../common/errors.ts";
import { round } from "../common/format.ts";

export function pyRound(x: number, digits: number): number {
  if (!Number.isInteger(digits) || digits < 0 || digits > 100) throw new InternalError(`pyRound: digits must be an integer in 0..100, got ${digits}`);
  if (!Number.isFinite(x) || Math.abs(x) >= 1e21) return x;
  if (!isExactTie(x, digits)) return round(x, digits);
  const away = x.toFixed(digits); // exact value, ties broken away from zero
  const negative = away.startsWith("-");
  let scaled = BigInt(away.replace("-", "").replace(".", ""));
  if (scaled % 2n === 1n) scaled -= 1n; // Python breaks ties to even
  // Go through a decimal string so the result is the double nearest the rounded decimal.
  return Number((negative ? "-" : "") + formatScaled(scaled, digits));
}

function formatScaled(n: bigint, digits: number): string {
  if (digits === 0) return n.toString();
  const s = n.toString().padStart(digits + 1, "0");
  return `${s.slice(0, -digits)}.${s.slice(-digits)}`;
}

/** Is |x|·10ⁿ exactly k + ½ for an integer k? Decided on the exact binary value with BigInt. */
function isExactTie(x: number, digits: number): boolean {
  if (digits < 0 || x === 0) return false;
  const { mantissa, exponent } = decompose(Math.abs(x)); // |x| = mantissa · 2^exponent
  if (exponent >= 0) return false; // an integer times 10ⁿ has no fraction
  const scaled = mantissa * 10n ** BigInt(digits);
  const denom = 1n << BigInt(-exponent);
  return scaled % denom === denom >> 1n;
}

function decompose(x: number): { mantissa: bigint; exponent: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const rawExp = Number((bits >> 52n) & 0x7ffn);
  const frac = bits & ((1n << 52n) - 1n);
  return rawExp === 0 ? { mantissa: frac, exponent: -1074 } : { mantissa: frac | (1n << 52n), exponent: rawExp - 1075 };
}
