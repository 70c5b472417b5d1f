// The seed's cost inputs, read from the same environment variables with the same defaults
// (evidence/cost_arithmetic.py in manavsehgal/ai-field-notes), so a user's existing habit of
// `H100_HOURLY_USD=3.50 python3 cost_arithmetic.py` carries over unchanged.
import { UsageError } from "../common/errors.ts";
import { parseNumberText } from "../evidence/numbers.ts";

export interface Rates {
  h100_hourly_usd: number;
  h200_hourly_usd: number;
  spark_kw: number;
  kwh_usd: number;
  spark_capex_usd: number;
  spark_life_years: number;
  iter_seconds: number;
  campaign_iters: number;
  final_node_hours: number;
}

interface RateVar {
  key: keyof Rates;
  fallback: number;
  integer: boolean;
  /** Zero would divide by zero in the seed's formulas. */
  positive?: boolean;
  note: string;
}

/** Environment variable → rate, in the seed's order (which is also its JSON key order). */
export const RATE_VARS: Readonly<Record<string, RateVar>> = {
  H100_HOURLY_USD: { key: "h100_hourly_usd", fallback: 2.5, integer: false, note: "per-GPU H100 rate (the seed's neocloud spot rate)" },
  H200_HOURLY_USD: { key: "h200_hourly_usd", fallback: 3.5, integer: false, note: "per-GPU H200 rate" },
  SPARK_KW: { key: "spark_kw", fallback: 0.24, integer: false, note: "Spark sustained training draw, kW" },
  KWH_USD: { key: "kwh_usd", fallback: 0.13, integer: false, note: "electricity price per kWh" },
  SPARK_CAPEX_USD: { key: "spark_capex_usd", fallback: 5000, integer: false, note: "Spark purchase price" },
  SPARK_LIFE_YEARS: { key: "spark_life_years", fallback: 1.5, integer: false, positive: true, note: "amortisation horizon, years" },
  ITER_SECONDS: { key: "iter_seconds", fallback: 88, integer: true, note: "wall seconds per Phase 1 candidate" },
  CAMPAIGN_ITERS: { key: "campaign_iters", fallback: 100, integer: true, note: "Phase 1 candidates" },
  FINAL_NODE_HOURS: { key: "final_node_hours", fallback: 168, integer: true, note: "hours of the 8×H100 final run" },
};

/** Whole numbers as Python's int() reads them: no decimal point, no exponent. */
const INTEGER = /^[+-]?\d+$/;

/** Parse one non-negative number from text; returns a message saying what was expected otherwise. */
export function parseAmount(raw: string, integer: boolean, positive = false): number | string {
  const s = raw.trim();
  const expected = `expected a ${positive ? "positive" : "non-negative"} ${integer ? "whole number" : "number"}, got ${JSON.stringify(raw)}`;
  if (integer && !INTEGER.test(s)) return expected;
  const v = parseNumberText(s);
  if (!v.ok || !Number.isFinite(v.value)) return expected;
  if (v.value < 0) return `${expected} (negative)`;
  if (integer && !Number.isSafeInteger(v.value)) return `${expected} (too large)`;
  if (positive && v.value === 0) return expected;
  return v.value;
}

/** Rates from an environment (pure: pass process.env or a test's object). */
export function ratesFromEnv(env: Readonly<Record<string, string | undefined>>): Rates {
  const rates = {} as Rates;
  const problems: string[] = [];
  for (const [name, spec] of Object.entries(RATE_VARS)) {
    const raw = env[name];
    if (raw === undefined) {
      rates[spec.key] = spec.fallback;
      continue;
    }
    // `H100_HOURLY_USD= windtunnel cost` is a mistake, not a request for the default (the seed's
    // Python refuses it too: float("") raises).
    if (raw.trim() === "") {
      problems.push(`env ${name}: set but empty; unset it to use the default ${spec.fallback}, or give a number`);
      continue;
    }
    const v = parseAmount(raw, spec.integer, spec.positive);
    if (typeof v === "string") problems.push(`env ${name}: ${v}`);
    else rates[spec.key] = v;
  }
  if (problems.length > 0) throw new UsageError(problems.join("\n"));
  return rates;
}
