// YAML files we own (gate policies, campaign plans) validated by zod, with every problem located
// at file:line:col and named by its key path, e.g.
//   gates/mine.yaml:12:5: stress.flatline.min_drop: expected a number, got "5%"
import { LineCounter, isMap, isScalar, parseDocument, type Document } from "yaml";
import type * as z from "zod";
import { InputError } from "./errors.ts";
import { describeIssue } from "./issues.ts";
import type { Problem } from "./problems.ts";

export interface YamlFile {
  file: string;
  value: unknown;
  /** Where `path` is written (or its nearest written parent); `key` points at a map key instead of its value. */
  locate(path: readonly PropertyKey[], key?: string): { line: number; column: number };
}

/** Parse YAML text; every syntax error (duplicate keys included) is reported with its position. */
export function parseYaml(file: string, text: string): YamlFile {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new InputError(
      doc.errors.map((e) => {
        const pos = lineCounter.linePos(e.pos[0]);
        return { file, line: pos.line, column: pos.col, field: "yaml", message: e.message.split("\n")[0] ?? e.code, kind: "error" as const };
      }),
    );
  }
  const at = (offset: number | undefined): { line: number; column: number } => {
    const p = lineCounter.linePos(offset ?? 0);
    return { line: p.line, column: p.col };
  };
  return {
    file,
    value: doc.toJS({ maxAliasCount: 100 }),
    locate(path, key) {
      for (let depth = path.length; depth >= 0; depth--) {
        const node = nodeAt(doc, path.slice(0, depth));
        if (node === undefined) continue;
        if (key !== undefined && depth === path.length && isMap(node)) {
          const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
          if (pair && isScalar(pair.key)) return at(pair.key.range?.[0]);
        }
        const range = (node as { range?: [number, number, number] }).range;
        return at(range?.[0]);
      }
      return { line: 1, column: 1 };
    },
  };
}

function nodeAt(doc: Document, path: readonly PropertyKey[]): unknown {
  if (path.length === 0) return doc.contents ?? undefined;
  return doc.getIn(path as unknown[], true) ?? undefined;
}

/** Every zod issue as a located problem. */
export function yamlProblems(y: YamlFile, error: z.ZodError, pathPrefix: readonly PropertyKey[] = []): Problem[] {
  const problems: Problem[] = [];
  for (const issue of error.issues) {
    const path = [...pathPrefix, ...issue.path];
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        const pos = y.locate(path, key);
        const field = [...path, key].map(String).join(".");
        problems.push({ file: y.file, line: pos.line, column: pos.column, field, message: "unknown key (a typo? see the schema with `windtunnel schema`)", kind: "error" });
      }
      continue;
    }
    const { message } = describeIssue(issue, y.value);
    const pos = y.locate(path);
    problems.push({ file: y.file, line: pos.line, column: pos.column, field: path.length > 0 ? path.map(String).join(".") : "document", message, kind: "error" });
  }
  return problems;
}

/** Validate a parsed YAML file against a schema, throwing every located problem at once. */
export function validateYaml<S extends z.ZodType>(y: YamlFile, schema: S): z.output<S> {
  const r = schema.safeParse(y.value);
  if (!r.success) throw new InputError(yamlProblems(y, r.error));
  return r.data;
}
