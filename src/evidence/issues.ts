// Turns a zod failure into our one-line shape: the key path as the field and "expected …, got …".
import type * as z from "zod/mini";

export interface FieldIssue {
  field: string;
  message: string;
}

export function firstIssue(error: z.core.$ZodError, input: unknown): FieldIssue {
  const issue = error.issues[0];
  return issue ? describeIssue(issue, input) : { field: "row", message: "invalid" };
}

/** One zod issue as our field and "expected …, got …" message. */
export function describeIssue(issue: z.core.$ZodIssue, input: unknown): FieldIssue {
  const field = issue.path.length > 0 ? issue.path.map(String).join(".") : "row";
  const value = valueAt(input, issue.path);
  if (value === undefined && issue.path.length > 0 && !hasKey(input, issue.path)) {
    return { field, message: `required field is missing (${expectedOf(issue.message)})` };
  }
  if (issue.code === "unrecognized_keys") return { field, message: `unknown key(s) ${issue.keys.join(", ")}` };
  return { field, message: `${expectedOf(issue.message)}, got ${show(value)}` };
}

function expectedOf(message: string): string {
  return message.replace(/^Invalid (input|option): /, "").replace(/, received .*$/, "");
}

function hasKey(input: unknown, path: readonly PropertyKey[]): boolean {
  const parent = valueAt(input, path.slice(0, -1));
  return parent !== null && typeof parent === "object" && Object.hasOwn(parent, path[path.length - 1] as PropertyKey);
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v = input;
  for (const k of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

export function show(v: unknown): string {
  if (v === undefined) return "nothing";
  if (typeof v === "number") return Number.isNaN(v) ? "NaN" : String(v);
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (Array.isArray(v)) return "an array";
  if (v === null) return "null";
  if (typeof v === "object") return "an object";
  return String(v);
}
