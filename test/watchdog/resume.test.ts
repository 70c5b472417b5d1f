// A saved state whose monitor snapshots the gates refuse (written by another version, or a field
// missing) is neither a crash nor a teardown: that run is replayed from its whole curve into
// fresh monitors and judged as an uninterrupted watchdog would judge it, with an alert saying so;
// the replayed points do not count as news of the node for the dead-man switch.
import { describe, expect, it } from "vitest";
import { decide, type WatchdogConfig, type WatchdogState } from "../../src/watchdog/decide.ts";
import { resumeRuns } from "../../src/watchdog/resume.ts";
import type { MetricPoint } from "../../src/evidence/schemas.ts";
import { DEFAULT_POLICY } from "../helpers/policy.ts";

const MIN = 60_000;
const LAUNCH = new Date("2026-12-01T00:00:00Z");
const at = (m: number): Date => new Date(LAUNCH.getTime() + m * MIN);
const POLICY = { stress: DEFAULT_POLICY.stress, verify: DEFAULT_POLICY.verify, sanity: DEFAULT_POLICY.sanity, health: DEFAULT_POLICY.health };
const config = (over: Partial<WatchdogConfig> = {}): WatchdogConfig => ({ campaign: "camp", stage: "full", hoursCap: 24, hourlyUsd: 55, nodes: 1, policy: POLICY, ...over });
const healthy = (s: number): number => 2 + 6 * s ** -0.3;
/** `n` points every 10 steps from `from`, numbered as lines from `line`. */
const points = (from: number, n: number, line = 1, loss = healthy): MetricPoint[] => Array.from({ length: n }, (_, i) => ({ step: from + i * 10, line: line + i, loss: loss(from + i * 10), grad_norm: 1 }));
const m0 = "camp/full/node-0/train.metrics.jsonl";
const m1 = "camp/full/node-1/train.metrics.jsonl";

/** A state as a tick saves it: decide()'s, with the cursors the bucket reader moved. */
function saved(c: WatchdogConfig, batches: { key: string; points: MetricPoint[] }[], m = 5): WatchdogState {
  const d = decide({ config: c, state: undefined, now: at(m), launchedAt: LAUNCH, batches, events: [] });
  return { ...d.state, cursors: Object.fromEntries(batches.map((b) => [b.key, { bytes: 1000, line: b.points.length + 1 }])) };
}

/** The same state as an older version wrote it: its stress snapshot had no version. */
function older(s: WatchdogState, key: string): WatchdogState {
  const copy = structuredClone(s);
  const run = copy.runs[key];
  if (run) delete (run.monitor as Partial<typeof run.monitor>).version;
  return copy;
}

