// `windtunnel gate`: read the evidence, run the shared gate engine, print the verdict (table,
// json or markdown), optionally write verdict.json; exit 0 pass, 1 a gate failed, 2 bad input.
// `windtunnel gate --check verdict.json` re-hashes and refuses a verdict whose inputs changed.
import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { basename, dirname, extname, relative, resolve } from "node:path";
import { InputError, UsageError } from "../../evidence/errors.ts";
import { detectFormat, openEvidence, readTrajectoryFile, TRAJECTORY_FORMATS, type Detected, type ReadOptions } from "../../evidence/read.ts";
import { parseYaml, validateYaml } from "../../evidence/yaml.ts";
import { sha256File, writeFileAtomic } from "../../evidence/files.ts";
import { describeFileError } from "../../evidence/lines.ts";
import { loadPolicy, BUILTIN_POLICIES, BUILTIN_POLICY_DIR, type LoadedPolicy } from "../../policy/load.ts";
import { ratesFromEnv } from "../../cost/rates.ts";
import { campaignPlanSchema } from "../../cost/plan.ts";
import { PHASES, type Phase } from "../../gates/types.ts";
import { evaluateSweep, type SweepOutcome } from "../../gates/sweep.ts";
import { CurveMonitor, survivorsGate, type CurveOutcome } from "../../gates/stress.ts";
import { evaluateSpend, type SpendOutcome } from "../../gates/spend.ts";
import { buildVerdict, checkVerdict, verdictSchema, type EvidenceRef, type Verdict } from "../../gates/verdict.ts";
import { renderMarkdown, renderTable } from "../../gates/report.ts";
import type { Io } from "../io.ts";
import pkg from "../../../package.json" with { type: "json" };

export const OUTPUT_FORMATS = ["table", "json", "markdown"] as const;

export interface GateFlags extends Pick<ReadOptions, "statusMap" | "logPreset" | "logRegex"> {
  phase: string;
  policy?: string;
  campaign?: string;
  out?: string;
  format: (typeof OUTPUT_FORMATS)[number];
}

export function parsePhases(raw: string): Phase[] {
  if (raw === "all") return [...PHASES];
  const phases = raw.split(",").map((s) => s.trim());
  const bad = phases.filter((p) => !(PHASES as readonly string[]).includes(p));
  if (bad.length > 0 || phases.length === 0) throw new UsageError(`--phase: expected sweep, stress, spend, a comma-separated list of them, or all; got ${JSON.stringify(raw)}`);
  return PHASES.filter((p) => phases.includes(p));
}

interface Input {
  file: string;
  detected: Detected;
}

interface Inputs {
  trajectory?: Input;
  curves: Input[];
  campaign?: string;
}

async function classify(files: readonly string[], flags: GateFlags): Promise<Inputs> {
  const inputs: Inputs = { curves: [] };
  if (flags.campaign !== undefined) inputs.campaign = flags.campaign;
  for (const file of files) {
    if ([".yaml", ".yml"].includes(extname(file))) {
      if (inputs.campaign !== undefined) throw new UsageError(`two campaign plans given: ${inputs.campaign} and ${file}`);
      inputs.campaign = file;
      continue;
    }
    const detected = await detectFormat(file, readOptions(flags));
    if ((TRAJECTORY_FORMATS as readonly string[]).includes(detected.format)) {
      if (inputs.trajectory !== undefined) throw new UsageError(`two trajectories given: ${inputs.trajectory.file} and ${file}; gate one sweep at a time`);
      inputs.trajectory = { file, detected };
    } else {
      inputs.curves.push({ file, detected });
    }
  }
  return inputs;
}

function requireInputs(phases: readonly Phase[], inputs: Inputs): void {
  const missing: string[] = [];
  if (phases.includes("sweep") && !inputs.trajectory) missing.push("sweep needs a Phase 1 trajectory (trajectory JSONL, agent-loop trajectory.jsonl or results.tsv)");
  if (phases.includes("stress") && inputs.curves.length === 0) missing.push("stress needs at least one Phase 2 curve (metrics JSONL or a training log)");
  if (phases.includes("spend") && !inputs.campaign) missing.push("spend needs a campaign plan (--campaign plan.yaml)");
  if (missing.length > 0) throw new UsageError(missing.join("\n"));
}

