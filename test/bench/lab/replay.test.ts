// A campaign replayed from a ground truth (bench/lab/replay.ts): the production planner and
// proposer decide, the cache answers, and a pruner's stops cost only the steps run.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { configHash } from "../../../src/evidence/hash.ts";
import { gridConfig, type LoadedMenu } from "../../../src/lab/menu.ts";
import { resultOf } from "../../../src/lab/planner.ts";
import { randomProposer, type Proposer } from "../../../src/lab/proposers.ts";
import { syntheticTruth, SEEDS } from "./synthetic-truth.ts";
import { cachedSeedOf, replayCampaign, TruthIndex, type Pruner } from "../../../bench/lab/replay.ts";
import { stepsSpent } from "../../../bench/lab/metrics.ts";

const menu: LoadedMenu = { file: "menu.yaml", steps: 30, seed: 0, knobs: { x: [1, 2, 3, 4, 5, 6] }, baseline: { x: 1 }, fixed: { mode: "ok" } };
/** x = 4 is best; each cached seed a little worse; the curve falls to the final value. */
const final = (x: number, seed: number): number => 4 + Math.abs(x - 4) * 0.1 + seed * 0.01;
const truth = syntheticTruth(menu, (config, seed) => final(Number(config["x"]), seed));
const index = new TruthIndex(truth);
const base = { menu, seed: 0, candidates: 4, repeats: 0, repeatTop: 0 };
const xs = (c: { evaluations: { task: { config: Record<string, unknown> } }[] }): unknown[] => c.evaluations.map((e) => e.task.config["x"]);

describe("replaying a campaign", () => {
  it("trains what lab sweep would: the baseline, then the random proposer's order without the baseline, under the planner's ids", async () => {
    const c = await replayCampaign({ ...base, proposer: randomProposer(menu, 0) }, index);
    const order: unknown[] = [];
    const p = randomProposer(menu, 0);
    while (order.length < 6) {
      const a = await p.next({ trajectoryFile: "", n: 0 });
      if (a.kind === "config") order.push(a.config["x"]);
    }
    expect(xs(c)).toEqual([1, ...order.filter((x) => x !== 1).slice(0, 3)]);
    expect(c.evaluations.map((e) => e.task.id)).toEqual(["c000", "c001", "c002", "c003"]);
    expect(stepsSpent(c.evaluations)).toBe(4 * 30);
    for (const e of c.evaluations) expect(e.value).toBe(final(Number(e.task.config["x"]), e.cachedSeed));
  });

  it("each (campaign, config) draws its own order of the cached seeds: first evaluation and repeats r = 1, 2 get all three, the same on every call", () => {
    const firsts = new Set<number>();
    for (let campaign = 0; campaign < 10; campaign++) {
      for (const h of truth.configs.map((c) => c.hash)) {
        const got = [0, 1, 2].map((r) => cachedSeedOf(SEEDS, campaign, h, campaign + r));
        expect([...got].sort()).toEqual(SEEDS);
        expect(cachedSeedOf(SEEDS, campaign, h, campaign)).toBe(got[0]);
        firsts.add(got[0] as number);
      }
    }
    expect(firsts).toEqual(new Set(SEEDS));
  });

  it("noise repeats run full length at cached seeds other than their config's first evaluation", async () => {
    const c = await replayCampaign({ ...base, repeats: 2, repeatTop: 1, proposer: randomProposer(menu, 0) }, index);
    const repeated = c.evaluations.filter((e) => e.task.proposer === "repeat");
    expect(repeated).toHaveLength(4);
    for (const h of new Set(repeated.map((e) => e.hash))) expect(new Set(c.evaluations.filter((e) => e.hash === h).map((e) => e.cachedSeed))).toEqual(new Set(SEEDS));
    expect(stepsSpent(c.evaluations)).toBe(8 * 30);
  });

  it("a pruner sees each point before the last; a stopped run costs the steps it ran, ranks nothing, and its row reaches the trajectory", async () => {
    const seen: number[] = [];
    // A stand-in, not ASHA: stop every candidate but the baseline at step 20.
    const pruner: Pruner = {
      report: (plan, task, at) => {
        seen.push(at.step);
        if (task.baseline || at.step < 20) return { plan };
        const row = { id: task.id, config: task.config, config_hash: configHash(task.config), status: "pruned", val_bpb: null, steps: at.step, seed: task.seed, proposer: task.proposer };
        return { plan, stop: { row, result: resultOf({ ...row, status: "crash" }, row.config_hash, task.seed) } };
      },
    };
    const c = await replayCampaign({ ...base, proposer: randomProposer(menu, 0), pruner }, index);
    expect(seen).toEqual([10, 20, 10, 20, 10, 20, 10, 20]);
    expect(c.evaluations.map((e) => e.steps)).toEqual([30, 20, 20, 20]);
    expect(c.evaluations.slice(1).map((e) => e.value)).toEqual([null, null, null]);
    expect(c.evaluations[1]?.pruned).toEqual({ step: 20, value: final(Number(c.evaluations[1]?.task.config["x"]), c.evaluations[1]?.cachedSeed as number) + 0.1 });
    expect(c.rows.map((r) => r["status"])).toEqual(["ok", "pruned", "pruned", "pruned"]);
  });

  it("a proposer reads the trajectory so far from ProposalContext.trajectoryFile, as under lab sweep", async () => {
    const rowsSeen: number[] = [];
    let i = 1;
    const reading: Proposer = {
      name: "reader",
      next: async (ctx) => {
        rowsSeen.push(readFileSync(ctx.trajectoryFile, "utf8").split("\n").filter(Boolean).length);
        return { kind: "config", config: gridConfig(menu, i++) };
      },
    };
    const c = await replayCampaign({ ...base, proposer: reading }, index);
    expect(xs(c)).toEqual([1, 2, 3, 4]);
    expect(rowsSeen).toEqual([1, 2, 3]);
  });

  it("refuses a config the truth does not hold (a proposer off the menu)", async () => {
    const off: Proposer = { name: "off", next: async () => ({ kind: "config", config: { x: 2.5, mode: "ok" } }) };
    await expect(replayCampaign({ ...base, proposer: off }, index)).rejects.toThrow(/the ground truth has no run of .* at seed \d: the planner asked for a config outside the menu/);
  });
});
