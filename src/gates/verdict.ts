// verdict.json: every gate's outcome, bound by sha256 to the exact evidence files and the resolved
// policy that produced it. `gate --check` re-hashes and refuses a verdict whose inputs changed.
import { createHash } from "node:crypto";
import "../evidence/zod-setup.ts";
import * as z from "zod/mini";
import { described, lazy } from "../evidence/schemas.ts";
import { campaignFailed, PHASES, type GateResult, type Phase } from "./types.ts";
import type { SweepOutcome } from "./sweep.ts";
import type { CurveOutcome } from "./stress.ts";
import type { SpendOutcome } from "./spend.ts";

const sha256 = () => z.string().check(z.regex(/^[0-9a-f]{64}$/));
const phase = () => z.enum(PHASES as [Phase, ...Phase[]]);
const gateResultSchema = () => z.object({
  id: z.string(),
  phase: phase(),
  subject: z.string(),
  status: z.enum(["pass", "fail", "skip"]),
  measured: z.union([z.number(), z.string(), z.null()]),
  op: z.optional(z.enum(["≥", "≤", "<", ">", "in"])),
  threshold: z.union([z.number(), z.string(), z.null()]),
  message: z.string(),
  step: z.optional(z.number()),
  scope: z.optional(z.literal("candidate")),
});

export const EVIDENCE_ROLES = ["trajectory", "curve", "campaign", "sanity", "cloud", "envelope"] as const;

/** What --check needs from a verdict file (other keys are kept in the file, ignored here). */
export const verdictSchema = lazy(() =>
  z.object({
    verdict_version: z.literal(1),
    windtunnel: described(z.string(), "version of the tool that wrote it"),
    time: z.string(),
    phases: z.array(phase()).check(z.minLength(1)),
    pass: z.boolean(),
    policy: z.strictObject({
      /** As given: a path relative to the verdict file, or a built-in name. */
      ref: z.string(),
      files: z.array(z.string()),
      sha256: sha256(),
    }),
    evidence: z.array(z.strictObject({ file: z.string(), role: z.enum(EVIDENCE_ROLES), format: z.optional(z.string()), sha256: sha256() })),
    gates: z.array(gateResultSchema()),
  }).register(z.globalRegistry, { title: "windtunnel verdict" }),
);

export type Verdict = Omit<z.infer<ReturnType<typeof verdictSchema>>, "gates"> & {
  gates: GateResult[];
  sweep?: SweepSummary;
  stress?: { curves: { subject: string; survived: boolean; series: string; lastStep?: number }[] };
  spend?: { forecast_usd: number; expected_savings_usd: number };
};
export type EvidenceRef = Verdict["evidence"][number];

export interface SweepSummary {
  noise: SweepOutcome["noise"];
  reference: SweepOutcome["reference"] | null;
  finalists: { rank: number; id: string; label: string; n: number; mean: number; delta?: number; z?: number; config: Record<string, unknown>; projection?: { config: Record<string, unknown>; notes: string[] } }[];
  ranking: { id: string; label: string; n: number; mean: number; z?: number; separable?: boolean }[];
}

export interface VerdictInput {
  version: string;
  time: Date;
  phases: readonly Phase[];
  policy: { ref: string; files: string[]; sha256: string };
  evidence: EvidenceRef[];
  sweep?: SweepOutcome;
  stress?: { outcomes: readonly CurveOutcome[]; coverage?: GateResult; survivors: GateResult };
  spend?: SpendOutcome;
  sanity?: readonly GateResult[];
  verify?: readonly GateResult[];
}

export function buildVerdict(i: VerdictInput): Verdict {
  const gates: GateResult[] = [...(i.sweep?.results ?? []), ...(i.stress ? [...i.stress.outcomes.flatMap((o) => o.results), ...(i.stress.coverage ? [i.stress.coverage] : []), i.stress.survivors] : []), ...(i.spend?.results ?? []), ...(i.sanity ?? []), ...(i.verify ?? [])];
  const v: Verdict = {
    verdict_version: 1,
    windtunnel: i.version,
    time: i.time.toISOString(),
    phases: [...i.phases],
    pass: !campaignFailed(gates),
    policy: i.policy,
    evidence: i.evidence,
    gates,
  };
  if (i.sweep) {
    v.sweep = {
      noise: i.sweep.noise,
      reference: i.sweep.reference ?? null,
      finalists: i.sweep.finalists.map((f) => ({ rank: f.rank, id: f.id, label: f.label, n: f.n, mean: f.mean, ...(f.delta !== undefined ? { delta: f.delta } : {}), ...(f.z !== undefined ? { z: f.z } : {}), config: f.config, ...(f.projection ? { projection: f.projection } : {}) })),
      ranking: i.sweep.ranking.map((g) => ({ id: g.id, label: g.label, n: g.n, mean: g.mean, ...(g.z !== undefined ? { z: g.z } : {}), ...(g.separable !== undefined ? { separable: g.separable } : {}) })),
    };
  }
  if (i.stress) v.stress = { curves: i.stress.outcomes.map((o) => ({ subject: o.subject, survived: o.survived, series: o.series, ...(o.lastStep !== undefined ? { lastStep: o.lastStep } : {}) })) };
  if (i.spend) v.spend = { forecast_usd: i.spend.forecastUsd, expected_savings_usd: i.spend.expectedSavingsUsd };
  return v;
}

export interface CheckProblem {
  file: string;
  what: "changed" | "missing" | "policy changed" | "verdict failed";
  expected?: string;
  actual?: string;
}

/** Compare a verdict with hashes taken now (null: the file could not be read). */
export function checkVerdict(v: Verdict, now: { evidence: ReadonlyMap<string, string | null>; policySha256: string | null }): CheckProblem[] {
  const problems: CheckProblem[] = [];
  for (const e of v.evidence) {
    const actual = now.evidence.get(e.file) ?? null;
    if (actual === null) problems.push({ file: e.file, what: "missing", expected: e.sha256 });
    else if (actual !== e.sha256) problems.push({ file: e.file, what: "changed", expected: e.sha256, actual });
  }
  if (now.policySha256 !== v.policy.sha256) problems.push({ file: v.policy.ref, what: "policy changed", expected: v.policy.sha256, ...(now.policySha256 ? { actual: now.policySha256 } : {}) });
  if (!v.pass) problems.push({ file: "verdict", what: "verdict failed" });
  return problems;
}

/**
 * A verdict's identity: sha256 of everything but its time, so the same evidence, policy and
 * outcome give the same digest on every run (a stack output and a tag on the node).
 */
export function verdictDigest(v: Verdict): string {
  const { time: _time, ...rest } = v;
  return createHash("sha256").update(JSON.stringify(rest)).digest("hex");
}
