// The recovery rules on their own (src/watchdog/recovery.ts): pure, no AWS.
import { describe, expect, it } from "vitest";
import { decideRecovery, nextSubnet, replacementMarket, trackAttempts, usedMinutes, type Attempt, type RecoveryInput, type RecoveryPolicy } from "../../src/watchdog/recovery.ts";

const T0 = Date.parse("2026-12-01T00:00:00Z");
const at = (min: number) => new Date(T0 + min * 60_000);
const iso = (min: number) => at(min).toISOString();
const POLICY: RecoveryPolicy = { maxRestarts: 2, windowHours: 6, backoffMinutes: 4, restartOverheadMinutes: 20, subnets: ["subnet-a", "subnet-b", "subnet-c"] };

function input(over: Partial<RecoveryInput> = {}): RecoveryInput {
  return {
    policy: POLICY,
    state: { attempts: [{ attempt: 1, instanceId: "i-1", subnet: "subnet-a", launchedAt: iso(0), interruptedAt: iso(100) }], refusals: 0 },
    now: at(102),
    nodes: 1,
    hoursCap: 24,
    plannedHours: 20,
    hourlyUsd: 50,
    budgetUsd: 5000,
    endedOnItsOwn: false,
    tornDown: false,
    ...over,
  };
}

describe("decideRecovery", () => {
  it("relaunches an interrupted node as the next attempt, elsewhere, with what the cap leaves", () => {
    expect(decideRecovery(input())).toMatchObject({ action: "relaunch", attempt: 2, subnet: "subnet-b", hardStopMinutes: 24 * 60 - 102 });
  });

  it("never relaunches a node that ended on its own, was torn down, or was not interrupted", () => {
    expect(decideRecovery(input({ endedOnItsOwn: true }))).toEqual({ action: "none" });
    expect(decideRecovery(input({ tornDown: true }))).toEqual({ action: "none" });
    expect(decideRecovery(input({ state: { attempts: [{ attempt: 1, instanceId: "i-1", launchedAt: iso(0) }], refusals: 0 } }))).toEqual({ action: "none" });
  });

  it("launches one replacement per interruption", () => {
    const state = { attempts: [{ attempt: 1, instanceId: "i-1", launchedAt: iso(0), interruptedAt: iso(100) }, { attempt: 2, instanceId: "i-2", launchedAt: iso(102) }], refusals: 0 };
    expect(decideRecovery(input({ state }))).toEqual({ action: "none" });
  });

  it("gives up past maxRestarts, past the window, with too little of the cap left, and for a multi-node run", () => {
    const three = [1, 2, 3].map((n) => ({ attempt: n, instanceId: `i-${n}`, launchedAt: iso(n * 10), endedAt: iso(n * 10 + 5), interruptedAt: iso(n * 10 + 5) }));
    expect(decideRecovery(input({ state: { attempts: three, refusals: 0 } }))).toMatchObject({ action: "give-up", why: expect.stringMatching(/after 2 restarts/) });
    expect(decideRecovery(input({ now: at(100 + 6 * 60 + 1) }))).toMatchObject({ action: "give-up", why: expect.stringMatching(/past recovery.windowHours 6/) });
    expect(decideRecovery(input({ hoursCap: 2 }))).toMatchObject({ action: "give-up", why: expect.stringMatching(/min of the 2 h cap remain/) });
    expect(decideRecovery(input({ nodes: 2 }))).toMatchObject({ action: "give-up", why: expect.stringMatching(/2-node run/) });
  });

  it("prices what the run still needs, with the restart's overhead, against the budget", () => {
    // 102 min used ($85) + (20 h − 102 min + 20 min) at $50 ($932) = $1,017: within $1,050, not within $1,000.
    expect(decideRecovery(input({ budgetUsd: 1050 })).action).toBe("relaunch");
    expect(decideRecovery(input({ budgetUsd: 1000 }))).toMatchObject({ action: "give-up", why: expect.stringMatching(/cannot finish inside the budget/) });
  });

  it("backs off after AWS refuses, doubling, and moves on to the next subnet", () => {
    const refused = (n: number, lastMin: number) => ({ ...input().state, refusals: n, lastRefusalAt: iso(lastMin) });
    expect(decideRecovery(input({ state: refused(1, 100), now: at(103) }))).toMatchObject({ action: "wait" });
    expect(decideRecovery(input({ state: refused(1, 100), now: at(104) }))).toMatchObject({ action: "relaunch", subnet: "subnet-c" });
    expect(decideRecovery(input({ state: refused(2, 100), now: at(107) }))).toMatchObject({ action: "wait" });
    expect(decideRecovery(input({ state: refused(2, 100), now: at(108) }))).toMatchObject({ action: "relaunch", subnet: "subnet-a" });
  });
});

