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
//    subnet, never first in the one that was just interrupted;
//  - after `fallback.after` interruptions (recovery.fallbackAfter; off by default) the replacement
//    is on-demand, and the remainder is priced at the on-demand rate, not the spot one.
// Single-node campaigns only: a multi-node run is one torchrun job whose ranks rendezvous at
// node 0's address, and replacing one rank would not rejoin it (the watchdog alerts instead).

import { spentUsd, usedMinutes, type Attempt, type AttemptMarket, type RecoveryState } from "../campaign/attempt-ledger.ts";

export { usedMinutes, type Attempt, type RecoveryState } from "../campaign/attempt-ledger.ts";

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
  /**
   * After this many interruptions of the campaign, the replacement is on-demand, paid at
   * `hourlyUsd` per node-hour (recovery.fallbackAfter). Absent: every replacement is spot.
   */
  fallback?: { after: number; hourlyUsd: number } | undefined;
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
  | { action: "relaunch"; attempt: number; subnet?: string; hardStopMinutes: number; market: AttemptMarket; hourlyUsd: number; why: string }
  | { action: "wait"; why: string }
  | { action: "give-up"; why: string };

const minutesBetween = (a: Date, b: Date): number => (a.getTime() - b.getTime()) / 60_000;

/**
 * The replacement's market: on-demand once the campaign has been interrupted `fallback.after`
 * times (an on-demand node is not reclaimed, so the run stops paying restarts), else spot.
 */
export function replacementMarket(policy: RecoveryPolicy, state: RecoveryState, spotHourlyUsd: number): { market: AttemptMarket; hourlyUsd: number; why: string } {
  const interruptions = state.attempts.filter((a) => a.interruptedAt !== undefined).length;
  const f = policy.fallback;
  if (f && interruptions >= f.after) return { market: "on-demand", hourlyUsd: f.hourlyUsd, why: `on-demand at $${f.hourlyUsd}/h: ${interruptions} interruption${interruptions === 1 ? "" : "s"}, recovery.fallbackAfter ${f.after}` };
  return { market: "spot", hourlyUsd: spotHourlyUsd, why: "on spot" };
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
  // Each attempt at its own price; the rest at the replacement's (on-demand after the fallback).
  const market = replacementMarket(policy, state, i.hourlyUsd);
  const spent = spentUsd(state.attempts, now, i.hourlyUsd) * i.nodes;
  const remainder = (Math.min(needed, left) / 60) * market.hourlyUsd * i.nodes;
  if (spent + remainder > i.budgetUsd) return { action: "give-up", why: `the remainder cannot finish inside the budget: $${spent.toFixed(0)} spent + $${remainder.toFixed(0)} for the ${(needed / 60).toFixed(1)} h the run still needs (the restart's ${policy.restartOverheadMinutes} min included) ${market.market === "on-demand" ? `on demand at $${market.hourlyUsd}/h (recovery.fallbackAfter ${policy.fallback?.after}) ` : ""}is more than the $${i.budgetUsd} budget` };

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
    market: market.market,
    hourlyUsd: market.hourlyUsd,
    why: `${current.instanceId} was interrupted at ${current.interruptedAt}; attempt ${current.attempt + 1} of at most ${policy.maxRestarts + 1}${subnet !== undefined ? ` in ${subnet}` : ""}, ${market.why}, with the ${(left / 60).toFixed(1)} h the cap leaves`,
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
  /** Its windtunnel:market tag (a replacement's), else what AWS says (InstanceLifecycle spot). */
  market?: AttemptMarket;
}

/** Per node-hour of each market, for attempts the watchdog did not launch itself (the stack's, or one found by its tags). */
export interface MarketPrices {
  spot: number;
  onDemand?: number;
}

const GONE = new Set(["shutting-down", "terminated", "stopping", "stopped"]);

/**
 * The attempts as the account shows them: each instance once, by id; an instance that is gone has
 * ended (now, if the tick did not see it end earlier); an interruption comes from the node's spot
 * notice (an event naming its instance, or any notice of the only node) or from AWS's reason.
 */
export function trackAttempts(s: RecoveryState, instances: readonly InstanceFact[], notices: readonly { instanceId?: string; at: string }[], now: Date, prices?: MarketPrices): RecoveryState {
  const attempts = s.attempts.map((a) => ({ ...a }));
  for (const inst of instances) {
    let a = attempts.find((x) => x.instanceId === inst.instanceId);
    if (!a) {
      a = { attempt: inst.attempt, instanceId: inst.instanceId, launchedAt: inst.launchedAt, ...(inst.subnet !== undefined ? { subnet: inst.subnet } : {}), ...(inst.market !== undefined ? { market: inst.market } : {}) };
      attempts.push(a);
    }
    if (GONE.has(inst.state)) a.endedAt ??= now.toISOString();
    if (inst.reclaimed) a.interruptedAt ??= now.toISOString();
  }
  for (const n of notices) {
    const a = n.instanceId !== undefined ? attempts.find((x) => x.instanceId === n.instanceId) : attempts.length === 1 ? attempts[0] : undefined;
    if (a) a.interruptedAt ??= n.at;
  }
  // Recovery is for spot nodes: an attempt of no known market is the stack's spot node.
  if (prices) {
    for (const a of attempts) {
      a.market ??= "spot";
      const price = a.market === "on-demand" ? prices.onDemand : prices.spot;
      if (a.hourlyUsd === undefined && price !== undefined) a.hourlyUsd = price;
    }
  }
  attempts.sort((x, y) => x.attempt - y.attempt);
  return { ...s, attempts };
}
