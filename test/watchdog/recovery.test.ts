// The recovery rules on their own (src/watchdog/recovery.ts): pure, no AWS.
import { describe, expect, it } from "vitest";
import { decideRecovery, nextSubnet, trackAttempts, usedMinutes, type RecoveryInput, type RecoveryPolicy } from "../../src/watchdog/recovery.ts";

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
});
