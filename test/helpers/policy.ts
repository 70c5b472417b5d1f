// Policies for tests: the built-in default with a few keys changed, without writing files.
import { loadPolicy } from "../../src/policy/load.ts";
import { policySchema, type Policy } from "../../src/policy/schema.ts";

type DeepPartial<T> = T extends readonly unknown[] ? T : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

export const DEFAULT_POLICY: Policy = (await loadPolicy("default")).policy;

export function policyWith(over: DeepPartial<Policy>): Policy {
  const merge = (a: unknown, b: unknown): unknown =>
    b !== null && typeof b === "object" && !Array.isArray(b) && a !== null && typeof a === "object" && !Array.isArray(a)
      ? Object.fromEntries([...new Set([...Object.keys(a), ...Object.keys(b)])].map((k) => [k, k in b ? merge((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]) : (a as Record<string, unknown>)[k]]))
      : b;
  return policySchema().parse(merge(DEFAULT_POLICY, over));
}