/** The reader's options from the gate's flags (whose --format is the output format, not evidence's). */
function readOptions(flags: GateFlags): ReadOptions {
  return { ...(flags.statusMap ? { statusMap: flags.statusMap } : {}), ...(flags.logPreset ? { logPreset: flags.logPreset } : {}), ...(flags.logRegex ? { logRegex: flags.logRegex } : {}) };
}

// Each file is hashed while it is read, so binding the verdict to it costs no second read.

function readTrajectory({ file, detected }: Input, flags: GateFlags) {
  return readTrajectoryFile(file, { ...readOptions(flags), detected });
}

async function streamCurve({ file, detected }: Input, subject: string, flags: GateFlags, policy: LoadedPolicy): Promise<{ outcome: CurveOutcome; sha256: string }> {
  const hash = createHash("sha256");
  const ev = await openEvidence(file, { ...readOptions(flags), detected, hash });
  if (ev.kind !== "metrics") throw InputError.at(file, 1, "format", "expected a loss curve");
  const monitor = new CurveMonitor(subject, policy.policy.stress);
  for await (const b of ev.points) for (const p of b) monitor.push(p);
  if (!ev.diag.ok) throw new InputError(ev.diag.problems.filter((p) => p.kind === "error"));
  return { outcome: monitor.finish(), sha256: hash.digest("hex") };
}

async function readCampaign(file: string) {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw InputError.at(file, 0, "file", describeFileError(err), { cause: err });
  }
  const plan = await validateYaml(parseYaml(file, bytes.toString("utf8")), campaignPlanSchema());
  return { plan, sha256: createHash("sha256").update(bytes).digest("hex") };
}

/** Curve names: file names, or paths when two curves share a name. */
function curveNames(files: readonly string[]): string[] {
  const names = files.map((f) => basename(f).replace(/\.(jsonl|log|txt)$/, ""));
  return names.map((n, i) => (names.indexOf(n) !== names.lastIndexOf(n) ? (files[i] as string) : n));
}

export async function gateCommand(files: readonly string[], flags: GateFlags, io: Io): Promise<number> {
  const phases = parsePhases(flags.phase);
  const policyRef = flags.policy ?? "default";
  const policy = await loadPolicy(policyRef);
  const inputs = await classify(files, flags);
  requireInputs(phases, inputs);

  let sweep: SweepOutcome | undefined;
  let stress: { outcomes: CurveOutcome[]; survivors: ReturnType<typeof survivorsGate> } | undefined;
  let spend: SpendOutcome | undefined;
  const used: { file: string; role: EvidenceRef["role"]; format?: string; sha256: string }[] = [];

  if (phases.includes("sweep") && inputs.trajectory) {
    const t = await readTrajectory(inputs.trajectory, flags);
    sweep = evaluateSweep({ subject: basename(inputs.trajectory.file), rows: t.rows, unreadable: t.unreadable }, policy.policy);
    used.push({ file: inputs.trajectory.file, role: "trajectory", format: inputs.trajectory.detected.format, sha256: t.sha256 });
  }
  if (phases.includes("stress")) {
    const names = curveNames(inputs.curves.map((c) => c.file));
    const outcomes: CurveOutcome[] = [];
    for (const [i, c] of inputs.curves.entries()) {
      const { outcome, sha256 } = await streamCurve(c, names[i] as string, flags, policy);
      outcomes.push(outcome);
      used.push({ file: c.file, role: "curve", format: c.detected.format, sha256 });
    }
    stress = { outcomes, survivors: survivorsGate(outcomes, policy.policy.stress) };
  }
  if (phases.includes("spend") && inputs.campaign) {
    const { plan, sha256 } = await readCampaign(inputs.campaign);
    spend = evaluateSpend(basename(inputs.campaign), plan, policy.policy.spend, ratesFromEnv(io.env));
    used.push({ file: inputs.campaign, role: "campaign", sha256 });
  }

  // Paths in a verdict are relative to the verdict file, so it can be checked from anywhere.
  const base = flags.out !== undefined ? dirname(resolve(flags.out)) : process.cwd();
  const rel = (f: string): string => relative(base, resolve(f)) || ".";
  const evidence: EvidenceRef[] = used.map((u) => ({ file: rel(u.file), role: u.role, ...(u.format ? { format: u.format } : {}), sha256: u.sha256 }));
  const verdict = buildVerdict({
    version: pkg.version,
    time: new Date(),
    phases,
    policy: { ref: (BUILTIN_POLICIES as readonly string[]).includes(policyRef) ? policyRef : rel(policyRef), files: policy.files.map((f) => (isBuiltin(f) ? `builtin:${basename(f, ".yaml")}` : rel(f))), sha256: policy.sha256 },
    evidence,
    ...(sweep ? { sweep } : {}),
    ...(stress ? { stress } : {}),
    ...(spend ? { spend } : {}),
  });
  if (flags.out !== undefined) await writeFileAtomic(flags.out, `${JSON.stringify(verdict, null, 2)}\n`);
  io.out(flags.format === "json" ? JSON.stringify(verdict, null, 2) : flags.format === "markdown" ? renderMarkdown(verdict) : renderTable(verdict));
  return verdict.pass ? 0 : 1;
}

