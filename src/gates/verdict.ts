// verdict.json: every gate's outcome, bound by sha256 to the exact evidence files and the resolved
// policy that produced it, with what else the outcome depends on (how the files were read, the
// cost rates). `gate --check` re-hashes the files, re-runs the gates on them and refuses a
// verdict whose inputs changed, whose evidence does not cover its phases, or whose recorded
// outcome is not what the gates give: a verdict's own `pass` is never taken on trust.
import { createHash } from "node:crypto";
import "../common/zod-setup.ts";
import * as z from "zod/mini";
import { described, lazy } from "../evidence/schemas.ts";
import { STATUSES, type Status } from "../evidence/names.ts";
import type { Rates } from "../cost/rates.ts";
import { campaignFailed, type GateResult } from "./types.ts";
import { EVIDENCE_ROLES, GATE_IDS, PHASE_INFO, PHASES, type GateId, type Phase } from "./phases.ts";
import type { SweepOutcome } from "./sweep.ts";
import type { CurveOutcome } from "./stress.ts";
import type { SpendOutcome } from "./spend.ts";
import type { JudgedPrice } from "../cost/live-price.ts";

const sha256 = () => z.string().check(z.regex(/^[0-9a-f]{64}$/));
const phase = () => z.enum(PHASES);
/** The ids a verdict may carry: every phase's but the watchdog's own. */
const VERDICT_GATE_IDS = PHASES.flatMap((p) => GATE_IDS[p]) as [GateId<Phase>, ...GateId<Phase>[]];
const gateResultSchema = () => z.object({
  id: z.enum(VERDICT_GATE_IDS),
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

export { EVIDENCE_ROLES };

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
    read: described(z.optional(z.strictObject({ statusMap: z.optional(z.record(z.string(), z.enum(STATUSES))), logPreset: z.optional(z.string()), logRegex: z.optional(z.string()) })), "how the evidence was read (--status-map, --log-preset, --log-regex): --check reads it the same way"),
    rates: described(z.optional(z.record(z.string(), z.number())), "the cost rates the spend gates used (the seed's environment variables)"),
  }).register(z.globalRegistry, { title: "windtunnel verdict" }),
);

/** How evidence was read: what a verdict records so it can be re-read the same way. */
export interface ReadRecord {
  statusMap?: Readonly<Record<string, Status>>;
  logPreset?: string;
  logRegex?: string;
}

export type Verdict = Omit<z.infer<ReturnType<typeof verdictSchema>>, "gates" | "rates" | "read"> & {
  gates: GateResult[];
  read?: ReadRecord;
  rates?: Rates;
  sweep?: SweepSummary;
  stress?: { curves: { subject: string; survived: boolean; series: string; lastStep?: number }[] };
  spend?: SpendSummary;
};

/** The spend forecast a verdict records: what it adds up to, and the price it was judged at. */
export interface SpendSummary {
  forecast_usd: number;
  expected_savings_usd: number;
  /** Spot only: the expected restarts priced into the forecast (issue 17). */
  restarts?: { expected: number; minutes_each: number; usd: number };
  /** typed: the plan's node_hourly_usd; live: a spot quote, with its AZ and since when it holds. */
  price: JudgedPrice;
}
export type EvidenceRef = Verdict["evidence"][number];

export interface SweepSummary {
  noise: SweepOutcome["noise"];
  reference: SweepOutcome["reference"] | null;
  finalists: { rank: number; id: string; label: string; n: number; mean: number; delta?: number; z?: number; config: Record<string, unknown>; projection?: { config: Record<string, unknown>; notes: string[] } }[];
  ranking: { id: string; label: string; n: number; mean: number; z?: number; separable?: boolean }[];
}

/** What each phase's gates produce, by phase: a phase without an entry here does not compile. */
export interface PhaseOutcomes {
  sweep: SweepOutcome;
  stress: { outcomes: readonly CurveOutcome[]; coverage?: GateResult; survivors: GateResult };
  spend: SpendOutcome;
  sanity: readonly GateResult[];
  verify: readonly GateResult[];
}

/** A phase's rows of the verdict, in the order the table shows them. */
const RESULTS_OF: { readonly [P in Phase]: (o: PhaseOutcomes[P]) => readonly GateResult[] } = {
  sweep: (o) => o.results,
  stress: (o) => [...o.outcomes.flatMap((c) => c.results), ...(o.coverage ? [o.coverage] : []), o.survivors],
  spend: (o) => o.results,
  sanity: (o) => o,
  verify: (o) => o,
};

