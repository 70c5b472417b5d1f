// The attempts ledger (src/campaign/attempt-ledger.ts): the one reading of the watchdog's record of
// attempts that watch and the report print. Pure.
import { describe, expect, it } from "vitest";
import { attemptsLedger, attemptsStateSchema, attemptsSummary, endingOf, type Attempt, type AttemptRow } from "../../src/campaign/attempt-ledger.ts";

const T0 = Date.parse("2026-12-01T00:00:00Z");
const at = (min: number) => new Date(T0 + min * 60_000);
const iso = (min: number) => at(min).toISOString();

const spot1: Attempt = { attempt: 1, instanceId: "i-1", subnet: "subnet-a", launchedAt: iso(0), endedAt: iso(120), interruptedAt: iso(118), market: "spot", hourlyUsd: 30 };
const onDemand2: Attempt = { attempt: 2, instanceId: "i-2", subnet: "subnet-b", launchedAt: iso(125), market: "on-demand", hourlyUsd: 60 };

describe("how each attempt ended", () => {
  it.each([
    { name: "reclaimed by AWS", a: { interruptedAt: iso(50), exitStatus: 143 }, outcome: "interrupted", words: `interrupted at ${iso(50)}` },
    { name: "its runs finished", a: { exitStatus: 0 }, outcome: "finished", words: "finished" },
    { name: "a run failed", a: { exitStatus: 7 }, outcome: "failed", words: "failed (status 7)" },
    { name: "still up", a: {}, outcome: "running", words: "running" },
    { name: "gone, nothing said", a: { endedAt: iso(90) }, outcome: "ended", words: `ended at ${iso(90)}` },
  ])("$name: $outcome", ({ a, outcome, words }) => {
    const l = attemptsLedger({ recovery: { attempts: [{ attempt: 1, instanceId: "i-1", launchedAt: iso(0), ...a }], refusals: 0 }, now: at(100) });
    expect(l.rows[0]?.outcome).toBe(outcome);
    expect(endingOf(l.rows[0] as AttemptRow)).toBe(words);
  });

  it("the last attempt of a campaign the watchdog tore down stopped then, even before a tick saw it gone", () => {
    const l = attemptsLedger({ recovery: { attempts: [spot1, onDemand2], refusals: 0 }, teardown: { at: iso(185), reasons: ["stress.divergence"] }, now: at(600) });
    expect(l.rows.map((r) => r.outcome)).toEqual(["interrupted", "torn down"]);
    expect(l.rows[1]).toMatchObject({ stoppedAt: iso(185), hours: 1 });
  });
});

describe("hours and money", () => {
  it("each attempt at its own price, the totals over all of them", () => {
    const l = attemptsLedger({ recovery: { attempts: [onDemand2, spot1], refusals: 0 }, now: at(185) });
    expect(l.rows.map((r) => [r.attempt, r.market, r.hours, r.costUsd])).toEqual([[1, "spot", 2, 60], [2, "on-demand", 1, 60]]);
    expect(l).toMatchObject({ restarts: 1, interruptions: 1, hours: 3, costUsd: 120, refusals: 0 });
  });

  it("an attempt with no price of its own (a state from before prices were kept) is priced at the caller's, else not at all", () => {
    const old: Attempt = { attempt: 1, instanceId: "i-1", launchedAt: iso(0), endedAt: iso(60), interruptedAt: iso(60) };
    expect(attemptsLedger({ recovery: { attempts: [old, onDemand2], refusals: 0 }, now: at(185), hourlyUsd: 28 })).toMatchObject({ rows: [{ market: "spot", costUsd: 28 }, { costUsd: 60 }], costUsd: 88 });
    const unpriced = attemptsLedger({ recovery: { attempts: [old, onDemand2], refusals: 0 }, now: at(185) });
    expect(unpriced.rows[0]?.costUsd).toBeUndefined();
    expect(unpriced.costUsd).toBeUndefined();
  });
});

describe("watch's lines", () => {
  it("one an attempt, with its market, hours, cost and ending, then the restarts and the totals", () => {
    expect(attemptsSummary(attemptsLedger({ recovery: { attempts: [spot1, onDemand2], refusals: 0 }, now: at(185) }))).toEqual([
      `attempt 1: i-1 in subnet-a, spot, 2.0 h, $60.00, interrupted at ${iso(118)}`,
      "attempt 2: i-2 in subnet-b, on-demand, 1.0 h so far, $60.00, running",
      "1 restart, 1 interruption(s), 3.0 node-hours in all, $120.00",
    ]);
  });

  it("nothing before a first interruption; a gave-up recovery and refused launches are said", () => {
    expect(attemptsSummary(attemptsLedger({ recovery: { attempts: [{ attempt: 1, instanceId: "i-1", launchedAt: iso(0) }], refusals: 0 }, now: at(10) }))).toEqual([]);
    const lines = attemptsSummary(attemptsLedger({ recovery: { attempts: [spot1], refusals: 2, gaveUp: { at: iso(130), reason: "past recovery.windowHours 12" } }, now: at(185) }));
    expect(lines.at(-1)).toBe("0 restarts, 1 interruption(s), 2.0 node-hours in all, $60.00; recovery gave up: past recovery.windowHours 12; 2 launch(es) refused, retrying");
  });
});

describe("the state file's schema", () => {
  it("reads what the watchdog writes and ignores the monitors beside it", () => {
    const state = { version: 1, firstTickAt: iso(0), ticks: 9, cursors: {}, runs: { x: { monitor: {} } }, nodes: {}, alerted: [], recovery: { attempts: [spot1, onDemand2], refusals: 0 } };
    expect(attemptsStateSchema().safeParse(state).success).toBe(true);
  });

  it.each([
    { name: "another version", state: { version: 2 }, path: "version" },
    { name: "a market it does not know", state: { version: 1, recovery: { attempts: [{ ...spot1, market: "reserved" }], refusals: 0 } }, path: "recovery.attempts.0.market" },
    { name: "a launch time that is no time", state: { version: 1, recovery: { attempts: [{ ...spot1, launchedAt: "yesterday" }], refusals: 0 } }, path: "recovery.attempts.0.launchedAt" },
  ])("refuses $name, naming the field", ({ state, path }) => {
    const r = attemptsStateSchema().safeParse(state);
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.path.join("."))).toContain(path);
  });
});
