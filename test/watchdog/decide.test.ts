// decide() is composition only: each row feeds it what a tick would read and checks the action and
// the gate that decided it. The gates themselves are tested on their own (test/gates).
import { describe, expect, it } from "vitest";
import { decide, recordRelaunch, type NodeEvent, type WatchdogConfig, type WatchdogState } from "../../src/watchdog/decide.ts";
import type { RecoveryConfig } from "../../src/campaign/watchdog-config.ts";
import type { MetricPoint } from "../../src/evidence/schemas.ts";
import { DEFAULT_POLICY } from "../helpers/policy.ts";

const MIN = 60_000;
const LAUNCH = new Date("2026-12-01T00:00:00Z");
const at = (m: number): Date => new Date(LAUNCH.getTime() + m * MIN);
const POLICY = { stress: DEFAULT_POLICY.stress, verify: DEFAULT_POLICY.verify, sanity: DEFAULT_POLICY.sanity, health: DEFAULT_POLICY.health };
const config = (over: Partial<WatchdogConfig> = {}): WatchdogConfig => ({ campaign: "camp", stage: "full", hoursCap: 24, hourlyUsd: 55, nodes: 1, policy: POLICY, ...over });
const points = (from: number, n: number, loss = (s: number) => 2 + 6 * s ** -0.3): MetricPoint[] => Array.from({ length: n }, (_, i) => ({ step: from + i * 10, line: i + 1, loss: loss(from + i * 10), grad_norm: 1 }));
const done = (node: string, detail: unknown, time: string): NodeEvent => ({ event: "node_done", detail, time, key: `camp/full/${node}/events.jsonl` });

interface Tick {
  m: number;
  batches?: { key: string; points: MetricPoint[] }[];
  events?: NodeEvent[];
}

function run(c: WatchdogConfig, ticks: readonly Tick[]) {
  let state: WatchdogState | undefined;
  const out = [];
  for (const t of ticks) {
    const d = decide({ config: c, state, now: at(t.m), launchedAt: LAUNCH, batches: t.batches ?? [], events: t.events ?? [] });
    state = d.state;
    out.push(d);
  }
  return out;
}

const m0 = "camp/full/node-0/train.metrics.jsonl";
const m1 = "camp/full/node-1/train.metrics.jsonl";

describe("the watchdog's decision, composed from the gates", () => {
  it.each([
    { name: "a healthy stream", c: config(), ticks: [{ m: 5, batches: [{ key: m0, points: points(10, 30) }] }, { m: 10, batches: [{ key: m0, points: points(310, 30) }] }], action: "continue", gate: undefined },
    { name: "a NaN loss", c: config(), ticks: [{ m: 5, batches: [{ key: m0, points: [...points(10, 30), { step: 400, line: 31, loss: Number.NaN }] }] }], action: "teardown", gate: "stress.finite" },
    { name: "no metrics 70 min after launch (a cold start): not yet", c: config(), ticks: [{ m: 70 }], action: "continue", gate: undefined },
    { name: "no metrics 110 min after launch", c: config(), ticks: [{ m: 110 }], action: "teardown", gate: "health.first_metrics" },
    { name: "silent for 50 min after metrics", c: config(), ticks: [{ m: 5, batches: [{ key: m0, points: points(10, 30) }] }, { m: 55 }], action: "teardown", gate: "health.dead_man" },
    { name: "silent for 20 min: an alert", c: config(), ticks: [{ m: 5, batches: [{ key: m0, points: points(10, 30) }] }, { m: 25 }], action: "alert", gate: undefined },
    { name: "two nodes, rank 1 done, rank 0 hung: the dead-man switch is per node", c: config({ nodes: 2 }), ticks: [{ m: 5, batches: [{ key: m0, points: points(10, 30) }, { key: m1, points: points(10, 30) }] }, { m: 6, events: [done("node-1", { status: 0 }, at(6).toISOString())] }, { m: 60 }], action: "teardown", gate: "health.dead_man" },
    { name: "two nodes, both done: no silence teardown", c: config({ nodes: 2 }), ticks: [{ m: 5, batches: [{ key: m0, points: points(10, 30) }, { key: m1, points: points(10, 30) }] }, { m: 6, events: [done("node-0", { status: 0 }, at(6).toISOString()), done("node-1", { status: 0 }, at(6).toISOString())] }, { m: 90 }], action: "continue", gate: undefined },
    { name: "stage full: a failed run (status 7), within its grace: an alert", c: config(), ticks: [{ m: 5, batches: [{ key: m0, points: points(10, 30) }], events: [done("node-0", { status: 7 }, at(5).toISOString())] }], action: "alert", gate: undefined },
    { name: "stage full: a failed run still up past its grace", c: config(), ticks: [{ m: 5, batches: [{ key: m0, points: points(10, 30) }], events: [done("node-0", { status: 7 }, at(5).toISOString())] }, { m: 16 }], action: "teardown", gate: "health.exit_status" },
    { name: "stage full: SIGTERM (143)", c: config(), ticks: [{ m: 5, events: [done("node-0", { status: 143 }, at(5).toISOString())] }, { m: 20 }], action: "teardown", gate: "health.exit_status" },
    { name: "a node_done without a status counts as a failure", c: config(), ticks: [{ m: 5, events: [done("node-0", null, at(5).toISOString())] }, { m: 20 }], action: "teardown", gate: "health.exit_status" },
    { name: "stage sanity: a failed run fails the day at once", c: config({ stage: "sanity" }), ticks: [{ m: 5, events: [{ ...done("node-0", { status: 1 }, at(5).toISOString()), key: "camp/sanity/node-0/events.jsonl" }] }], action: "teardown", gate: "health.exit_status" },
    { name: "a spot interruption: an alert, and no silence teardown after it", c: config(), ticks: [{ m: 5, batches: [{ key: m0, points: points(10, 30) }], events: [{ event: "spot_interruption", detail: { action: "terminate" }, time: at(5).toISOString(), key: "camp/full/node-0/events.jsonl" }] }, { m: 120 }], action: "continue", gate: undefined },
    { name: "stage sanity: a node AWS reclaimed reports done after skipping runs; the incomplete day is not judged", c: config({ stage: "sanity" }), ticks: [{ m: 5, batches: [{ key: "camp/sanity/node-0/bf16.metrics.jsonl", points: points(10, 30) }], events: [{ event: "spot_interruption", detail: null, time: at(5).toISOString(), key: "camp/sanity/node-0/events.jsonl" }, { ...done("node-0", { status: 0 }, at(6).toISOString()), key: "camp/sanity/node-0/events.jsonl" }] }, { m: 8 }], action: "continue", gate: undefined },
    { name: "past the hours cap", c: config({ hoursCap: 1 }), ticks: [{ m: 5, batches: [{ key: m0, points: points(10, 30) }] }, { m: 71, batches: [{ key: m0, points: points(310, 5) }] }], action: "teardown", gate: "health.hours_cap" },
  ] as const)("$name → $action", ({ c, ticks, action, gate }) => {
    const ds = run(c, ticks as readonly Tick[]);
    const last = ds[ds.length - 1];
    expect(last?.action).toBe(action);
    if (gate !== undefined) {
      expect(last?.failed.map((g) => g.id)).toContain(gate);
      const g = last?.failed.find((x) => x.id === gate);
      expect(last?.reasons.some((r) => r.includes(g?.message ?? "?"))).toBe(true);
    } else expect(last?.failed).toEqual([]);
  });

  it("a teardown is decided once; a later tick says so and changes nothing", () => {
    const ds = run(config(), [{ m: 110 }, { m: 112 }]);
    expect(ds[0]?.action).toBe("teardown");
    expect(ds[1]?.action).toBe("continue");
    expect(ds[1]?.reasons[0]).toMatch(/^already torn down at /);
  });
});

