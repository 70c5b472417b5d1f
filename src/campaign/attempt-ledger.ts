// The attempts of a campaign's node as the watchdog records them (its state.json), and what each
// one cost: the one reading that the watchdog's caps, `watch` and the report share, so the hours,
// the money and how each attempt ended are computed once (issue 17). Pure: no I/O; the schema
// lets the report refuse a state file it cannot read, by field. Optional fields admit undefined:
// the same types hold what the watchdog builds and what the schema reads back.
import "../common/zod-setup.ts";
import * as z from "zod/mini";
import { assertNever } from "../common/errors.ts";

/** The markets an attempt runs in: the stack's spot node, and the watchdog's on-demand fallback (recovery.fallbackAfter). */
export const ATTEMPT_MARKETS = ["spot", "on-demand"] as const;
export type AttemptMarket = (typeof ATTEMPT_MARKETS)[number];

/** One instance of the campaign's node: the stack's (attempt 1) or a replacement. */
export interface Attempt {
  attempt: number;
  instanceId: string;
  subnet?: string | undefined;
  launchedAt: string;
  /** When it stopped counting against the hours: terminated, or reclaimed. */
  endedAt?: string | undefined;
  /** AWS reclaimed it (a spot notice, or terminated with a spot reason). */
  interruptedAt?: string | undefined;
  /** Its market; a state written before the fallback existed has none (spot: recovery is for spot nodes). */
  market?: AttemptMarket | undefined;
  /** What one node-hour of it costs: the spend gate's spot price, or the on-demand price of the fallback. */
  hourlyUsd?: number | undefined;
  /** The status its node reported with node_done (0: its runs finished). */
  exitStatus?: number | undefined;
}

export interface RecoveryState {
  attempts: Attempt[];
  /** Launches AWS refused since the last successful one, and when the last refusal was. */
  refusals: number;
  lastRefusalAt?: string | undefined;
  /** When the watchdog gave up on recovery, and why (said once). */
  gaveUp?: { at: string; reason: string } | undefined;
}

const minutesBetween = (a: Date, b: Date): number => (a.getTime() - b.getTime()) / 60_000;

/** Node-minutes the campaign has used, over every attempt: each from its launch to its end (or now). */
export function usedMinutes(attempts: readonly Attempt[], now: Date): number {
  return attempts.reduce((m, a) => m + Math.max(0, minutesBetween(a.endedAt ? new Date(a.endedAt) : now, new Date(a.launchedAt))), 0);
}

/** What the attempts cost so far, each at its own price (`defaultHourlyUsd` for one that records none). */
export function spentUsd(attempts: readonly Attempt[], now: Date, defaultHourlyUsd: number): number {
  return attempts.reduce((usd, a) => usd + (usedMinutes([a], now) / 60) * (a.hourlyUsd ?? defaultHourlyUsd), 0);
}

/** How an attempt ended, as watch and the report say it. */
export type AttemptOutcome = "running" | "interrupted" | "finished" | "failed" | "torn down" | "ended";

export interface AttemptRow {
  attempt: number;
  instanceId: string;
  subnet?: string;
  market: AttemptMarket;
  launchedAt: string;
  /** When it stopped counting (for one the watchdog tore down and has not yet seen gone: the teardown). */
  stoppedAt?: string;
  hours: number;
  /** Undefined when neither the attempt nor the caller knows a price. */
  costUsd?: number;
  outcome: AttemptOutcome;
  /** When it was interrupted, torn down or found gone. */
  at?: string;
  /** The status its node reported (finished, failed). */
  status?: number;
}

export interface AttemptsLedger {
  rows: AttemptRow[];
  restarts: number;
  interruptions: number;
  hours: number;
  costUsd?: number;
  refusals: number;
  gaveUp?: { at: string; reason: string };
}

/** What the ledger reads: the recovery record, and the teardown when there was one. */
export interface LedgerInput {
  recovery: RecoveryState;
  teardown?: { at: string; reasons: readonly string[] } | undefined;
  now: Date;
  /** Per node-hour, for attempts that record no price (states from before prices were kept). */
  hourlyUsd?: number | undefined;
}

function outcomeOf(a: Attempt, last: boolean, teardown: LedgerInput["teardown"]): { outcome: AttemptOutcome; at?: string; status?: number } {
  if (a.interruptedAt) return { outcome: "interrupted", at: a.interruptedAt };
  if (a.exitStatus !== undefined) return { outcome: a.exitStatus === 0 ? "finished" : "failed", status: a.exitStatus };
  if (last && teardown) return { outcome: "torn down", at: teardown.at };
  return a.endedAt ? { outcome: "ended", at: a.endedAt } : { outcome: "running" };
}

