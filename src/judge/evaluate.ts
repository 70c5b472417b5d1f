// The I/O shell around the gate engine: read evidence files, run the pure gates, bind the verdict
// to the files by sha256. `windtunnel gate`, the Pulumi program and `windtunnel plan` all call
// this, so a campaign is judged the same way wherever it is judged.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { basename, extname, relative, resolve } from "node:path";
import { InputError, UsageError } from "../evidence/errors.ts";
import { detectFormat, openEvidence, readTrajectoryFile, TRAJECTORY_FORMATS, type Detected, type ReadOptions } from "../evidence/read.ts";
import { parseYaml, validateYaml } from "../evidence/yaml.ts";
import { describeFileError } from "../evidence/lines.ts";
import { loadPolicy, BUILTIN_POLICIES, BUILTIN_POLICY_DIR, type LoadedPolicy } from "../policy/load.ts";
import type { Rates } from "../cost/rates.ts";
import { campaignPlanSchema, type CampaignPlan } from "../cost/plan.ts";
import type { Phase } from "../gates/types.ts";
import { evaluateSweep, type SweepOutcome } from "../gates/sweep.ts";
import { CurveMonitor, survivorsGate, type CurveOutcome } from "../gates/stress.ts";
import { evaluateSpend, type SpendOutcome } from "../gates/spend.ts";
import { buildVerdict, verdictSchema, type EvidenceRef, type Verdict } from "../gates/verdict.ts";
import pkg from "../../package.json" with { type: "json" };

export interface EvidenceFile {
  file: string;
  detected: Detected;
}

export interface ClassifiedEvidence {
  trajectory?: EvidenceFile;
  curves: EvidenceFile[];
  /** A campaign plan YAML named among the evidence files. */
  campaignFile?: string;
}

/** Sort evidence files by what they hold: one trajectory, loss curves, at most one campaign plan. */
export async function classifyEvidence(files: readonly string[], read: ReadOptions): Promise<ClassifiedEvidence> {
  const out: ClassifiedEvidence = { curves: [] };
  for (const file of files) {
    if ([".yaml", ".yml"].includes(extname(file))) {
      if (out.campaignFile !== undefined) throw new UsageError(`two campaign plans given: ${out.campaignFile} and ${file}`);
      out.campaignFile = file;
      continue;
    }
    const detected = await detectFormat(file, read);
    if ((TRAJECTORY_FORMATS as readonly string[]).includes(detected.format)) {
      if (out.trajectory !== undefined) throw new UsageError(`two trajectories given: ${out.trajectory.file} and ${file}; gate one sweep at a time`);
      out.trajectory = { file, detected };
    } else {
      out.curves.push({ file, detected });
    }
  }
  return out;
}

export interface Campaign {
  /** Where the plan came from, as the gate table names it (a file name, or the stack). */
  subject: string;
  plan: CampaignPlan;
  sha256: string;
  /** Set when the plan is a file, so the verdict can bind it by path. */
  file?: string;
}

/** A campaign plan YAML file, validated, hashed from the bytes that were read. */
export async function readCampaignFile(file: string): Promise<Campaign> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw InputError.at(file, 0, "file", describeFileError(err), { cause: err });
  }
  const plan = await validateYaml(parseYaml(file, bytes.toString("utf8")), campaignPlanSchema());
  return { subject: basename(file), plan, sha256: createHash("sha256").update(bytes).digest("hex"), file };
}

/** A plan that lives in memory (the Pulumi stack's config): hashed as canonical JSON. */
export function campaignFromPlan(subject: string, plan: CampaignPlan): Campaign {
  const canonical = JSON.stringify(Object.fromEntries(Object.entries(plan).sort(([a], [b]) => a.localeCompare(b))));
  return { subject, plan, sha256: createHash("sha256").update(canonical).digest("hex") };
}

export function missingEvidence(phases: readonly Phase[], e: { trajectory?: unknown; curves: readonly unknown[]; campaign?: unknown }): string[] {
  const missing: string[] = [];
  if (phases.includes("sweep") && !e.trajectory) missing.push("sweep needs a Phase 1 trajectory (trajectory JSONL, agent-loop trajectory.jsonl or results.tsv)");
  if (phases.includes("stress") && e.curves.length === 0) missing.push("stress needs at least one Phase 2 curve (metrics JSONL or a training log)");
  if (phases.includes("spend") && !e.campaign) missing.push("spend needs a campaign plan (--campaign plan.yaml)");
  return missing;
}

/** Curve names: file names, or paths when two curves share a name. */
export function curveNames(files: readonly string[]): string[] {
  const names = files.map((f) => basename(f).replace(/\.(jsonl|log|txt)$/, ""));
  return names.map((n, i) => (names.indexOf(n) !== names.lastIndexOf(n) ? (files[i] as string) : n));
}

