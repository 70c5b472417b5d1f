// Reads a gate policy and the chain it extends, validating each file where it is written so a
// mistake in a base file is reported in that file, then checks the merged result is complete.
import { readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createHash } from "node:crypto";
import { InputError } from "../evidence/errors.ts";
import { canonicalJson } from "../evidence/hash.ts";
import { parseYaml, validateYaml, yamlProblems, type YamlFile } from "../evidence/yaml.ts";
import { describeFileError } from "../evidence/lines.ts";
import { PolicyFileSchema, PolicySchema, type Policy } from "./schema.ts";

/** gates/ of the installed package: the built-in policies `default` and `strict`. */
export const BUILTIN_POLICY_DIR = fileURLToPath(new URL("../../gates/", import.meta.url));
export const BUILTIN_POLICIES = ["default", "strict"] as const;

export interface LoadedPolicy {
  policy: Policy;
  /** The chain, most specific first (as given, then each base). */
  files: string[];
  /** sha256 of the resolved policy as canonical JSON: what a verdict is bound to. */
  sha256: string;
}

/** `ref` is a file path or the name of a built-in policy. */
export function loadPolicy(ref: string): LoadedPolicy {
  const files: string[] = [];
  const chain: YamlFile[] = [];
  let merged: Record<string, unknown> = {};
  const layers: Record<string, unknown>[] = [];
  let next: string | undefined = policyPath(ref, process.cwd());
  while (next !== undefined) {
    if (files.includes(next)) throw InputError.at(next, 0, "extends", `cycle: ${[...files, next].join(" → ")}`);
    files.push(next);
    const y = readYaml(next);
    chain.push(y);
    const layer = validateYaml(y, PolicyFileSchema) as Record<string, unknown>;
    layers.push(layer);
    const ext = layer["extends"];
    next = typeof ext === "string" ? policyPath(ext, dirname(next)) : undefined;
  }
  for (const layer of layers.reverse()) merged = merge(merged, layer);
  delete merged["extends"];
  const r = PolicySchema.safeParse(merged);
  if (!r.success) {
    const top = chain[0] as YamlFile;
    const also = files.length > 1 ? ` (not set in ${files.join(", ")})` : "";
    throw new InputError(yamlProblems(top, r.error).map((p) => (/required field is missing/.test(p.message) ? { ...p, message: `${p.message}${also}` } : p)));
  }
  return { policy: r.data, files, sha256: createHash("sha256").update(canonicalJson(r.data)).digest("hex") };
}

function policyPath(ref: string, base: string): string {
  if ((BUILTIN_POLICIES as readonly string[]).includes(ref)) return resolve(BUILTIN_POLICY_DIR, `${ref}.yaml`);
  return isAbsolute(ref) ? ref : resolve(base, ref);
}

function readYaml(file: string): YamlFile {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw InputError.at(file, 0, "file", describeFileError(err), { cause: err });
  }
  return parseYaml(file, text);
}

/** Objects merge key by key; arrays, scalars and null replace. */
function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isPlainObject(v) && isPlainObject(b) ? merge(b, v) : v;
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}
