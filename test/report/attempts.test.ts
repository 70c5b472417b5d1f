// The report's spot attempts table (src/report/attempts.ts), from a watchdog state: pure.
import { describe, expect, it } from "vitest";
import { attemptsSection } from "../../src/report/attempts.ts";
import { attemptsStateSchema, type AttemptsState } from "../../src/campaign/attempt-ledger.ts";

const T0 = Date.parse("2026-12-01T00:00:00Z");
const iso = (min: number) => new Date(T0 + min * 60_000).toISOString();
const SOURCE = { file: "watchdog-state.json", sha256: "ab".repeat(32) };
const state = (over: Partial<AttemptsState> = {}): AttemptsState =>
  attemptsStateSchema().parse({
    version: 1,
    lastTickAt: iso(360),
    recovery: {
      attempts: [
        { attempt: 1, instanceId: "i-1", subnet: "subnet-a", launchedAt: iso(0), endedAt: iso(122), interruptedAt: iso(120), market: "spot", hourlyUsd: 28 },
        { attempt: 2, instanceId: "i-2", subnet: "subnet-b", launchedAt: iso(124), endedAt: iso(240), interruptedAt: iso(238), market: "spot", hourlyUsd: 28 },
        { attempt: 3, instanceId: "i-3", subnet: "subnet-a", launchedAt: iso(242), market: "on-demand", hourlyUsd: 55.04, exitStatus: 0 },
      ],
      refusals: 0,
    },
    ...over,
  });

describe("the spot attempts table", () => {
  it("one row an attempt: its market, launch and stop, hours and cost at its own price, how it ended; then the totals", () => {
    const t = attemptsSection(state(), SOURCE, { now: new Date(T0 + 999 * 60_000) });
    expect(t.rows.map((r) => r.cells)).toEqual([
      ["1", "i-1", "subnet-a", "spot", "2026-12-01 00:00Z", "2026-12-01 02:02Z", "2.0", "$56.93", "interrupted at 2026-12-01 02:00Z"],
      ["2", "i-2", "subnet-b", "spot", "2026-12-01 02:04Z", "2026-12-01 04:00Z", "1.9", "$54.13", "interrupted at 2026-12-01 03:58Z"],
      // Up to the state's last tick, not to when the report was made: 118 min on demand.
      ["3", "i-3", "subnet-a", "on-demand", "2026-12-01 04:02Z", "—", "2.0", "$108.25", "finished"],
    ]);
    expect(t.rows.map((r) => r.data)).toEqual([
      { attempt: "1", market: "spot", outcome: "interrupted", hours: "2.033", cost: "56.93" },
      { attempt: "2", market: "spot", outcome: "interrupted", hours: "1.933", cost: "54.13" },
      { attempt: "3", market: "on-demand", outcome: "finished", hours: "1.967", cost: "108.25" },
    ]);
    expect(t.foot).toEqual(["total", "2 restarts", "", "2 interruptions", "", "", "5.9", "$219.31", ""]);
    expect(t.caption).toBe(`From the watchdog's state watchdog-state.json (sha256 ${"ab".repeat(6)}), as of its last tick at 2026-12-01 06:00Z: 3 attempts, 2 restarts, 2 interruptions, 5.9 node-hours, $219.31 (each attempt at its own price). An attempt not yet stopped is counted up to then.`);
  });

  it("a state without the tick's time is counted up to the report's; an attempt with no price is priced at the plan's", () => {
    const { lastTickAt: _t, ...noTime } = state();
    const old = { ...noTime, recovery: { attempts: [{ attempt: 1, instanceId: "i-1", launchedAt: iso(0), interruptedAt: iso(50), endedAt: iso(60) }, { attempt: 2, instanceId: "i-2", launchedAt: iso(62) }], refusals: 1 } };
    const t = attemptsSection(old, SOURCE, { now: new Date(T0 + 122 * 60_000), hourlyUsd: 30 });
    expect(t.rows.map((r) => [r.cells[3], r.cells[6], r.cells[7], r.cells[8]])).toEqual([["spot", "1.0", "$30.00", "interrupted at 2026-12-01 00:50Z"], ["spot", "1.0", "$30.00", "running"]]);
    expect(t.caption).toMatch(/as of this report \(2026-12-01 02:02Z; the state does not say when its tick ran\): 2 attempts, 1 restart, 1 interruption, 2\.0 node-hours, \$60\.00\. AWS refused 1 launch since the last one/);
    // Without a price from anywhere the cost is not guessed.
    expect(attemptsSection(old, SOURCE, { now: new Date(T0 + 122 * 60_000) }).foot?.[7]).toBe("—");
  });

  it("a recovery that gave up, and a campaign the watchdog tore down, are said", () => {
    const s = state({ teardown: { at: iso(300), reasons: ["stress.divergence"] } });
    const last = s.recovery?.attempts[2];
    if (last) delete last.exitStatus;
    const t = attemptsSection({ ...s, recovery: { ...(s.recovery as NonNullable<AttemptsState["recovery"]>), gaveUp: { at: iso(300), reason: "past recovery.windowHours 12" } } }, SOURCE, { now: new Date() });
    expect(t.rows[2]?.cells.slice(5)).toEqual(["2026-12-01 05:00Z", "1.0", "$53.21", "torn down at 2026-12-01 05:00Z"]);
    expect(t.caption).toContain("Recovery gave up at 2026-12-01 05:00Z: past recovery.windowHours 12.");
  });

  it("a stage without spot recovery has no attempts to list, and says why", () => {
    const t = attemptsSection(attemptsStateSchema().parse({ version: 1 }), SOURCE, { now: new Date() });
    expect(t.rows).toEqual([]);
    expect(t.caption).toMatch(/records no attempts: spot recovery is off for this stage/);
  });
});