/** Every attempt in order with its market, hours, cost and ending; the restarts, interruptions and totals. */
export function attemptsLedger(i: LedgerInput): AttemptsLedger {
  const attempts = [...i.recovery.attempts].sort((x, y) => x.attempt - y.attempt);
  const top = attempts.at(-1)?.attempt;
  let priced = true;
  const rows = attempts.map((a): AttemptRow => {
    const { outcome, at, status } = outcomeOf(a, a.attempt === top, i.teardown);
    // A node the watchdog tore down stopped billing then, even before a tick saw it gone.
    const stoppedAt = a.endedAt ?? (outcome === "torn down" ? i.teardown?.at : undefined);
    const hours = usedMinutes([{ ...a, ...(stoppedAt !== undefined ? { endedAt: stoppedAt } : {}) }], i.now) / 60;
    const price = a.hourlyUsd ?? i.hourlyUsd;
    if (price === undefined) priced = false;
    return {
      attempt: a.attempt,
      instanceId: a.instanceId,
      ...(a.subnet !== undefined ? { subnet: a.subnet } : {}),
      market: a.market ?? "spot",
      launchedAt: a.launchedAt,
      ...(stoppedAt !== undefined ? { stoppedAt } : {}),
      hours,
      ...(price !== undefined ? { costUsd: hours * price } : {}),
      outcome,
      ...(at !== undefined ? { at } : {}),
      ...(status !== undefined ? { status } : {}),
    };
  });
  return {
    rows,
    restarts: Math.max(0, attempts.length - 1),
    interruptions: attempts.filter((a) => a.interruptedAt).length,
    hours: rows.reduce((h, r) => h + r.hours, 0),
    ...(priced && rows.length > 0 ? { costUsd: rows.reduce((u, r) => u + (r.costUsd ?? 0), 0) } : {}),
    refusals: i.recovery.refusals,
    ...(i.recovery.gaveUp ? { gaveUp: i.recovery.gaveUp } : {}),
  };
}

/** Whether there is anything to show: a restart, or an interruption of the first attempt. */
export const hasAttemptsToShow = (l: AttemptsLedger): boolean => l.rows.length > 1 || l.interruptions > 0;

const money = (usd: number | undefined): string => (usd === undefined ? "" : `, $${usd.toFixed(2)}`);

/** How an attempt ended, in words; `time` formats its time (watch prints it as it is). */
export function endingOf(r: AttemptRow, time: (iso: string) => string = (iso) => iso): string {
  const at = r.at !== undefined ? ` at ${time(r.at)}` : "";
  switch (r.outcome) {
    case "running":
    case "finished":
      return r.outcome;
    case "interrupted":
    case "torn down":
    case "ended":
      return `${r.outcome}${at}`;
    case "failed":
      return `failed (status ${r.status ?? "?"})`;
    default:
      return assertNever(r.outcome);
  }
}

/** The ledger as `watch` prints it: one line an attempt, then the restarts and the totals. */
export function attemptsSummary(l: AttemptsLedger): string[] {
  if (!hasAttemptsToShow(l)) return [];
  const lines = l.rows.map((r) => `attempt ${r.attempt}: ${r.instanceId}${r.subnet ? ` in ${r.subnet}` : ""}, ${r.market}, ${r.hours.toFixed(1)} h${r.stoppedAt === undefined ? " so far" : ""}${money(r.costUsd)}, ${endingOf(r)}`);
  lines.push(`${l.restarts} restart${l.restarts === 1 ? "" : "s"}, ${l.interruptions} interruption(s), ${l.hours.toFixed(1)} node-hours in all${money(l.costUsd)}${l.gaveUp ? `; recovery gave up: ${l.gaveUp.reason}` : ""}${l.refusals > 0 ? `; ${l.refusals} launch(es) refused, retrying` : ""}`);
  return lines;
}

const iso = () => z.string().check(z.refine((s) => !Number.isNaN(Date.parse(s)), { error: "expected an ISO 8601 time" }));

/**
 * The parts of the watchdog's state.json (watchdog/<campaign>/<stage>/state.json) the ledger
 * reads; the monitors' snapshots and cursors beside them are the watchdog's own business.
 */
export const attemptsStateSchema = () =>
  z.object({
    version: z.literal(1),
    lastTickAt: z.optional(iso()),
    recovery: z.optional(z.strictObject({
      attempts: z.array(z.strictObject({
        attempt: z.int().check(z.positive()),
        instanceId: z.string().check(z.minLength(1)),
        subnet: z.optional(z.string()),
        launchedAt: iso(),
        endedAt: z.optional(iso()),
        interruptedAt: z.optional(iso()),
        market: z.optional(z.enum(ATTEMPT_MARKETS)),
        hourlyUsd: z.optional(z.number().check(z.positive())),
        exitStatus: z.optional(z.int()),
      })),
      refusals: z.int().check(z.nonnegative()),
      lastRefusalAt: z.optional(iso()),
      gaveUp: z.optional(z.strictObject({ at: iso(), reason: z.string() })),
    })),
    teardown: z.optional(z.strictObject({ at: iso(), reasons: z.array(z.string()) })),
  });

export type AttemptsState = z.infer<ReturnType<typeof attemptsStateSchema>>;
