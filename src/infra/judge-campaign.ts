// The gate check that stands before every resource: resolve the stack's evidence files (paths,
// globs, or the reviewed verdict's own list), judge them with the shared engine, and refuse when a
// gate fails or when the evidence no longer hashes as it did in the verdict reviewed in CI.
// No Pulumi import: the program, `windtunnel plan` and the tests call it the same way.
import { createHash } from "node:crypto";
import { globSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { GateRefusal, InputError } from "../common/errors.ts";
import { campaignFailures } from "../gates/types.ts";
import { phasesJudged } from "../gates/phases.ts";
import { ratesFromEnv } from "../cost/rates.ts";
import { loadPolicy, policyRefAt } from "../policy/load.ts";
import type { Policy } from "../policy/schema.ts";
import type { JudgedPrice } from "../cost/live-price.ts";
import { checkVerdict, verdictDigest, type Verdict } from "../gates/verdict.ts";
import { renderTable } from "../gates/table.ts";
import { judge } from "../judge/evaluate.ts";
import { campaignFromPlan, classifyEvidence, readVerdictFile } from "../judge/evidence.ts";
import { campaignPlanOf, NAMESPACE, type StackConfig } from "./config.ts";

export interface CampaignJudgement {
  verdict: Verdict;
  /** Stage full: the sanity day, re-judged from its metrics. */
  sanity?: Verdict;
  digest: string;
  forecastUsd: number;
  /** The evidence files judged, as given or matched. */
  files: { trajectory: string; curves: string[] };
  /** The policy that judged them (the watchdog gets its sections). */
  policy: Policy;
}

export interface JudgeContext {
  /** The project folder: relative evidence paths start here. */
  baseDir: string;
  /** Names the stack config in messages, e.g. stacks/Pulumi.dev.yaml. */
  configName: string;
  env: Readonly<Record<string, string | undefined>>;
  /** `plan --live`: the spot quote the spend gates judge instead of node.hourlyUsd. */
  price?: JudgedPrice;
}

const isGlob = (p: string): boolean => /[*?[\]{}]/.test(p);

/** Paths and globs, relative to the project, as files; a glob that matches nothing is bad input. */
function expand(patterns: readonly string[], key: string, hint: string, ctx: JudgeContext): string[] {
  return patterns.flatMap((pattern, i) => {
    if (!isGlob(pattern)) return [resolve(ctx.baseDir, pattern)];
    const matched = globSync(pattern, { cwd: ctx.baseDir }).sort().map((f) => resolve(ctx.baseDir, f));
    if (matched.length === 0) throw InputError.at(ctx.configName, 0, `${key}[${i}]`, `no file matches ${JSON.stringify(pattern)} in ${ctx.baseDir} (${hint})`);
    return matched;
  });
}

function resolveFiles(c: StackConfig, ctx: JudgeContext, pinned: { verdict: Verdict; dir: string } | undefined): CampaignJudgement["files"] {
  const fromPinned = (role: "trajectory" | "curve"): string[] => (pinned?.verdict.evidence ?? []).filter((e) => e.role === role).map((e) => resolve(pinned?.dir ?? ctx.baseDir, e.file));
  const trajectory = c.evidence.trajectory !== undefined ? resolve(ctx.baseDir, c.evidence.trajectory) : fromPinned("trajectory")[0];
  if (trajectory === undefined) throw InputError.at(ctx.configName, 0, `${NAMESPACE}:evidence.trajectory`, "not given, and the verdict names no trajectory");
  let curves: string[];
  if (c.evidence.curves !== undefined) {
    curves = expand(c.evidence.curves, `${NAMESPACE}:evidence.curves`, "has Phase 2 run?", ctx);
  } else {
    curves = fromPinned("curve");
  }
  if (curves.length === 0) throw InputError.at(ctx.configName, 0, `${NAMESPACE}:evidence.curves`, "not given, and the verdict names no curve");
  return { trajectory, curves: [...new Set(curves)] };
}

/** Every difference between the evidence judged now and the reviewed verdict, as sentences. */
function tampering(now: Verdict, pinned: Verdict, pinnedDir: string, baseDir: string): string[] {
  const judged = pinned.evidence.filter((e) => e.role !== "campaign");
  const hashes = new Map<string, string | null>();
  for (const e of now.evidence) if (e.role !== "campaign") hashes.set(relative(pinnedDir, resolve(baseDir, e.file)), e.sha256);
  const problems = checkVerdict({ ...pinned, evidence: judged }, { evidence: hashes, policySha256: now.policy.sha256 }).map((p) =>
    p.what === "changed" ? `${p.file} changed since the verdict (sha256 ${p.expected?.slice(0, 12)} → ${p.actual?.slice(0, 12)})`
    : p.what === "missing" ? `${p.file} is in the verdict but was not judged now`
    : p.what === "policy changed" ? `the policy changed since the verdict (sha256 ${p.expected?.slice(0, 12)} → ${p.actual?.slice(0, 12)})`
    : "the reviewed verdict itself failed",
  );
  const known = new Set(judged.map((e) => e.file));
  for (const f of hashes.keys()) if (!known.has(f)) problems.push(`${f} is not in the verdict`);
  return problems;
}

export async function judgeCampaign(c: StackConfig, ctx: JudgeContext): Promise<CampaignJudgement> {
  const pinnedFile = c.evidence.verdict !== undefined ? resolve(ctx.baseDir, c.evidence.verdict) : undefined;
  const pinned = pinnedFile !== undefined ? { verdict: readVerdictFile(pinnedFile), dir: dirname(pinnedFile), file: pinnedFile } : undefined;
  const files = resolveFiles(c, ctx, pinned);
  const evidence = await classifyEvidence([files.trajectory, ...files.curves], {});
  if (!evidence.trajectory) throw InputError.at(files.trajectory, 1, "format", "expected a Phase 1 trajectory");
  // Judged relative to the project, as `windtunnel gate` run from the project folder would.
  const policyRef = policyRefAt(c.policy, ctx.baseDir);
  const policy = await loadPolicy(policyRef);
  const verdict = await judge({
    phases: phasesJudged("before-any-node"),
    policyRef,
    policy,
    trajectory: evidence.trajectory,
    curves: evidence.curves,
    campaign: campaignFromPlan(`${NAMESPACE}:${c.campaign}`, campaignPlanOf(c), ctx.price),
    read: {},
    rates: ratesFromEnv(ctx.env),
    base: ctx.baseDir,
  });
  // Candidate-scope failures (one finalist rejected) do not fail the campaign; name what does.
  const failed = campaignFailures(verdict.gates);
  if (!verdict.pass) {
    const names = [...new Set(failed.map((g) => `${g.id}${g.step !== undefined ? ` (${g.subject}, step ${g.step})` : g.subject.includes(":") ? "" : ` (${g.subject})`}`))];
    throw new GateRefusal(`${renderTable(verdict)}\nrefused: the evidence does not pass (${names.join("; ")}); nothing was created.`);
  }
  if (pinned) {
    const problems = tampering(verdict, pinned.verdict, pinned.dir, ctx.baseDir);
    if (problems.length > 0) throw new GateRefusal(`refused: the evidence is not what was reviewed in ${relative(ctx.baseDir, pinned.file)}: ${problems.join("; ")}; nothing was created.`);
  }
  let sanity: Verdict | undefined;
  if (c.stage === "full" && c.sanity) {
    // The sanity day is re-judged from its metrics, never trusted from a verdict file.
    const files = expand(c.sanity.metrics, `${NAMESPACE}:sanity.metrics`, "synced the sanity day from the bucket?", ctx);
    const ev = await classifyEvidence(files, {});
    sanity = await judge({ phases: phasesJudged("before-full"), policyRef, policy, curves: ev.curves, read: {}, rates: ratesFromEnv(ctx.env), base: ctx.baseDir });
    if (!sanity.pass) {
      const names = [...new Set(sanity.gates.filter((g) => g.status === "fail").map((g) => `${g.id} (${g.subject})`))];
      throw new GateRefusal(`${renderTable(sanity)}\nrefused: the sanity day does not pass (${names.join("; ")}); the full run is not created.`);
    }
  }
  const digest = sanity ? createHash("sha256").update(`${verdictDigest(verdict)}${verdictDigest(sanity)}`).digest("hex") : verdictDigest(verdict);
  return { verdict, ...(sanity ? { sanity } : {}), digest, forecastUsd: verdict.spend?.forecast_usd ?? 0, files, policy: policy.policy };
}
