// The lab benchmark's scoring (bench/lab/metrics.ts) on cases small enough to work out by hand.
import { describe, expect, it } from "vitest";
import { quartiles, rankConfigs, recall, regret, regretByCandidates, stepsSpent, truthOf, type Scored } from "../../../bench/lab/metrics.ts";

/** Five configs a–e; their true means 4.0, 4.1, 4.2, 4.3 and a crash. */
const truth = truthOf({
  configs: [
    { hash: "c", config: {}, runs: [{ seed: 0, val_bpb: 4.1, curve: [], wall_s: 0 }, { seed: 1, val_bpb: 4.3, curve: [], wall_s: 0 }] },
    { hash: "a", config: {}, runs: [{ seed: 0, val_bpb: 3.9, curve: [], wall_s: 0 }, { seed: 1, val_bpb: 4.1, curve: [], wall_s: 0 }] },
    { hash: "d", config: {}, runs: [{ seed: 0, val_bpb: 4.3, curve: [], wall_s: 0 }, { seed: 1, val_bpb: 4.3, curve: [], wall_s: 0 }] },
    { hash: "b", config: {}, runs: [{ seed: 0, val_bpb: 4.0, curve: [], wall_s: 0 }, { seed: 1, val_bpb: 4.2, curve: [], wall_s: 0 }] },
    { hash: "e", config: {}, runs: [{ seed: 0, val_bpb: 3.0, curve: [], wall_s: 0 }, { seed: 1, val_bpb: null, curve: [], wall_s: 0 }] },
  ],
});

const run = (hash: string, value: number | null, o: { seed?: number; steps?: number; repeat?: boolean } = {}): Scored => ({ hash, value, steps: o.steps ?? 60, task: { seed: o.seed ?? 0, proposer: o.repeat ? "repeat" : "random" } });

describe("the true ranking", () => {
  it("ranks by the mean over seeds; a config with a crashed seed is last (Infinity), never the best", () => {
    expect(truth.ranked).toEqual(["a", "b", "c", "d", "e"]);
    expect(truth.best).toBeCloseTo(4.0, 12);
    expect(truth.mean.get("e")).toBe(Infinity);
  });
});

describe("a campaign's own ranking", () => {
  it.each([
    { name: "by the observed value, best first", evals: [run("c", 4.05), run("a", 4.2), run("b", 4.1)], want: ["c", "b", "a"] },
    { name: "a repeated config by the mean of its values", evals: [run("a", 4.0), run("b", 4.1), run("a", 4.3, { seed: 1, repeat: true })], want: ["b", "a"] },
    { name: "equal means: the config evaluated more often first", evals: [run("b", 4.1), run("a", 4.0), run("a", 4.2, { seed: 1, repeat: true })], want: ["a", "b"] },
    { name: "stopped and crashed runs rank nothing", evals: [run("a", null, { steps: 20 }), run("b", 4.2), run("c", null)], want: ["b"] },
  ])("$name", ({ evals, want }) => expect(rankConfigs(evals)).toEqual(want));
});

describe("recall of the true top 3 (a, b, c)", () => {
  it.each([
    { ranking: ["a", "b", "c", "d"], want: 1 },
    { ranking: ["c", "d", "a"], want: 2 / 3 },
    { ranking: ["d", "e", "b"], want: 1 / 3 },
    { ranking: ["d", "e", "a"], want: 1 / 3 },
    { ranking: ["d", "a"], want: 1 / 3 },
    { ranking: ["d", "e", "x", "a"], want: 0 },
    { ranking: [], want: 0 },
  ])("top 3 of $ranking: $want", ({ ranking, want }) => expect(recall(ranking, truth)).toBeCloseTo(want, 12));
});

describe("regret of the pick", () => {
  it.each([
    { pick: "a", want: 0 },
    { pick: "c", want: 0.2 },
    { pick: "d", want: 0.3 },
    { pick: "e", want: Infinity },
    { pick: undefined, want: Infinity },
  ])("$pick: $want", ({ pick, want }) => (want === Infinity ? expect(regret(pick, truth)).toBe(Infinity) : expect(regret(pick, truth)).toBeCloseTo(want, 12)));

  it("refuses a pick that is not a config of the truth (the replay trained something off the menu)", () => {
    expect(() => regret("zz", truth)).toThrow(/zz is not a config of the ground truth/);
  });
});

describe("trainer steps", () => {
  it("adds full-length runs, stopped runs at the step they stopped, and repeats", () => {
    expect(stepsSpent([run("a", 4.0), run("b", null, { steps: 20 }), run("c", null, { steps: 40 }), run("a", 4.1, { seed: 1, repeat: true })])).toBe(60 + 20 + 40 + 60);
    expect(stepsSpent([])).toBe(0);
  });
});

describe("regret after k candidates", () => {
  it("picks the best observed full-length value among the first k distinct configs at the campaign's seed; repeats, other seeds and replays are not candidates", () => {
    const evals = [
      run("d", 4.35), // k=1: pick d → 0.3
      run("b", null, { steps: 20 }), // k=2: stopped, pick still d → 0.3
      run("c", 4.0), // k=3: pick c → 0.2
      run("c", 4.4, { seed: 1, repeat: true }), // a repeat: not a candidate
      run("a", 4.05), // k=4: c (4.0) still observed best → 0.2; noise hides a
      run("d", 4.35), // the same config again: not a new candidate
      run("b", 3.9, { seed: 7 }), // another seed: not this campaign's first evaluation
    ];
    const r = regretByCandidates(evals, 0, truth);
    expect(r).toHaveLength(4);
    [0.3, 0.3, 0.2, 0.2].forEach((want, i) => expect(r[i]).toBeCloseTo(want, 12));
  });

  it("is Infinity until a candidate runs to full length", () => {
    expect(regretByCandidates([run("a", null, { steps: 20 }), run("b", 4.0)], 0, truth)).toEqual([Infinity, expect.closeTo(0.1, 12)]);
  });
});

describe("median and quartiles", () => {
  it.each([
    { xs: [3, 1, 2], want: { q1: 1.5, median: 2, q3: 2.5 } },
    { xs: [1, 2, 3, 4], want: { q1: 1.75, median: 2.5, q3: 3.25 } },
    { xs: [0, 0, 0, 1 / 3, 1 / 3, 1 / 3, 1 / 3, 2 / 3, 2 / 3, 1], want: { q1: 1 / 12, median: 1 / 3, q3: 7 / 12 } },
    { xs: [5], want: { q1: 5, median: 5, q3: 5 } },
  ])("$xs", ({ xs, want }) => {
    const q = quartiles(xs);
    expect(q.q1).toBeCloseTo(want.q1, 12);
    expect(q.median).toBeCloseTo(want.median, 12);
    expect(q.q3).toBeCloseTo(want.q3, 12);
  });

  it("an Infinity (no pick) counts as the worst, not as missing", () => {
    expect(quartiles([0.1, Infinity, Infinity]).median).toBe(Infinity);
    expect(quartiles([0.1, 0.2, Infinity]).median).toBe(0.2);
    expect(quartiles([]).median).toBeNaN();
  });
});
