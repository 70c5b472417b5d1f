// The forecast's accuracy claim in the README, as a test on the real public curves: predicting the
// later part of a run from its early part must beat "the last value stays flat".
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { evaluate } from "../../bench/forecast-accuracy.ts";
import { describeWithSharedFixtures } from "../helpers/shared.ts";

describeWithSharedFixtures("forecast accuracy on real curves", (fixtures) => {
  it("beats the naive forecast on the 48 modded-nanogpt runs and the 60K-step GPT-2 medium run", async () => {
    const groups = join(fixtures, "curves/modded-nanogpt-optimizers");
    const runs = [];
    for (const g of readdirSync(groups)) for (const f of readdirSync(join(groups, g))) runs.push(await evaluate(join(groups, g, f), "modded-nanogpt", (t) => t / 2));
    runs.push(await evaluate(join(fixtures, "curves/modded-nanogpt-speedrun/gpt2-medium-60k-val.log"), "tel", () => 10_000));
    expect(runs).toHaveLength(49);
    const judged = runs.filter((r): r is Exclude<typeof r, { refused: string }> => !("refused" in r));
    expect(judged).toHaveLength(49);
    const better = judged.filter((r) => r.forecastMean < r.naiveMean).length;
    expect(better).toBeGreaterThanOrEqual(45);
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] as number;
    expect(median(judged.map((r) => r.forecastMean))).toBeLessThan(0.05);
    expect(median(judged.map((r) => r.forecastMean))).toBeLessThan(median(judged.map((r) => r.naiveMean)));
  });
});
