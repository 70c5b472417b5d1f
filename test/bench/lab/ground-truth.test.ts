// The lab benchmark's cache refuses to stand for a trainer or a menu it was not made from
// (bench/lab/ground-truth.ts), and the committed cache is this tree's.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { configHash } from "../../../src/evidence/hash.ts";
import { loadMenu, type Menu } from "../../../src/lab/menu.ts";
import { menuConfigs, menuHash, TRUTH_FORMAT, truthProblems, truthSeeds, type GroundTruth } from "../../../bench/lab/ground-truth.ts";
import { trainerSourceHash } from "../../../bench/lab/trainer-source.ts";
import { REPO } from "../../helpers/shared.ts";

const REMAKE = "npm run bench:lab -- --remake-truth";
const menu = await loadMenu(join(REPO, "examples/menu.yaml"));

/** A cache as remakeTruth would write it for `m`, with made-up values. */
function cacheOf(m: Menu, trainerHash = "t".repeat(64)): GroundTruth {
  const seeds = truthSeeds(m);
  const steps = [10, 20, 30, 40, 50, 60];
  return {
    format: TRUTH_FORMAT,
    trainer: { entry: "examples/trainer/train.ts", hash: trainerHash, files: ["examples/trainer/train.ts"] },
    menu: { file: "examples/menu.yaml", hash: menuHash(m) },
    steps: m.steps,
    evalEvery: 10,
    seeds,
    made: { at: "2026-01-01T00:00:00.000Z", node: "v24", cpus: 2, wall_s: 1, command: REMAKE },
    configs: menuConfigs(m).map((config) => ({ hash: configHash(config), config, runs: seeds.map((seed) => ({ seed, val_bpb: 4.5, curve: steps.map((step) => ({ step, val_bpb: 4.5, loss: 3 })), wall_s: 0.5 })) })),
  };
}
const want = (m: Menu, trainerHash = "t".repeat(64)) => ({ trainerHash, menu: m, evalEvery: 10, seeds: truthSeeds(m) });

describe("the ground truth's stale check", () => {
  it("accepts a cache of this menu and trainer", () => {
    expect(truthProblems(cacheOf(menu), want(menu), REMAKE)).toEqual([]);
  });

  it("refuses a changed menu, naming both hashes and the command that remakes it", () => {
    const changed: Menu = { ...menu, knobs: { ...menu.knobs, lr: [0.001, 0.003, 0.01, 0.1] } };
    const problems = truthProblems(cacheOf(menu), want(changed), REMAKE);
    expect(problems[0]).toBe(`menu: examples/menu.yaml hashed ${menuHash(menu).slice(0, 12)} when the cache was made, ${menuHash(changed).slice(0, 12)} now: the cache is stale, remake it with ${REMAKE}`);
    expect(problems).toContainEqual(expect.stringMatching(/^configs: 12 of the menu's 48 are not in the cache \(e\.g\. \{"lr":0\.1,/));
  });

  it.each([
    { what: "a fixed key", change: (m: Menu): Menu => ({ ...m, fixed: { ...m.fixed, batch: 64 } }) },
    { what: "the baseline", change: (m: Menu): Menu => ({ ...m, baseline: { ...m.baseline, lr: 0.003 } }) },
    { what: "the step count", change: (m: Menu): Menu => ({ ...m, steps: 100 }) },
  ])("refuses a menu whose $what changed, though its configs' knobs did not", ({ change }) => {
    expect(truthProblems(cacheOf(menu), want(change(menu)), REMAKE)[0]).toMatch(/^menu: .* the cache is stale, remake it with npm run bench:lab -- --remake-truth$/);
  });

  it("accepts the same menu written differently (the hash is of what it says, not its comments or key order)", () => {
    const reordered: Menu = { target: menu.target, fixed: menu.fixed, baseline: menu.baseline, knobs: menu.knobs, seed: menu.seed, steps: menu.steps } as Menu;
    expect(menuHash(reordered)).toBe(menuHash(menu));
  });

  it("refuses a cache of another trainer source", () => {
    expect(truthProblems(cacheOf(menu, "a".repeat(64)), want(menu, "b".repeat(64)), REMAKE)).toEqual([
      `trainer: its source (examples/trainer/train.ts) hashed aaaaaaaaaaaa when the cache was made, bbbbbbbbbbbb now: the cache is stale, remake it with ${REMAKE}`,
    ]);
  });

  it("refuses a cache with a curve that lacks a step a pruner could stop at", () => {
    const cache = cacheOf(menu);
    cache.configs[3]?.runs[1]?.curve.splice(1, 1);
    expect(truthProblems(cache, want(menu), REMAKE)).toEqual(["configs[3].runs[1].curve: steps 10, 30, 40, 50, 60, expected 10, 20, 30, 40, 50, 60"]);
  });

  it("lists five broken runs and counts the rest; a stale header alone is reported without them", () => {
    const cache = cacheOf(menu);
    for (const c of cache.configs) c.runs[0]?.curve.pop();
    const problems = truthProblems(cache, want(menu), REMAKE);
    expect(problems).toHaveLength(6);
    expect(problems[5]).toBe(`… and 43 more: remake the cache with ${REMAKE}`);
    expect(truthProblems(cache, want(menu, "b".repeat(64)), REMAKE)).toHaveLength(1);
  });

  it("the committed bench/lab-ground-truth.json is of this tree's trainer and menu (remake it when either changes)", () => {
    const committed = JSON.parse(readFileSync(join(REPO, "bench/lab-ground-truth.json"), "utf8")) as GroundTruth;
    expect(truthProblems(committed, { ...want(menu), trainerHash: trainerSourceHash("examples/trainer/train.ts", REPO).hash }, REMAKE)).toEqual([]);
  });
});
