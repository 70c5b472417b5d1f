// Read a Pulumi stack file (stacks/Pulumi.<stack>.yaml) the way the Pulumi CLI would hand it to
// the program, validating the windtunnel:* keys with the program's own schema (and aws:region with
// the program's own region check) first, so a bad value is reported at its file:line:col rather
// than as a key path only.
import { existsSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { InputError, UsageError } from "../common/errors.ts";
import { readTextFile } from "../common/files.ts";
import { parseYaml, yamlProblems } from "../evidence/yaml.ts";
import type * as z from "zod/mini";
import { encodeConfigValue, instanceTypeOf, NAMESPACE, stackConfigSchema, type StackConfig } from "./config.ts";
import { regionProblem } from "./instance-types.ts";

export interface StackFile {
  file: string;
  /** The stack's name, from Pulumi.<name>.yaml. */
  stack: string;
  /** The folder holding Pulumi.yaml: relative evidence paths start there. */
  projectDir: string;
  config: StackConfig;
  /** Every config key as the Pulumi CLI passes it to a program (strings; objects as JSON). */
  encoded: Record<string, string>;
}

/** The nearest folder at or above `from` that holds Pulumi.yaml (else `from` itself). */
export function projectDirOf(from: string): string {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    if (existsSync(join(dir, "Pulumi.yaml"))) return dir;
    if (dirname(dir) === dir) return resolve(from);
  }
}

/** The stack file a command names: --stack-file as given (it must exist), else stacks/Pulumi.<--stack>.yaml of the project. */
export function stackFileOf(flags: { stack?: string | undefined; stackFile?: string | undefined }): string {
  if (flags.stackFile !== undefined) {
    if (!existsSync(flags.stackFile)) throw new UsageError(`--stack-file: no file ${flags.stackFile}`);
    return flags.stackFile;
  }
  const name = flags.stack ?? "example";
  const file = join(projectDirOf(process.cwd()), "stacks", `Pulumi.${name}.yaml`);
  if (!existsSync(file)) throw new UsageError(`--stack: no stack file ${relative(process.cwd(), file)}; give --stack-file, or copy stacks/Pulumi.example.yaml to stacks/Pulumi.${name}.yaml`);
  return file;
}

export async function readStackFile(file: string, overrides: Readonly<Record<string, unknown>> = {}): Promise<StackFile> {
  const y = parseYaml(file, readTextFile(file));
  const doc = y.value;
  const config = doc !== null && typeof doc === "object" && !Array.isArray(doc) ? (doc as Record<string, unknown>)["config"] : undefined;
  if (config === null || typeof config !== "object" || Array.isArray(config)) throw InputError.at(file, 1, "config", "expected a Pulumi stack file with a config: map");
  const entries = { ...(config as Record<string, unknown>), ...overrides };
  const ours: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(entries)) if (key.startsWith(`${NAMESPACE}:`)) ours[key.slice(NAMESPACE.length + 1)] = value;
  const r = stackConfigSchema().safeParse(ours);
  // Point zod's paths (relative to the windtunnel:* keys) at the YAML they came from.
  const issues: z.core.$ZodIssue[] = r.success ? [] : r.error.issues.map((issue) =>
    issue.code === "unrecognized_keys" && issue.path.length === 0
      ? { ...issue, path: ["config"], keys: issue.keys.map((k) => `${NAMESPACE}:${k}`) }
      : { ...issue, path: ["config", `${NAMESPACE}:${String(issue.path[0] ?? "")}`, ...issue.path.slice(1)] },
  );
  // aws:region is not ours, but a region that does not offer the node's type is refused here too.
  const region = entries["aws:region"];
  if (region !== undefined) {
    const problem = typeof region === "string" ? regionProblem(r.success ? r.data.node.instanceType : instanceTypeOf(ours), region) : "expected an AWS region name such as us-east-1";
    if (problem !== undefined) issues.push({ code: "custom", path: ["config", "aws:region"], message: problem, input: region });
  }
  if (!r.success || issues.length > 0) throw new InputError(await yamlProblems(y, { issues }));
  const encoded: Record<string, string> = {};
  for (const [key, value] of Object.entries(entries)) encoded[key] = encodeConfigValue(value);
  const stack = /Pulumi\.(.+)\.ya?ml$/.exec(file)?.[1] ?? "dev";
  return { file, stack, projectDir: projectDirOf(dirname(resolve(file))), config: r.data, encoded };
}
