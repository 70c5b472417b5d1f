// YAML files we own (gate policies, campaign plans) validated by zod, with every problem located
// at file:line:col and named by its key path, e.g.
//   gates/mine.yaml:12:5: stress.flatline.min_drop: expected a number, got "5%"
//
// Two parsers, on purpose. js-yaml (core schema: the same YAML 1.2 values as the `yaml` library's
// default) reads every file; it loads in ~4 ms where `yaml` takes ~18 ms, and `windtunnel gate` is
// meant to start nearly as fast as node itself. Only when zod finds a problem is `yaml` loaded, for
// its LineCounter, to point at the key or value at fault. Syntax errors come from js-yaml's marks.
import { CORE_SCHEMA, load, YAMLException } from "js-yaml";
import type * as z from "zod/mini";
import { InputError } from "../common/errors.ts";
import { describeIssue } from "./issues.ts";
import type { Problem } from "../common/problems.ts";

export interface YamlFile {
  file: string;
  text: string;
  value: unknown;
}

/** Parse YAML text (duplicate keys are errors), reporting a syntax error at its position. */
export function parseYaml(file: string, text: string): YamlFile {
  try {
    return { file, text, value: load(text, { schema: CORE_SCHEMA, filename: file }) };
  } catch (err) {
    if (!(err instanceof YAMLException)) throw err;
    const line = (err.mark?.line ?? 0) + 1;
    const column = (err.mark?.column ?? 0) + 1;
    throw new InputError({ file, line, column, field: "yaml", message: err.reason ?? err.message.split("\n")[0] ?? "invalid YAML", kind: "error" }, { cause: err });
  }
}

type Locate = (path: readonly PropertyKey[], key?: string) => { line: number; column: number };

/** Where `path` is written (or its nearest written parent); `key` points at a map key itself. */
async function locator(text: string): Promise<Locate> {
  // `yaml` is CommonJS: Node's loader gives its named exports, but the bundle (dist/) gives only
  // `default`, and destructuring that crashed every located YAML error of the installed binary.
  const mod: typeof import("yaml") & { default?: typeof import("yaml") } = await import("yaml");
  const { LineCounter, isMap, isScalar, parseDocument } = typeof mod.LineCounter === "function" ? mod : (mod.default as typeof import("yaml"));
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: false });
  const at = (offset: number | undefined): { line: number; column: number } => {
    const p = lineCounter.linePos(offset ?? 0);
    return { line: p.line, column: p.col };
  };
  return (path, key) => {
    for (let depth = path.length; depth >= 0; depth--) {
      const sub = path.slice(0, depth);
      const node: unknown = sub.length === 0 ? doc.contents : doc.getIn(sub as unknown[], true);
      if (node === undefined || node === null) continue;
      if (key !== undefined && depth === path.length && isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
        if (pair && isScalar(pair.key)) return at(pair.key.range?.[0]);
      }
      return at((node as { range?: [number, number, number] }).range?.[0]);
    }
    return { line: 1, column: 1 };
  };
}

/** Every zod issue as a located problem. */
export async function yamlProblems(y: YamlFile, error: Pick<z.core.$ZodError, "issues">): Promise<Problem[]> {
  const locate = await locator(y.text);
  const problems: Problem[] = [];
  for (const issue of error.issues) {
    const path = issue.path;
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        const pos = locate(path, key);
        problems.push({ file: y.file, line: pos.line, column: pos.column, field: [...path, key].map(String).join("."), message: "unknown key (a typo? see the schema with `windtunnel schema`)", kind: "error" });
      }
      continue;
    }
    const { message } = describeIssue(issue, y.value);
    const pos = locate(path);
    problems.push({ file: y.file, line: pos.line, column: pos.column, field: path.length > 0 ? path.map(String).join(".") : "document", message, kind: "error" });
  }
  return problems;
}

/** Validate a parsed YAML file against a schema, throwing every located problem at once. */
export async function validateYaml<S extends z.ZodMiniType>(y: YamlFile, schema: S): Promise<z.output<S>> {
  const r = schema.safeParse(y.value);
  if (!r.success) throw new InputError(await yamlProblems(y, r.error));
  return r.data;
}
