// Monitor state between watchdog ticks: written as JSON that keeps NaN and ±Infinity, read back
// only when it is this version's. A snapshot carries a version, and every field is checked on the
// way in, so a state written by another version (a field renamed, added or retyped) is refused by
// name instead of resuming a monitor with an undefined in it. A value that may be absent is null
// in a snapshot, never a missing key, so that a missing key can be refused.
import "../common/zod-setup.ts";
import * as z from "zod/mini";
import { SnapshotError } from "../common/errors.ts";

// Plain JSON turns non-finite numbers into null, and a running minimum starts at Infinity:
// they become {"$num": "Infinity"}.
export function encodeState(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? { $num: String(v) } : v));
}

export function decodeState<T>(text: string): T {
  return JSON.parse(text, (_k, v: unknown) => {
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      const keys = Object.keys(o);
      if (keys.length === 1 && keys[0] === "$num" && typeof o["$num"] === "string") return Number(o["$num"]);
    }
    return v;
  }) as T;
}

/** Any number, NaN and ±Infinity included: zod's number() refuses them, and monitor state holds them. */
export const anyNumber = () => z.custom<number>((v) => typeof v === "number", { error: (issue) => `expected a number, received ${describe(issue.input)}` });

/** Refusals named in full before the rest are only counted (a foreign object fails on every field). */
const MAX_NAMED = 10;

/**
 * `data` as the snapshot `schema` describes, or a SnapshotError naming every field that is
 * missing or of another type. Another version is refused on its version alone: its other fields
 * would only add noise. `what` names the snapshot in the error ("the stress monitor's snapshot").
 */
export function readSnapshot<T>(what: string, version: number, schema: z.ZodMiniType<T>, data: unknown): T {
  const found = isRecord(data) ? data["version"] : undefined;
  if (found !== version) throw new SnapshotError(what, [{ field: "version", message: found === undefined ? `missing (this version reads version ${version})` : `expected ${version}, received ${describe(found)}` }]);
  const r = z.safeParse(schema, data);
  if (r.success) return r.data;
  const fields = r.error.issues.map((i) => ({ field: pathOf(i.path), message: valueAt(data, i.path) === undefined ? "missing" : i.message }));
  const named = fields.slice(0, MAX_NAMED);
  if (fields.length > MAX_NAMED) named.push({ field: "(more)", message: `${fields.length - MAX_NAMED} more fields refused` });
  throw new SnapshotError(what, named);
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let v = data;
  for (const k of path) v = v !== null && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  return v;
}

/** tracks.loss.window[3].step */
function pathOf(path: readonly PropertyKey[]): string {
  return path.reduce<string>((s, k) => (typeof k === "number" ? `${s}[${k}]` : s === "" ? String(k) : `${s}.${String(k)}`), "") || "(snapshot)";
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return typeof v === "string" ? JSON.stringify(v) : typeof v === "object" ? "an object" : String(v);
}