// Each file is hashed while it is read, so binding the verdict to it costs no second read.
async function streamCurve({ file, detected }: EvidenceFile, subject: string, read: ReadOptions, policy: LoadedPolicy): Promise<{ outcome: CurveOutcome; sha256: string }> {
  const hash = createHash("sha256");
  const ev = await openEvidence(file, { ...read, detected, hash });
  if (ev.kind !== "metrics") throw InputError.at(file, 1, "format", "expected a loss curve");
  const monitor = new CurveMonitor(subject, policy.policy.stress);
  for await (const b of ev.points) for (const p of b) monitor.push(p);
  if (!ev.diag.ok) throw new InputError(ev.diag.problems.filter((p) => p.kind === "error"));
  return { outcome: monitor.finish(), sha256: hash.digest("hex") };
}

export interface JudgeInput {
  phases: readonly Phase[];
  /** A policy file or a built-in name. */
  policyRef: string;
  trajectory?: EvidenceFile;
  curves: readonly EvidenceFile[];
  campaign?: Campaign;
  read: ReadOptions;
  rates: Rates;
  /** Paths in the verdict are written relative to this folder. */
  base: string;
  time?: Date;
}

/** Run the required gates over the evidence: the verdict, with every file bound by sha256. */
export async function judge(i: JudgeInput): Promise<Verdict> {
  const missing = missingEvidence(i.phases, i);
  if (missing.length > 0) throw new UsageError(missing.join("\n"));
  const policy = await loadPolicy(i.policyRef);
  let sweep: SweepOutcome | undefined;
  let stress: { outcomes: CurveOutcome[]; survivors: ReturnType<typeof survivorsGate> } | undefined;
  let spend: SpendOutcome | undefined;
  const rel = (f: string): string => relative(i.base, resolve(f)) || ".";
  const used: EvidenceRef[] = [];

  if (i.phases.includes("sweep") && i.trajectory) {
    const t = await readTrajectoryFile(i.trajectory.file, { ...i.read, detected: i.trajectory.detected });
    sweep = evaluateSweep({ subject: basename(i.trajectory.file), rows: t.rows, unreadable: t.unreadable }, policy.policy);
    used.push({ file: rel(i.trajectory.file), role: "trajectory", format: i.trajectory.detected.format, sha256: t.sha256 });
  }
  if (i.phases.includes("stress")) {
    const names = curveNames(i.curves.map((c) => c.file));
    const outcomes: CurveOutcome[] = [];
    for (const [n, c] of i.curves.entries()) {
      const { outcome, sha256 } = await streamCurve(c, names[n] as string, i.read, policy);
      outcomes.push(outcome);
      used.push({ file: rel(c.file), role: "curve", format: c.detected.format, sha256 });
    }
    stress = { outcomes, survivors: survivorsGate(outcomes, policy.policy.stress) };
  }
  if (i.phases.includes("spend") && i.campaign) {
    spend = evaluateSpend(i.campaign.subject, i.campaign.plan, policy.policy.spend, i.rates);
    used.push({ file: i.campaign.file !== undefined ? rel(i.campaign.file) : i.campaign.subject, role: "campaign", sha256: i.campaign.sha256 });
  }

  const isBuiltin = (file: string): boolean => BUILTIN_POLICIES.some((b) => resolve(file) === resolve(BUILTIN_POLICY_DIR, `${b}.yaml`));
  return buildVerdict({
    version: pkg.version,
    time: i.time ?? new Date(),
    phases: i.phases,
    policy: {
      ref: (BUILTIN_POLICIES as readonly string[]).includes(i.policyRef) ? i.policyRef : rel(i.policyRef),
      files: policy.files.map((f) => (isBuiltin(f) ? `builtin:${basename(f, ".yaml")}` : rel(f))),
      sha256: policy.sha256,
    },
    evidence: used,
    ...(sweep ? { sweep } : {}),
    ...(stress ? { stress } : {}),
    ...(spend ? { spend } : {}),
  });
}

/** A verdict.json, checked to be one (bad input names the file and the field). */
export function readVerdictFile(file: string): Verdict {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw InputError.at(file, 0, "file", err instanceof SyntaxError ? `not JSON: ${err.message}` : describeFileError(err), { cause: err });
  }
  const r = verdictSchema().safeParse(raw);
  if (!r.success) throw InputError.at(file, 0, r.error.issues[0]?.path.join(".") || "verdict", `not a windtunnel verdict: ${r.error.issues[0]?.message ?? "invalid"}`);
  return r.data as Verdict;
}
