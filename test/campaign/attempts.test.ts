// One run across its attempts: a replacement's object continues the first attempt's run, and the
// steps it logs again are counted once, in the watchdog's monitors as in the rule itself.
import { describe, expect, it } from "vitest";
import { continueRun, inAttemptOrder } from "../../src/campaign/attempts.ts";
import { decide } from "../../src/watchdog/decide.ts";
import { DEFAULT_POLICY } from "../helpers/policy.ts";

const pts = (from: number, to: number) => Array.from({ length: (to - from) / 10 + 1 }, (_, k) => ({ step: from + k * 10, line: k + 1, loss: 4 * (from + k * 10) ** -0.1 }));
const KEY = "camp/full/node-0/train.metrics.jsonl";
const KEY2 = "camp/full/node-0/attempt-2/train.metrics.jsonl";

describe("continueRun", () => {
  it("keeps every point of the attempt being read, and only the new steps of a later one", () => {
    expect(continueRun(undefined, KEY, pts(10, 50))).toEqual({ id: KEY, attempt: 1, points: pts(10, 50) });
    const later = continueRun({ last: { step: 300 } }, KEY2, pts(260, 400));
    expect(later.id).toBe(KEY);
    expect(later.attempt).toBe(2);
    expect(later.points.map((p) => p.step)[0]).toBe(310);
    // Once the run is at attempt 2, its points are all new.
    expect(continueRun({ attempt: 2, last: { step: 400 } }, KEY2, pts(410, 420)).points).toHaveLength(2);
  });
});

describe("inAttemptOrder", () => {
  it("puts each run's attempts in order, whatever order the listing gave", () => {
    const k = (node: number, attempt: number) => `c/full/node-${node}/${attempt > 1 ? `attempt-${attempt}/` : ""}train.metrics.jsonl`;
    const listed = [k(0, 2), k(1, 1), k(0, 1), k(0, 3)].map((key) => ({ key }));
    expect(inAttemptOrder(listed).map((b) => b.key)).toEqual([k(0, 1), k(0, 2), k(0, 3), k(1, 1)]);
  });

  it("drops a superseded attempt's late upload: the replacement's steps stand", () => {
    expect(continueRun({ attempt: 2, last: { step: 500 } }, KEY, pts(300, 320)).points).toEqual([]);
  });
});

describe("the watchdog reads the attempts as one run", () => {
  it("carries the first attempt's monitors on, each step counted once", () => {
    const config = { campaign: "camp", stage: "full" as const, hoursCap: 24, hourlyUsd: 50, nodes: 1, policy: { stress: DEFAULT_POLICY.stress, verify: DEFAULT_POLICY.verify, sanity: DEFAULT_POLICY.sanity, health: DEFAULT_POLICY.health } };
    const t0 = Date.parse("2026-12-01T00:00:00Z");
    const a = decide({ config, state: undefined, now: new Date(t0 + 60_000), launchedAt: new Date(t0), batches: [{ key: KEY, points: pts(10, 300) }], events: [] });
    // The replacement resumed from its checkpoint at step 250 and logged 260… again.
    const b = decide({ config, state: a.state, now: new Date(t0 + 120_000), launchedAt: new Date(t0), batches: [{ key: KEY2, points: pts(260, 600) }], events: [] });
    expect(Object.keys(b.state.runs)).toEqual([KEY]);
    expect(b.state.runs[KEY]?.points).toBe(60);
    expect(b.state.runs[KEY]?.last?.step).toBe(600);
    expect(b.state.runs[KEY]?.attempt).toBe(2);
    expect(b.action).toBe("continue");
  });
});
