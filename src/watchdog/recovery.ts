// Recovery from spot interruptions, decided pure: whether the watchdog launches a replacement for
// an interrupted node now, where, with how many of the campaign's hours left, or why it does not.
// The rules, in the order they are checked:
//  - only an interruption is recovered: a node that ended on its own (any status), that a gate
//    tore down, or that the watchdog cannot account for is never relaunched;
//  - at most `maxRestarts` replacements, and none once `windowHours` have passed since the first
//    interruption: then the watchdog alerts, gives up, and leaves nothing running;
//  - the hours cap and the budget count every attempt: a replacement gets the hours that remain,
//    and none is launched when the remainder (plus the restart's overhead) cannot be paid for;
//  - a launch that AWS refused (no capacity) is retried after a backoff that doubles, in the next
//    subnet, never first in the one that was just interrupted.
// Single-node campaigns only: a multi-node run is one torchrun job whose ranks rendezvous at
// node 0's address, and replacing one rank would not rejoin it (the watchdog alerts instead).

export interface RecoveryPolicy {
  maxRestarts: number;
  /** Hours after the first interruption after which no replacement is launched. */
  windowHours: number;
  /** Minutes to wait after a refused launch, doubled on each further refusal. */
  backoffMinutes: number;
  /** Minutes a replacement spends before it trains again (boot, image pull, checkpoint reload), charged to the budget. */
  restartOverheadMinutes: number;
  /** Subnets to launch into, in order of preference; empty: the launch template's own. */
  subnets: readonly string[];
}

/** One instance of the campaign's node: the stack's (attempt 1) or a replacement. */
export interface Attempt {
  attempt: number;
  instanceId: string;
  subnet?: string;
  launchedAt: string;
  /** When it stopped counting against the hours: terminated, or reclaimed. */
  endedAt?: string;
  /** AWS reclaimed it (a spot notice, or terminated with a spot reason). */
  interruptedAt?: string;
}

export interface RecoveryState {
  attempts: Attempt[];
  /** Launches AWS refused since the last successful one, and when the last refusal was. */
  refusals: number;
  lastRefusalAt?: string;
  /** When the watchdog gave up on recovery, and why (said once). */
  gaveUp?: { at: string; reason: string };
}

export interface RecoveryInput {
  policy: RecoveryPolicy;
  state: RecoveryState;
  now: Date;
  nodes: number;
  hoursCap: number;
  /** Hours of training the stage is planned for (the spend gate's forecast). */
  plannedHours: number;
  /** Per node-hour, the price the spend gate judged. */
  hourlyUsd: number;
  budgetUsd: number;
  /** The node finished (any status) or a gate decided a teardown: nothing to recover. */
  endedOnItsOwn: boolean;
  tornDown: boolean;
}

export type RecoveryDecision =
  | { action: "none" }
  | { action: "relaunch"; attempt: number; subnet?: string; hardStopMinutes: number; why: string }
  | { action: "wait"; why: string }
  | { action: "give-up"; why: string };

const minutesBetween = (a: Date, b: Date): number => (a.getTime() - b.getTime()) / 60_000;

/** Node-minutes the campaign has used, over every attempt: each from its launch to its end (or now). */
export function usedMinutes(attempts: readonly Attempt[], now: Date): number {
  return attempts.reduce((m, a) => m + Math.max(0, minutesBetween(a.endedAt ? new Date(a.endedAt) : now, new Date(a.launchedAt))), 0);
}

/** The latest attempt: the one whose interruption is in question. */
export const currentAttempt = (s: RecoveryState): Attempt | undefined => s.attempts.reduce<Attempt | undefined>((best, a) => (!best || a.attempt > best.attempt ? a : best), undefined);

/** Where the next replacement goes: the first preferred subnet that is not the interrupted one. */
export function nextSubnet(policy: RecoveryPolicy, interrupted: string | undefined, refusals: number): string | undefined {
  const others = policy.subnets.filter((s) => s !== interrupted);
  const order = others.length > 0 ? [...others, ...(interrupted !== undefined && policy.subnets.includes(interrupted) ? [interrupted] : [])] : [...policy.subnets];
  return order.length === 0 ? undefined : order[refusals % order.length];
}

