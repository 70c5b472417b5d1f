// What every gate returns: a value, never an exception. Shells (CLI, Pulumi program, watchdog)
// decide what a failure means for them.

import type { GateId, GatePhase } from "./phases.ts";

export type GateStatus = "pass" | "fail" | "skip";

export interface GateResult {
  /** Stable id, e.g. "sweep.coverage.distinct", "stress.divergence". */
  id: GateId;
  phase: GatePhase;
  /** What was judged: the trajectory, a curve, the campaign plan. */
  subject: string;
  /** "skip": not evaluated, with the reason in `message` (never counted as a pass of the evidence). */
  status: GateStatus;
  measured: number | string | null;
  /** How measured is compared with threshold, e.g. "≥". */
  op?: "≥" | "≤" | "<" | ">" | "in";
  threshold: number | string | null;
  /** One sentence with the numbers behind the decision. */
  message: string;
  /** For curve gates: the step where the trouble starts. */
  step?: number;
  /**
   * "candidate": a failure rejects one finalist (a Phase 2 curve), not the campaign; whether
   * enough finalists survive is the campaign-level stress.survivors gate.
   */
  scope?: "candidate";
}

/** The failures that fail the campaign (a candidate's failure rejects only that finalist). */
export const campaignFailures = (results: readonly GateResult[]): GateResult[] => results.filter((r) => r.status === "fail" && r.scope !== "candidate");

/** A verdict passes when no campaign-level gate failed. */
export const campaignFailed = (results: readonly GateResult[]): boolean => campaignFailures(results).length > 0;


/** Pass when `ok`, else fail: the common shape of a threshold gate. */
export function judged(ok: boolean, r: Omit<GateResult, "status">): GateResult {
  return { ...r, status: ok ? "pass" : "fail" };
}