describe("resumeRuns", () => {
  it("keeps a state it can resume as it is", () => {
    const s = saved(config(), [{ key: m0, points: points(10, 30) }]);
    expect(resumeRuns(s)).toEqual({ state: s, replays: [] });
  });

  it("takes a refused run out, with its cursor, so the tick reads its object again from line 1; the other runs stay", () => {
    const s = older(saved(config({ nodes: 2 }), [{ key: m0, points: points(10, 30) }, { key: m1, points: points(10, 20) }]), m0);
    const before = structuredClone(s);
    const { state, replays } = resumeRuns(s);
    expect(replays).toEqual([{ key: m0, reason: "the stress monitor's snapshot: version: missing (this version reads version 1)", fromLine: 31 }]);
    expect(Object.keys(state.runs)).toEqual([m1]);
    expect(Object.keys(state.cursors)).toEqual([m1]);
    expect(state.runs[m1]).toEqual(s.runs[m1]);
    expect(s).toEqual(before);
  });

  it("replays a run whose verify snapshot alone is refused (one cursor feeds both monitors), naming the field", () => {
    const s = saved(config(), [{ key: m0, points: points(10, 30) }]);
    const run = s.runs[m0];
    const verify = { ...(run?.monitor ?? {}), version: 1 };
    const withVerify: WatchdogState = { ...s, runs: { [m0]: { ...(run as NonNullable<typeof run>), verify: verify as never } } };
    const { state, replays } = resumeRuns(withVerify);
    expect(replays[0]?.reason).toMatch(/^the verify monitor's snapshot: recent: missing; /);
    expect(state.runs).toEqual({});
  });

  it("stage sanity: the points kept for the sanity gates go with the run, since the replay reads them again", () => {
    const key = "camp/sanity/node-0/bf16.metrics.jsonl";
    const s = older(saved(config({ stage: "sanity" }), [{ key, points: points(10, 30) }]), key);
    expect(s.sanity?.[key]).toBeDefined();
    expect(resumeRuns(s).state.sanity).toEqual({});
  });

  it("refuses a run that is not an object at all, rather than throwing", () => {
    const s = saved(config(), [{ key: m0, points: points(10, 30) }]);
    const broken = { ...s, runs: { [m0]: null as never } };
    expect(resumeRuns(broken).replays.map((r) => r.key)).toEqual([m0]);
  });
});

describe("decide() after a replay", () => {
  const rising = (s: number): number => (s < 300 ? healthy(s) : healthy(s) * (1 + (s - 300) / 200));

  it("judges the whole curve as an uninterrupted watchdog does: the same teardown, the same gate", () => {
    const first = points(10, 30, 1, rising);
    const next = points(310, 30, 31, rising);
    const c = config();
    const s = saved(c, [{ key: m0, points: first }]);
    const straight = decide({ config: c, state: s, now: at(10), launchedAt: LAUNCH, batches: [{ key: m0, points: next }], events: [] });
    const { state, replays } = resumeRuns(older(s, m0));
    const replayed = decide({ config: c, state, now: at(10), launchedAt: LAUNCH, batches: [{ key: m0, points: [...first, ...next] }], events: [], replays });
    expect(straight.action).toBe("teardown");
    expect(straight.failed.map((g) => g.id)).toEqual(["stress.divergence"]);
    expect(replayed.action).toBe("teardown");
    expect(replayed.failed).toEqual(straight.failed);
    expect(replayed.state.runs[m0]).toEqual(straight.state.runs[m0]);
  });

  it("a healthy run is not torn down: it continues, with one alert that says what happened", () => {
    const c = config();
    const s = saved(c, [{ key: m0, points: points(10, 30) }]);
    const { state, replays } = resumeRuns(older(s, m0));
    const d = decide({ config: c, state, now: at(10), launchedAt: LAUNCH, batches: [{ key: m0, points: [...points(10, 30), ...points(310, 5, 31)] }], events: [], replays });
    expect(d.action).toBe("alert");
    expect(d.failed).toEqual([]);
    expect(d.alerts).toEqual([`train: its saved monitor state was refused (the stress monitor's snapshot: version: missing (this version reads version 1)); its monitors start afresh from the whole curve in the bucket (${m0}, read again from line 1), so this run is judged as if the watchdog had just started`]);
    expect(d.state.runs[m0]?.points).toBe(35);
    expect(d.state.runs[m0]?.monitor.version).toBe(1);
    const after = decide({ config: c, state: d.state, now: at(12), launchedAt: LAUNCH, batches: [], events: [] });
    expect(after.action).toBe("continue");
  });

  /** A tick at minute `m` that replays m0 (its saved state refused) with `batch`, after one at minute 5 that read 30 points. */
  function replayedAt(m: number, batch: MetricPoint[]) {
    const c = config();
    const { state, replays } = resumeRuns(older(saved(c, [{ key: m0, points: points(10, 30) }]), m0));
    return decide({ config: c, state, now: at(m), launchedAt: LAUNCH, batches: [{ key: m0, points: batch }], events: [], replays });
  }

  it.each([
    { what: "the replayed points alone are not", batch: points(10, 30), last: at(5) },
    { what: "a point past the refused state's cursor is", batch: points(10, 31), last: at(30) },
  ])("$what news of the node", ({ batch, last }) => {
    expect(replayedAt(30, batch).state.nodes["node-0"]?.lastPointAt).toBe(last.toISOString());
  });

  it("a node silent since minute 5 still meets the dead-man switch after a replay", () => {
    const d = replayedAt(30, points(10, 30));
    const silent = decide({ config: config(), state: d.state, now: at(5 + DEFAULT_POLICY.health.teardown_after_stale_minutes + 1), launchedAt: LAUNCH, batches: [], events: [] });
    expect(silent.action).toBe("teardown");
    expect(silent.failed.map((g) => g.id)).toEqual(["health.dead_man"]);
  });
});