export function decideRecovery(i: RecoveryInput): RecoveryDecision {
  const { policy, state, now } = i;
  const current = currentAttempt(state);
  if (!current?.interruptedAt || state.gaveUp) return { action: "none" };
  if (i.endedOnItsOwn || i.tornDown) return { action: "none" };
  // A replacement for this interruption is already up: nothing more to do.
  if (state.attempts.some((a) => a.attempt > current.attempt)) return { action: "none" };
  if (i.nodes > 1) return { action: "give-up", why: `a ${i.nodes}-node run is one job across its nodes; replacing one node would not rejoin it, so the watchdog does not relaunch multi-node campaigns` };

  const restarts = state.attempts.length - 1;
  if (restarts >= policy.maxRestarts) return { action: "give-up", why: `interrupted again after ${restarts} restart${restarts === 1 ? "" : "s"} (recovery.maxRestarts ${policy.maxRestarts})` };
  const first = state.attempts.map((a) => a.interruptedAt).filter((t): t is string => t !== undefined).sort()[0] as string;
  const sinceFirst = minutesBetween(now, new Date(first));
  if (sinceFirst > policy.windowHours * 60) return { action: "give-up", why: `${(sinceFirst / 60).toFixed(1)} h since the first interruption, past recovery.windowHours ${policy.windowHours}` };

  const used = usedMinutes(state.attempts, now);
  const left = i.hoursCap * 60 - used;
  // What the rest of the run needs: the planned training not yet done (every restart so far cost
  // its overhead), plus this restart's overhead.
  const trained = Math.max(0, used - restarts * policy.restartOverheadMinutes);
  const needed = Math.max(0, i.plannedHours * 60 - trained) + policy.restartOverheadMinutes;
  if (left <= policy.restartOverheadMinutes) return { action: "give-up", why: `${Math.max(0, left).toFixed(0)} min of the ${i.hoursCap} h cap remain, not more than a restart's ${policy.restartOverheadMinutes} min overhead` };
  const spent = (used / 60) * i.hourlyUsd * i.nodes;
  const remainder = (Math.min(needed, left) / 60) * i.hourlyUsd * i.nodes;
  if (spent + remainder > i.budgetUsd) return { action: "give-up", why: `the remainder cannot finish inside the budget: $${spent.toFixed(0)} spent + $${remainder.toFixed(0)} for the ${(needed / 60).toFixed(1)} h the run still needs (the restart's ${policy.restartOverheadMinutes} min included) is more than the $${i.budgetUsd} budget` };

  if (state.refusals > 0 && state.lastRefusalAt) {
    const wait = policy.backoffMinutes * 2 ** (state.refusals - 1);
    const since = minutesBetween(now, new Date(state.lastRefusalAt));
    if (since < wait) return { action: "wait", why: `AWS refused ${state.refusals} launch${state.refusals === 1 ? "" : "es"}; the next try in ${(wait - since).toFixed(0)} min` };
  }
  const subnet = nextSubnet(policy, current.subnet, state.refusals);
  return {
    action: "relaunch",
    attempt: current.attempt + 1,
    ...(subnet !== undefined ? { subnet } : {}),
    hardStopMinutes: Math.floor(left),
    why: `${current.instanceId} was interrupted at ${current.interruptedAt}; attempt ${current.attempt + 1} of at most ${policy.maxRestarts + 1}${subnet !== undefined ? ` in ${subnet}` : ""}, with the ${(left / 60).toFixed(1)} h the cap leaves`,
  };
}

/** What DescribeInstances says of one of the campaign's instances, live or gone. */
export interface InstanceFact {
  instanceId: string;
  state: string;
  launchedAt: string;
  subnet?: string;
  /** Its windtunnel:attempt tag; the stack's own node has none (attempt 1). */
  attempt: number;
  /** Terminated by AWS for a spot interruption (StateReason Server.SpotInstanceTermination). */
  reclaimed: boolean;
}

const GONE = new Set(["shutting-down", "terminated", "stopping", "stopped"]);

/**
 * The attempts as the account shows them: each instance once, by id; an instance that is gone has
 * ended (now, if the tick did not see it end earlier); an interruption comes from the node's spot
 * notice (an event naming its instance, or any notice of the only node) or from AWS's reason.
 */
export function trackAttempts(s: RecoveryState, instances: readonly InstanceFact[], notices: readonly { instanceId?: string; at: string }[], now: Date): RecoveryState {
  const attempts = s.attempts.map((a) => ({ ...a }));
  for (const inst of instances) {
    let a = attempts.find((x) => x.instanceId === inst.instanceId);
    if (!a) {
      a = { attempt: inst.attempt, instanceId: inst.instanceId, launchedAt: inst.launchedAt, ...(inst.subnet !== undefined ? { subnet: inst.subnet } : {}) };
      attempts.push(a);
    }
    if (GONE.has(inst.state)) a.endedAt ??= now.toISOString();
    if (inst.reclaimed) a.interruptedAt ??= now.toISOString();
  }
  for (const n of notices) {
    const a = n.instanceId !== undefined ? attempts.find((x) => x.instanceId === n.instanceId) : attempts.length === 1 ? attempts[0] : undefined;
    if (a) a.interruptedAt ??= n.at;
  }
  attempts.sort((x, y) => x.attempt - y.attempt);
  return { ...s, attempts };
}

/**
 * The attempts, one line each, for `watch` and the report: instance, subnet, hours, whether AWS
 * reclaimed it, and what it cost at `hourlyUsd` (when given); then the restarts and the total.
 */
export function attemptsSummary(s: RecoveryState, now: Date, hourlyUsd?: number): string[] {
  if (s.attempts.length <= 1 && !s.attempts.some((a) => a.interruptedAt)) return [];
  const usd = (minutes: number): string => (hourlyUsd === undefined ? "" : `, $${((minutes / 60) * hourlyUsd).toFixed(2)}`);
  const lines = s.attempts.map((a) => {
    const m = usedMinutes([a], now);
    return `attempt ${a.attempt}: ${a.instanceId}${a.subnet ? ` in ${a.subnet}` : ""}, ${(m / 60).toFixed(1)} h${a.endedAt ? "" : " so far"}${usd(m)}${a.interruptedAt ? `, interrupted at ${a.interruptedAt}` : a.endedAt ? `, ended ${a.endedAt}` : ", running"}`;
  });
  const total = usedMinutes(s.attempts, now);
  lines.push(`${s.attempts.length - 1} restart${s.attempts.length === 2 ? "" : "s"}, ${s.attempts.filter((a) => a.interruptedAt).length} interruption(s), ${(total / 60).toFixed(1)} node-hours in all${usd(total)}${s.gaveUp ? `; recovery gave up: ${s.gaveUp.reason}` : ""}${s.refusals > 0 ? `; ${s.refusals} launch(es) refused, retrying` : ""}`);
  return lines;
}
