// Identical candidates must be recognised however their keys are ordered, so the hash is taken
// over a canonical JSON encoding (keys sorted at every depth). The seed is excluded by default:
// the same config under another seed is a noise repeat, which the separation gate needs.
import { createHash } from "node:crypto";

export const DEFAULT_IDENTITY_EXCLUDE = ["seed"] as const;

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") {
    if (typeof value === "number" && !Number.isFinite(value)) return JSON.stringify(String(value));
    if (Object.is(value, -0)) return "0";
    return JSON.stringify(value) ?? "null";
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(",")}}`;
}

export function configHash(config: Record<string, unknown>, exclude: readonly string[] = DEFAULT_IDENTITY_EXCLUDE): string {
  const identity: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config)) if (!exclude.includes(k)) identity[k] = v;
  return createHash("sha256").update(canonicalJson(identity)).digest("hex");
}
