// Identical candidates must be recognised however their keys are ordered, so the hash is taken
// over a canonical JSON encoding (keys sorted at every depth). The seed is excluded by default:
// the same config under another seed is a noise repeat, which the separation gate needs.
import { hash } from "node:crypto";

export const DEFAULT_IDENTITY_EXCLUDE = ["seed"] as const;

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") {
    if (typeof value === "number" && !Number.isFinite(value)) return JSON.stringify(String(value));
    if (Object.is(value, -0)) return "0";
    return JSON.stringify(value) ?? "null";
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const obj = value as Record<string, unknown>;
  // A loop, not filter/map/join: this runs per trajectory row at every start-up, mostly cold.
  let out = "";
  for (const k of Object.keys(obj).sort()) {
    const v = obj[k];
    if (v !== undefined) out += `${out === "" ? "" : ","}${JSON.stringify(k)}:${canonicalJson(v)}`;
  }
  return `{${out}}`;
}

/** How deep a candidate's config may nest: knobs are values, perhaps a small object of them. */
export const MAX_CONFIG_DEPTH = 32;

/**
 * True when `value` nests objects or arrays more than `limit` levels deep. Iterative, so a
 * hostile row thousands of levels deep is measured without overflowing the stack that
 * canonicalJson (recursive) would.
 */
export function nestedDeeperThan(value: unknown, limit: number): boolean {
  if (value === null || typeof value !== "object") return false;
  if (limit <= 0) return true;
  // The usual config, a flat map of knob values, without a stack.
  if (!(Array.isArray(value) ? value : Object.values(value)).some((v) => v !== null && typeof v === "object")) return false;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (v === null || typeof v !== "object") continue;
    if (depth >= limit) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}

export function configHash(config: Record<string, unknown>, exclude: readonly string[] = DEFAULT_IDENTITY_EXCLUDE): string {
  const identity: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config)) if (!exclude.includes(k)) identity[k] = v;
  // One-shot hash: a Hash object per row cost half of hashing a trajectory's configs.
  return hash("sha256", canonicalJson(identity));
}
