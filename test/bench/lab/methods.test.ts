// The benchmark's methods are the production code: ASHA's stops come from the planner's atRung as
// pruned rows, and TPE is handed the results so far and a warm start's prior read by priors.ts.
import { describe, expect, it } from "vitest";
import type { LoadedMenu } from "../../../src/lab/menu.ts";
import { syntheticTruth } from "./synthetic-truth.ts";
import { METHODS, productionPruner } from "../../../bench/lab/methods.ts";
import { replayCampaign, TruthIndex } from "../../../bench/lab/replay.ts";

const menu: LoadedMenu = { file: "menu.yaml", steps: 30, seed: 0, knobs: { x: [1, 2, 3, 4, 5, 6], y: [1, 2] }, baseline: { x: 1, y: 1 }, fixed: {} };
const final = (x: number, y: number, seed: number): number => 4 + Math.abs(x - 4) * 0.1 + (y - 1) * 0.05 + seed * 0.001;
const truth = syntheticTruth(menu, (config, seed) => final(Number(config["x"]), Number(config["y"]), seed));
const index = new TruthIndex(truth);
const base = { menu, seed: 0, candidates: 8, repeats: 0, repeatTop: 0 };
const method = (name: string) => METHODS.find((m) => m.name === name) as (typeof METHODS)[number];

describe("the benchmark's methods", () => {
  it("ASHA is lab sweep's default --prune asha: the planner's atRung stops candidates at rung 10 or 20 as pruned rows with their rung values", async () => {
    const pruner = productionPruner("asha", menu);
    expect(pruner.setup).toEqual({ rule: "asha", eta: 3, rungs: [10, 20] });
    const c = await replayCampaign({ ...base, proposer: await method("random").proposer({ menu, priors: [] }), pruner }, index);
    const pruned = c.rows.filter((r) => r["status"] === "pruned");
    expect(pruned.length).toBeGreaterThan(0);
    for (const r of pruned) {
      expect(r["val_bpb"]).toBeNull();
      expect([10, 20]).toContain((r["pruned_at"] as { step: number }).step);
      expect(r["rungs"]).toBeDefined();
    }
    expect(c.rows.find((r) => r["baseline"] === true)?.["status"]).toBe("ok");
    expect(c.evaluations.filter((e) => e.pruned).every((e) => e.steps < 30)).toBe(true);
  });

  it("TPE is the production proposer fed the results, so it proposes each config once and finds the best", async () => {
    const c = await replayCampaign({ ...base, proposer: await method("tpe").proposer({ menu, priors: [] }) }, index);
    expect(new Set(c.evaluations.map((e) => e.hash)).size).toBe(8);
    expect(c.rows.every((r) => r["proposer"] === "tpe" || r["baseline"] === true)).toBe(true);
  });

  it("the warm start reads the prior campaign's rows through priors.ts and starts near the best", async () => {
    const prior = await replayCampaign({ ...base, seed: 1000, menu: { ...menu, seed: 1000 }, proposer: await method("random").proposer({ menu: { ...menu, seed: 1000 }, priors: [] }) }, index);
    const warm = await method("tpe-warm").proposer({ menu, priors: prior.rows });
    const c = await replayCampaign({ ...base, candidates: 3, proposer: warm }, index);
    const best = Math.min(...prior.evaluations.map((e) => e.value as number));
    expect(Math.min(...c.evaluations.map((e) => e.value as number))).toBeLessThanOrEqual(best + 0.05);
    await expect(method("tpe-warm").proposer({ menu, priors: [{ nonsense: true }] })).rejects.toThrow(/nothing to use|not|expected/);
  });
});
