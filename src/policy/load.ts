// Reads a gate policy and the chain it extends, validating each file where it is written so a
// mistake in a base file is reported in that file, then checks the merged result is complete.
import { readFileSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { createHash } from "node:crypto";
import { InputError } from "../common/errors.ts";
import { canonicalJson } from "../evidence/hash.ts";
import { parseYaml, validateYaml, yamlProblems, type YamlFile } from "../evidence/yaml.ts";
import { readTextFile } from "../common/files.ts";
import { packageRoot } from "../common/package-root.ts";
import { policyFileSchema, policySchema, type Policy } from "./schema.ts";

/** gates/ of the installed package: the built-in policies `default` and `strict`. */
export const BUILTIN_POLICY_DIR = join(packageRoot(), "gates");
export const BUILTIN_POLICIES = ["default", "strict"] as const;

export interface LoadedPolicy {
  policy: Policy;
  /** The chain, most specific first (as given, then each base). */
  files: string[];
  /** sha256 of the resolved policy as canonical JSON: what a verdict is bound to. */
  sha256: string;
}

/** A built-in policy resolved at build time (scripts/build.ts), valid only for the exact YAML it came from. */
export interface PrecompiledPolicy {
  sources: { file: string; sha256: string }[];
  policy: Policy;
  sha256: string;
}

// Replaced by a JSON string in the bundle (esbuild `define`); absent when running from src/.
declare const WINDTUNNEL_PRECOMPILED_POLICIES: string | undefined;

/**
 * The built-in policy from the bundle, if its YAML files on disk are byte for byte the ones it
 * was built from. Saves parsing and validating default.yaml (~8 ms) on every gate run.
 */
function precompiled(ref: string): LoadedPolicy | undefined {
  if (typeof WINDTUNNEL_PRECOMPILED_POLICIES !== "string") return undefined;
  const entry = (JSON.parse(WINDTUNNEL_PRECOMPILED_POLICIES) as Record<string, PrecompiledPolicy>)[ref];
  if (entry === undefined) return undefined;
  const files = entry.sources.map((s) => join(BUILTIN_POLICY_DIR, s.file));
  for (const [i, f] of files.entries()) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(f);
    } catch {
      return undefined;
    }
    if (createHash("sha256").update(bytes).digest("hex") !== entry.sources[i]?.sha256) return undefined;
  }
  return { policy: entry.policy, files, sha256: entry.sha256 };
}

/** A policy reference written in a file elsewhere: a built-in name as it is, a path from `baseDir`. */
export function policyRefAt(ref: string, baseDir: string): string {
  return (BUILTIN_POLICIES as readonly string[]).includes(ref) ? ref : resolve(baseDir, ref);
}

/** The file a policy reference names, or undefined for a built-in policy. */
export function policyFileOf(ref: string): string | undefined {
  return (BUILTIN_POLICIES as readonly string[]).includes(ref) ? undefined : ref;
}

/** `ref` is a file path or the name of a built-in policy. */
export async function loadPolicy(ref: string): Promise<LoadedPolicy> {
  if ((BUILTIN_POLICIES as readonly string[]).includes(ref)) {
    const ready = precompiled(ref);
    if (ready !== undefined) return ready;
  }
  const files: string[] = [];
  const chain: YamlFile[] = [];
  let next: string | undefined = policyPath(ref, process.cwd());
  while (next !== undefined) {
    if (files.includes(next)) throw InputError.at(next, 0, "extends", `cycle: ${[...files, next].join(" → ")}`);
    files.push(next);
    const y = readYaml(next);
    chain.push(y);
    const ext = isPlainObject(y.value) ? y.value["extends"] : undefined;
    if (ext !== undefined && typeof ext !== "string") await validateYaml(y, policyFileSchema()); // reports where
    next = typeof ext === "string" ? policyPath(ext, dirname(next)) : undefined;
  }
  let merged: Record<string, unknown> = {};
  for (const y of [...chain].reverse()) merged = merge(merged, isPlainObject(y.value) ? y.value : {});
  delete merged["extends"];
  const r = policySchema().safeParse(merged);
  if (r.success) return { policy: r.data, files, sha256: createHash("sha256").update(canonicalJson(r.data)).digest("hex") };
  // Something is wrong: find it in the file that wrote it, then report what is missing overall.
  for (const y of chain) await validateYaml(y, policyFileSchema());
  const top = chain[0] as YamlFile;
  const also = files.length > 1 ? ` (not set in ${files.join(", ")})` : "";
  throw new InputError((await yamlProblems(top, r.error)).map((p) => (/required field is missing/.test(p.message) ? { ...p, message: `${p.message}${also}` } : p)));
}

function policyPath(ref: string, base: string): string {
  if ((BUILTIN_POLICIES as readonly string[]).includes(ref)) return resolve(BUILTIN_POLICY_DIR, `${ref}.yaml`);
  return isAbsolute(ref) ? ref : resolve(base, ref);
}

function readYaml(file: string): YamlFile {
  return parseYaml(file, readTextFile(file));
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
