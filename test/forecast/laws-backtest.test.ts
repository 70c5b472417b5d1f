// The pieces of the choice among laws and of its band, each on its own.
import { describe, expect, it } from "vitest";
import { backtestOrigins, backtestWeights, bandWidth, laterScatter, relativeRms } from "../../src/forecast/laws.ts";

describe("backtest origins", () => {
  it.each<[number, number[]]>([
    [4, [3]],
    [5, [3, 4]],
    [10, [5, 6, 7, 8, 9]],
    // At most 12, spread evenly from n/2 to n − 1.
    [100, [50, 54, 59, 63, 68, 72, 77, 81, 86, 90, 95, 99]],
  ])("%d points: %j", (n, origins) => {
    expect(backtestOrigins(n)).toEqual(origins);
  });

  it("none when there is no later point to score", () => {
    expect(backtestOrigins(3)).toEqual([]);
  });
});

describe("weights and errors", () => {
  it("relative RMS error, NaN without pairs", () => {
    expect(relativeRms([{ r: 2, pred: 1.1, y: 1 }, { r: 3, pred: 0.9, y: 1 }])).toBeCloseTo(0.1, 12);
    expect(relativeRms([])).toBeNaN();
  });

  it.each<[string, number[], number[]]>([
    ["by 1/error²", [0.01, 0.02], [0.8, 0.2]],
    ["no backtest: equal weights", [Number.NaN, Number.NaN], [0.5, 0.5]],
    ["a perfect backtest takes no infinite weight", [0, 1e-4], [0.5, 0.5]],
  ])("%s", (_name, errors, weights) => {
    backtestWeights(errors).forEach((w, i) => expect(w).toBeCloseTo(weights[i] as number, 12));
  });
});

describe("the band", () => {
  const b = { per_log_horizon: 0.05, floor: 0.01, noise: 0.003 };

  it("is the floor inside the window, and widens with ln(x / x_last) past it", () => {
    expect(bandWidth(b, 1000, 500)).toBe(0.01);
    expect(bandWidth(b, 1000, 1000)).toBe(0.01);
    expect(bandWidth(b, 1000, 1000 * Math.E)).toBeCloseTo(0.05 + 2 * 0.003, 12);
    expect(bandWidth(b, 1000, 4000)).toBeGreaterThan(bandWidth(b, 1000, 2000));
  });

  it("the scatter is robust, over the later half only", () => {
    // The early points are far off the law; the later half is 1%, 1% and 2% off it.
    const pts = [10, 10, 10, 1 / 1.01, 1 / 0.99, 1 / 1.02].map((y, i) => ({ x: i + 1, y }));
    expect(laterScatter(pts, () => 1)).toBeCloseTo(1.4826 * 0.01, 12);
  });
});