// Issue 17: each attempt's market and price, and how it ended, are what watch and the report read.
describe("the attempts the watchdog records", () => {
  const recovery: RecoveryConfig = { launchTemplateId: "lt-spot", launchTemplateVersion: "1", securityGroupIds: [], userData: "eA==", maxRestarts: 2, windowHours: 12, backoffMinutes: 4, restartOverheadMinutes: 20, subnets: [], budgetUsd: 10_000, plannedHours: 20, tags: {}, fallback: { after: 1, hourlyUsd: 100, launchTemplateId: "lt-od", launchTemplateVersion: "1" } };
  const c = config({ hourlyUsd: 50, recovery });
  const inst = (id: string, attempt: number, m: number, state: string, extra: object = {}) => ({ instanceId: id, attempt, launchedAt: at(m).toISOString(), state, reclaimed: false, ...extra });

  it("an on-demand replacement is charged at its own price, and its node_done is its own ending", () => {
    const notice: NodeEvent = { event: "spot_interruption", instance_id: "i-1", time: at(59).toISOString(), key: "camp/full/node-0/events.jsonl" };
    const first = decide({ config: c, state: undefined, now: at(60), launchedAt: LAUNCH, batches: [], events: [notice], instances: [inst("i-1", 1, 0, "running")] });
    expect(first.relaunch).toMatchObject({ attempt: 2, market: "on-demand", hourlyUsd: 100 });
    recordRelaunch(first.state, { attempt: 2, instanceId: "i-2", launchedAt: at(62).toISOString(), market: "on-demand", hourlyUsd: 100 });
    const second = decide({ config: c, state: first.state, now: at(62), launchedAt: at(62), batches: [], events: [], instances: [inst("i-1", 1, 0, "terminated", { reclaimed: true }), inst("i-2", 2, 62, "running", { market: "on-demand" })] });
    const finished = done("node-0", { status: 0 }, at(121).toISOString());
    const third = decide({ config: c, state: second.state, now: at(122), launchedAt: at(62), batches: [], events: [{ ...finished, key: "camp/full/node-0/attempt-2/events.jsonl" }], instances: [inst("i-2", 2, 62, "running", { market: "on-demand" })] });
    expect(third.state.recovery?.attempts.map((a) => [a.attempt, a.market, a.hourlyUsd, a.exitStatus])).toEqual([[1, "spot", 50, undefined], [2, "on-demand", 100, 0]]);
    // 62 min on spot at $50 ($51.67) + 60 min on demand at $100 ($100): not $101.67 at the spot price.
    expect(third.costSoFarUsd).toBe(151.67);
  });
});
