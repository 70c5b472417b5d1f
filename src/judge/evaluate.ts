// Judging a campaign from its files: the phases' judges (judge/phases.ts) run in the registry's
// order over evidence sorted by kind (judge/evidence.ts), and the verdict binds every file read by
// sha256. `windtunnel gate`, the Pulumi program and `windtunnel plan` all call this, so a campaign
// is judged the same way wherever it is judged. `rejudge` is `gate --check`'s second look.
import { basename, relative, resolve } from "node:path";
import { UsageError } from "../common/errors.ts";
import { detectFormat, type ReadOptions } from "../evidence/read.ts";
import { loadPolicy, BUILTIN_POLICIES, BUILTIN_POLICY_DIR, type LoadedPolicy } from "../policy/load.ts";
import { ratesFromEnv, type Rates } from "../cost/rates.ts";
import { PHASES, type Phase } from "../gates/phases.ts";
import type { SweepOutcome } from "../gates/sweep.ts";
import { buildVerdict, type EvidenceRef, type PhaseOutcomes, type ReadRecord, type Verdict } from "../gates/verdict.ts";
import { readCampaignFile, readEnvelopeFile, type EvidenceFile } from "./evidence.ts";
import { judgePhase, missingEvidence, sweepOf, type JudgeContext, type PhaseEvidence } from "./phases.ts";
import pkg from "../../package.json" with { type: "json" };

export interface JudgeInput extends PhaseEvidence {
  phases: readonly Phase[];
  /** A policy file or a built-in name. */
  policyRef: string;
  /** The policy `policyRef` names, when the caller loaded it already (several judgements, one load). */
  policy?: LoadedPolicy;
  read: ReadOptions;
  rates: Rates;
  /** Paths in the verdict are written relative to this folder. */
  base: string;
  time?: Date;
}

/** Run the required gates over the evidence: the verdict, with every file bound by sha256. */
export async function judge(i: JudgeInput): Promise<Verdict> {
  return (await judgeWithOutcomes(i)).verdict;
}

/** The verdict, and the sweep's full outcome (every distinct config) for a caller that draws it. */
export async function judgeWithOutcomes(i: JudgeInput): Promise<{ verdict: Verdict; sweep?: SweepOutcome }> {
  const missing = missingEvidence(i.phases, i);
  if (missing.length > 0) throw new UsageError(missing.join("\n"));
  const policy = i.policy ?? (await loadPolicy(i.policyRef));
  const rel = (f: string): string => relative(i.base, resolve(f)) || ".";
  const used: EvidenceRef[] = [];
  let sweep: Promise<SweepOutcome | undefined> | undefined;
  const ctx: JudgeContext = {
    evidence: i,
    read: i.read,
    policy,
    rates: i.rates,
    phases: i.phases,
    rel,
    used,
    // The trajectory is read for the sweep gates, and for stress too: it names the finalists the
    // curves must belong to (then it is evidence of the stress verdict, and bound like any other).
    sweep: () => (sweep ??= i.trajectory ? sweepOf(i.trajectory, { read: i.read, policy, rel, used }) : Promise.resolve(undefined)),
  };
  const outcomes: Partial<PhaseOutcomes> = {};
  for (const p of PHASES) if (i.phases.includes(p)) await judgeOne(p, ctx, outcomes);

  const isBuiltin = (file: string): boolean => BUILTIN_POLICIES.some((b) => resolve(file) === resolve(BUILTIN_POLICY_DIR, `${b}.yaml`));
  const verdict = buildVerdict({
    version: pkg.version,
    time: i.time ?? new Date(),
    phases: i.phases,
    read: readRecordOf(i.read),
    rates: i.rates,
    policy: {
      ref: (BUILTIN_POLICIES as readonly string[]).includes(i.policyRef) ? i.policyRef : rel(i.policyRef),
      files: policy.files.map((f) => (isBuiltin(f) ? `builtin:${basename(f, ".yaml")}` : rel(f))),
      sha256: policy.sha256,
    },
    evidence: used,
    ...outcomes,
  });
  return { verdict, ...(outcomes.sweep ? { sweep: outcomes.sweep } : {}) };
}

async function judgeOne<P extends Phase>(phase: P, ctx: JudgeContext, into: Partial<PhaseOutcomes>): Promise<void> {
  into[phase] = await judgePhase(phase, ctx);
}

/** The reading options a verdict records (only those that change what is read). */
function readRecordOf(r: ReadOptions): ReadRecord {
  return { ...(r.statusMap ? { statusMap: r.statusMap } : {}), ...(r.logPreset ? { logPreset: r.logPreset } : {}), ...(r.logRegex ? { logRegex: r.logRegex } : {}) };
}

/**
 * Judge a verdict's own evidence again, as it was judged: the files it lists (relative to `base`,
 * the verdict's folder), read as it records, under its policy, rates and time. `gate --check`
 * compares the result with what the verdict says; a file that is not the evidence it claims to be
 * fails here like any bad input.
 */
export async function rejudge(v: Verdict, base: string, policyRef: string, policy: LoadedPolicy, env: Readonly<Record<string, string | undefined>>): Promise<Verdict> {
  const read: ReadOptions = { ...(v.read ?? {}) };
  const abs = (f: string): string => resolve(base, f);
  const files = (role: EvidenceRef["role"]): EvidenceRef[] => v.evidence.filter((e) => e.role === role);
  const evidenceFile = async (e: EvidenceRef): Promise<EvidenceFile> => ({ file: abs(e.file), detected: await detectFormat(abs(e.file), read) });
  const curveRole = v.phases.includes("stress") ? "curve" : v.phases.includes("sanity") ? "sanity" : "cloud";
  const curves: EvidenceFile[] = [];
  for (const e of files(curveRole)) curves.push(await evidenceFile(e));
  const trajectory = files("trajectory")[0];
  const campaign = files("campaign")[0];
  const envelope = files("envelope")[0];
  if (campaign && v.phases.includes("spend") && !campaign.file.endsWith(".yaml") && !campaign.file.endsWith(".yml")) throw new UsageError(`the verdict's campaign plan is ${campaign.file} (a stack's config, not a file): judge it with windtunnel plan`);
  return judge({
    phases: v.phases,
    policyRef,
    policy,
    curves,
    ...(trajectory ? { trajectory: await evidenceFile(trajectory) } : {}),
    ...(campaign && v.phases.includes("spend") ? { campaign: await readCampaignFile(abs(campaign.file)) } : {}),
    ...(envelope ? { envelope: readEnvelopeFile(abs(envelope.file)) } : {}),
    read,
    rates: (v.rates as Rates | undefined) ?? ratesFromEnv(env),
    base,
    time: new Date(v.time),
  });
}
