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

/** What a gate found, beside who it is (id, phase, subject) and its status. */
export type Finding = Omit<GateResult, "id" | "phase" | "subject" | "status">;

export interface GateBuilder {
  pass(r: Finding): GateResult;
  fail(r: Finding): GateResult;
  /** Not evaluated, for the reason given; nothing measured and no threshold unless `r` says otherwise. */
  skip(message: string, r?: Partial<Omit<Finding, "message">>): GateResult;
  /** Pass when `ok`, else fail: the common shape of a threshold gate. */
  judged(ok: boolean, r: Finding): GateResult;
}

/**
 * The results of one gate on one subject. `id` is typed by `phase`, so a sweep gate cannot carry
 * a stress id. A key `r` leaves out stays absent, never undefined (toEqual and the verdict's JSON
 * tell the two apart), and every result's keys come in one order: id, phase, subject, status,
 * then r's, which is the order the verdict's JSON, and so its digest, sees.
 */
export function gate<P extends GatePhase>(phase: P, id: GateId<P>, subject: string): GateBuilder {
  const result = (status: GateStatus, r: Finding): GateResult => ({ id, phase, subject, status, ...r });
  return {
    pass: (r) => result("pass", r),
    fail: (r) => result("fail", r),
    skip: (message, r = {}) => result("skip", { measured: null, threshold: null, ...r, message }),
    judged: (ok, r) => result(ok ? "pass" : "fail", r),
  };
}