function resultsOf<P extends Phase>(phase: P, outcome: PhaseOutcomes[P] | undefined): readonly GateResult[] {
  return outcome === undefined ? [] : RESULTS_OF[phase](outcome);
}

export interface VerdictInput extends Partial<PhaseOutcomes> {
  version: string;
  time: Date;
  phases: readonly Phase[];
  policy: { ref: string; files: string[]; sha256: string };
  evidence: EvidenceRef[];
  read?: ReadRecord;
  rates?: Rates;
}

export function buildVerdict(i: VerdictInput): Verdict {
  const gates: GateResult[] = PHASES.flatMap((p) => resultsOf(p, i[p]));
  const v: Verdict = {
    verdict_version: 1,
    windtunnel: i.version,
    time: i.time.toISOString(),
    phases: [...i.phases],
    pass: !campaignFailed(gates),
    policy: i.policy,
    evidence: i.evidence,
    gates,
    ...(i.read && Object.keys(i.read).length > 0 ? { read: i.read } : {}),
    ...(i.rates && i.phases.includes("spend") ? { rates: i.rates } : {}),
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
  if (i.spend) {
    const r = i.spend.restarts;
    v.spend = {
      forecast_usd: i.spend.forecastUsd,
      expected_savings_usd: i.spend.expectedSavingsUsd,
      ...(r.restarts > 0 ? { restarts: { expected: r.restarts, minutes_each: r.minutesEach, usd: r.usd } } : {}),
      price: i.spend.price,
    };
  }
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
 * Why a verdict's evidence does not support its phases: a phase with no evidence of its kind,
 * a phase with no gate, or a gate of a phase the verdict does not claim. Empty when it does.
 */
export function coverageProblems(v: Pick<Verdict, "phases" | "evidence" | "gates">): string[] {
  const problems: string[] = [];
  for (const phase of v.phases) {
    for (const role of PHASE_INFO[phase].needs) if (!v.evidence.some((e) => e.role === role)) problems.push(`phase ${phase} lists no ${role} evidence`);
    if (!v.gates.some((g) => g.phase === phase)) problems.push(`phase ${phase} has no gate result`);
  }
  const strays = [...new Set(v.gates.filter((g) => !(v.phases as readonly string[]).includes(g.phase)).map((g) => g.phase))];
  for (const phase of strays) problems.push(`gate results of phase ${phase}, which the verdict does not claim`);
  return problems;
}

/** How the gates' outcome now differs from a recorded one (the same evidence, policy and time). */
export function outcomeDifferences(recorded: Pick<Verdict, "pass" | "gates">, now: Pick<Verdict, "pass" | "gates">): string[] {
  const diffs: string[] = [];
  // Keyed by gate and subject, numbered when one repeats, so a reordered list is not a difference.
  const keyed = (gates: readonly GateResult[]): Map<string, GateResult> => {
    const seen = new Map<string, number>();
    return new Map(gates.map((g) => {
      const k = `${g.id} (${g.subject})`;
      const n = (seen.get(k) ?? 0) + 1;
      seen.set(k, n);
      return [n === 1 ? k : `${k} #${n}`, g];
    }));
  };
  const was = keyed(recorded.gates);
  const is = keyed(now.gates);
  for (const [k, g] of is) {
    const r = was.get(k);
    if (r === undefined) diffs.push(`${k} is ${g.status} now, and missing from the verdict`);
    else if (r.status !== g.status || r.measured !== g.measured || r.threshold !== g.threshold || r.message !== g.message) diffs.push(`${k}: recorded ${r.status} (measured ${String(r.measured)}), the gates give ${g.status} (measured ${String(g.measured)})`);
  }
  for (const k of was.keys()) if (!is.has(k)) diffs.push(`${k} is in the verdict, but the gates give no such result`);
  if (recorded.pass !== now.pass) diffs.push(`the verdict says ${recorded.pass ? "PASS" : "FAIL"}, the gates say ${now.pass ? "PASS" : "FAIL"}`);
  return diffs;
}

/**
 * A verdict's identity: sha256 of everything but its time, so the same evidence, policy and
 * outcome give the same digest on every run (a stack output and a tag on the node).
 */
export function verdictDigest(v: Verdict): string {
  const { time: _time, ...rest } = v;
  return createHash("sha256").update(JSON.stringify(rest)).digest("hex");
}