function isBuiltin(file: string): boolean {
  return BUILTIN_POLICIES.some((b) => resolve(file) === resolve(BUILTIN_POLICY_DIR, `${b}.yaml`));
}

export async function checkCommand(verdictFile: string, io: Io): Promise<number> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(verdictFile, "utf8"));
  } catch (err) {
    throw InputError.at(verdictFile, 0, "file", err instanceof SyntaxError ? `not JSON: ${err.message}` : describeFileError(err), { cause: err });
  }
  const r = verdictSchema().safeParse(raw);
  if (!r.success) throw InputError.at(verdictFile, 0, r.error.issues[0]?.path.join(".") || "verdict", `not a windtunnel verdict: ${r.error.issues[0]?.message ?? "invalid"}`);
  const v = r.data as Verdict;
  const base = dirname(resolve(verdictFile));
  const hashes = new Map<string, string | null>();
  for (const e of v.evidence) hashes.set(e.file, await sha256File(resolve(base, e.file)));
  let policySha: string | null = null;
  try {
    policySha = (await loadPolicy((BUILTIN_POLICIES as readonly string[]).includes(v.policy.ref) ? v.policy.ref : resolve(base, v.policy.ref))).sha256;
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
  }
  const problems = checkVerdict(v, { evidence: hashes, policySha256: policySha });
  for (const e of v.evidence) {
    const p = problems.find((x) => x.file === e.file);
    io.out(p ? `✗ ${e.file} (${e.role}): ${p.what}${p.actual ? ` (sha256 ${p.expected?.slice(0, 12)} → ${p.actual.slice(0, 12)})` : ""}` : `✓ ${e.file} (${e.role}): unchanged`);
  }
  const pp = problems.find((x) => x.what === "policy changed");
  io.out(pp ? `✗ policy ${v.policy.ref}: changed or unreadable (sha256 ${v.policy.sha256.slice(0, 12)} → ${pp.actual?.slice(0, 12) ?? "none"})` : `✓ policy ${v.policy.ref}: unchanged`);
  if (!v.pass) io.out(`✗ the verdict itself failed (${v.gates.filter((g) => g.status === "fail").length} gate(s))`);
  if (problems.length > 0) {
    io.err(`${verdictFile}: refused: ${problems.map((p) => (p.what === "verdict failed" ? "the gates failed" : `${p.file} ${p.what}`)).join("; ")}`);
    return 1;
  }
  io.out(`${verdictFile}: valid — evidence and policy unchanged since ${v.time}, all gates passed`);
  return 0;
}
