// Our JSON files (envelopes, verdicts): parsed as Python writes JSON, checked by a zod schema,
// hashed from the very bytes that were read, and every problem named at the file and field.
import { createHash } from "node:crypto";
import type * as z from "zod/mini";
import { InputError } from "../common/errors.ts";
import { readInputFile } from "../common/files.ts";
import { parseJsonText } from "./json.ts";
import { describeIssue } from "./issues.ts";

/** A JSON file of one of our formats: the value (as the schema checked it) and the sha256 of its bytes. */
export function readJsonFile<S extends z.ZodMiniType>(file: string, schema: S, what: string): { value: z.output<S>; sha256: string } {
  const bytes = readInputFile(file);
  const j = parseJsonText(bytes.toString("utf8"));
  if (!j.ok) {
    if (j.problem === "duplicate") throw InputError.at(file, 0, j.key, `written twice in one object; JSON keeps only the last, so the ${what} is ambiguous`);
    throw InputError.at(file, 0, "file", j.problem === "too-deep" ? j.message : `not JSON: ${j.message}`);
  }
  const raw = j.value;
  const r = schema.safeParse(raw);
  if (!r.success) throw new InputError(r.error.issues.map((issue) => ({ file, line: 0, kind: "error" as const, field: issue.path.length > 0 ? issue.path.join(".") : what, message: `not a windtunnel ${what}: ${describeIssue(issue, raw).message}` })));
  return { value: r.data, sha256: createHash("sha256").update(bytes).digest("hex") };
}