// recovery.fallbackAfter (issue 17): after N interruptions the replacement is on-demand, and the
// budget check prices the rest of the run at the on-demand rate.
describe("the on-demand fallback", () => {
  const interrupted = (n: number): Attempt[] => Array.from({ length: n }, (_, k) => ({ attempt: k + 1, instanceId: `i-${k + 1}`, launchedAt: iso(k * 30), interruptedAt: iso(k * 30 + 25), ...(k + 1 < n ? { endedAt: iso(k * 30 + 27) } : {}) }));

  it.each([
    { fallback: undefined, interruptions: 1, market: "spot", hourlyUsd: 50 },
    { fallback: undefined, interruptions: 3, market: "spot", hourlyUsd: 50 },
    { fallback: { after: 2, hourlyUsd: 98 }, interruptions: 1, market: "spot", hourlyUsd: 50 },
    { fallback: { after: 2, hourlyUsd: 98 }, interruptions: 2, market: "on-demand", hourlyUsd: 98 },
    { fallback: { after: 1, hourlyUsd: 98 }, interruptions: 1, market: "on-demand", hourlyUsd: 98 },
    { fallback: { after: 1, hourlyUsd: 98 }, interruptions: 2, market: "on-demand", hourlyUsd: 98 },
  ])("fallback $fallback.after, $interruptions interruption(s): the replacement is $market at $$$hourlyUsd/h", ({ fallback, interruptions, market, hourlyUsd }) => {
    const policy = { ...POLICY, maxRestarts: 3, ...(fallback ? { fallback } : {}) };
    expect(replacementMarket(policy, { attempts: interrupted(interruptions), refusals: 0 }, 50)).toMatchObject({ market, hourlyUsd });
    const d = decideRecovery(input({ policy, state: { attempts: interrupted(interruptions), refusals: 0 }, now: at(interruptions * 30) }));
    expect(d).toMatchObject({ action: "relaunch", attempt: interruptions + 1, market, hourlyUsd });
    if (market === "on-demand") expect(d.action === "relaunch" && d.why).toMatch(/on-demand at \$98\/h: \d interruptions?, recovery.fallbackAfter \d/);
  });

  it("prices the rest of the run on demand: a budget that pays for it on spot may not pay for it on demand", () => {
    // 102 min used ($85) + 1,118 min still needed: $932 on spot at $50/h, $1,863 on demand at $100/h.
    const onDemand = { ...POLICY, fallback: { after: 1, hourlyUsd: 100 } };
    expect(decideRecovery(input({ budgetUsd: 1500 }))).toMatchObject({ action: "relaunch", market: "spot" });
    expect(decideRecovery(input({ policy: onDemand, budgetUsd: 1500 }))).toMatchObject({ action: "give-up", why: expect.stringMatching(/\$85 spent \+ \$1863 for the 18\.6 h the run still needs .* on demand at \$100\/h \(recovery.fallbackAfter 1\) is more than the \$1500 budget/) });
    expect(decideRecovery(input({ policy: onDemand, budgetUsd: 2000 }))).toMatchObject({ action: "relaunch", market: "on-demand", hourlyUsd: 100 });
  });

  it("counts what is spent at each attempt's own price", () => {
    // Attempt 1: 60 min on spot at $50 ($50); attempt 2: 38 min on demand at $100 ($63.33): $113, not $82 at one price.
    const attempts: Attempt[] = [
      { attempt: 1, instanceId: "i-1", launchedAt: iso(0), endedAt: iso(60), interruptedAt: iso(58), market: "spot", hourlyUsd: 50 },
      { attempt: 2, instanceId: "i-2", launchedAt: iso(62), endedAt: iso(100), interruptedAt: iso(99), market: "on-demand", hourlyUsd: 100 },
    ];
    const policy = { ...POLICY, fallback: { after: 1, hourlyUsd: 100 } };
    expect(decideRecovery(input({ policy, state: { attempts, refusals: 0 }, budgetUsd: 100 }))).toMatchObject({ action: "give-up", why: expect.stringMatching(/^the remainder cannot finish inside the budget: \$113 spent/) });
  });
});

