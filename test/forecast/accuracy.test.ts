// The forecast's accuracy claims in the README, as tests on the real public curves (the same code
// as `npm run accuracy`, without the reference trainer's curves, which that command makes).
import { expect, it } from "vitest";
import { evaluateAll, fixtureCurves, summarise, type Case } from "../../bench/forecast-accuracy.ts";
import { describeWithSharedFixtures } from "../helpers/shared.ts";

describeWithSharedFixtures("forecast accuracy on real curves", (fixtures) => {
  let cases: Case[] = [];
  const all = async (): Promise<Case[]> => (cases.length > 0 ? cases : (cases = evaluateAll(await fixtureCurves(fixtures))));

  it("fitted to step 1000, the 48 GPT-2-small runs end within 2.5% (median) and 4% (worst), at least as close as the best simple baseline on ≥ 40 of 48", async () => {
    const s = summarise(await all());
    expect(s.of).toBe(48);
    expect(s.median1000).toBeLessThanOrEqual(0.025);
    expect(s.worst1000).toBeLessThanOrEqual(0.04);
    expect(s.wins).toBeGreaterThanOrEqual(40);
  }, 60_000);

  it("refuses no curve with ≥ 5 validation points after warmup; a refusal names the validation points it found", async () => {
    const cs = await all();
    expect(summarise(cs).wrongRefusals).toEqual([]);
    const refused = cs.filter((c) => c.refused !== undefined);
    expect(refused.length).toBeGreaterThan(0);
    for (const c of refused) expect(c.refused).toMatch(/^too few points to forecast from: \d validation loss points? after step \d+ \(steps? [\d, ]+\); at least 5 are needed/);
  }, 60_000);

  it("the stated band holds ≥ 85% of held-out points on every data set, and the two-sided gate at ±5% fails no healthy run from its step-1000 forecast", async () => {
    const s = summarise(await all());
    for (const c of s.coverage) expect(c.share, c.set).toBeGreaterThanOrEqual(0.85);
    expect(s.verifyFailures).toEqual([]);
  }, 60_000);
});
