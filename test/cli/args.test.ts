import { describe, expect, it } from "vitest";
import { joinNegativeValues } from "../../src/cli/flags.ts";

describe("joinNegativeValues", () => {
  const takes = new Set(["--until", "--gpus"]);
  it.each([
    [["forecast", "c.jsonl", "--until", "-5"], ["forecast", "c.jsonl", "--until=-5"]],
    [["cost", "--gpus", "-8", "--json"], ["cost", "--gpus=-8", "--json"]],
    [["forecast", "--until", "-1.5e3"], ["forecast", "--until=-1.5e3"]],
    // Lists and pairs that start with a negative number (cost --post-filter-rates, forecast --calibrate).
    [["cost", "--gpus", "-0.1,0.2"], ["cost", "--gpus=-0.1,0.2"]],
    [["forecast", "--until", "-1=curve.jsonl"], ["forecast", "--until=-1=curve.jsonl"]],
    // Not a number, or an option that takes no value: left for the parser to judge.
    [["forecast", "--until", "-x"], ["forecast", "--until", "-x"]],
    [["validate", "--strict", "-5"], ["validate", "--strict", "-5"]],
    // The trainer's command after -- is never touched.
    [["lab", "sweep", "--", "train", "--until", "-5"], ["lab", "sweep", "--", "train", "--until", "-5"]],
  ])("%j → %j", (argv, want) => expect(joinNegativeValues(argv, takes)).toEqual(want));
});