describe("the pieces", () => {
  it("tries the interrupted subnet last, and the template's own when none are configured", () => {
    expect([0, 1, 2, 3].map((k) => nextSubnet(POLICY, "subnet-b", k))).toEqual(["subnet-a", "subnet-c", "subnet-b", "subnet-a"]);
    expect(nextSubnet({ ...POLICY, subnets: [] }, "subnet-b", 0)).toBeUndefined();
    expect(nextSubnet({ ...POLICY, subnets: ["subnet-b"] }, "subnet-b", 0)).toBe("subnet-b");
  });

  it("counts every attempt's minutes against the cap, a live one up to now", () => {
    expect(usedMinutes([{ attempt: 1, instanceId: "i-1", launchedAt: iso(0), endedAt: iso(90) }, { attempt: 2, instanceId: "i-2", launchedAt: iso(100) }], at(130))).toBe(120);
  });

  it("tracks attempts from what the account shows and the nodes' notices", () => {
    const s = trackAttempts({ attempts: [], refusals: 0 }, [{ instanceId: "i-1", state: "running", launchedAt: iso(0), attempt: 1, reclaimed: false, subnet: "subnet-a" }], [{ instanceId: "i-1", at: iso(50) }], at(51));
    expect(s.attempts).toEqual([{ attempt: 1, instanceId: "i-1", launchedAt: iso(0), subnet: "subnet-a", interruptedAt: iso(50) }]);
    const gone = trackAttempts(s, [{ instanceId: "i-1", state: "terminated", launchedAt: iso(0), attempt: 1, reclaimed: true }], [], at(53));
    expect(gone.attempts[0]).toMatchObject({ endedAt: iso(53), interruptedAt: iso(50) });
    // AWS's own reason counts when the node could not say it.
    const silent = trackAttempts({ attempts: [], refusals: 0 }, [{ instanceId: "i-9", state: "terminated", launchedAt: iso(0), attempt: 1, reclaimed: true }], [], at(60));
    expect(silent.attempts[0]?.interruptedAt).toBe(iso(60));
  });

  it("prices each attempt by its market: the stack's node and an untagged one at the spot price, an on-demand one at the fallback's", () => {
    const facts = [
      { instanceId: "i-1", state: "terminated", launchedAt: iso(0), attempt: 1, reclaimed: true },
      { instanceId: "i-2", state: "running", launchedAt: iso(30), attempt: 2, reclaimed: false, market: "on-demand" as const },
    ];
    const s = trackAttempts({ attempts: [], refusals: 0 }, facts, [], at(40), { spot: 28, onDemand: 55.04 });
    expect(s.attempts.map((a) => [a.market, a.hourlyUsd])).toEqual([["spot", 28], ["on-demand", 55.04]]);
    // A price the watchdog recorded at launch is kept.
    const kept = trackAttempts({ attempts: [{ attempt: 1, instanceId: "i-1", launchedAt: iso(0), market: "spot", hourlyUsd: 31 }], refusals: 0 }, [], [], at(40), { spot: 28 });
    expect(kept.attempts[0]?.hourlyUsd).toBe(31);
  });
});
