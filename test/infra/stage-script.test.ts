// What the node's script is made of, from the stage: the hours its timer leaves it and the runs.
import { describe, expect, it } from "vitest";
import { hardStopHours, hardStopMinutes, stageRuns } from "../../src/infra/stage-script.ts";

describe("the node's hard stop", () => {
  it.each<["sanity" | "full", number, number, number]>([
    // The sanity day, never past the cap.
    ["sanity", 24, 200, 24],
    ["sanity", 24, 10, 10],
    // The final run gets what the cap leaves once the sanity day is spent.
    ["full", 24, 200, 176],
    ["full", 0.5, 1, 0.5],
  ])("stage %s, sanityHours %d, hoursCap %d: %d h", (stage, sanityHours, hoursCap, hours) => {
    expect(hardStopHours({ stage, sanityHours, hoursCap })).toBe(hours);
    expect(hardStopMinutes({ stage, sanityHours, hoursCap })).toBe(hours * 60);
  });

  it("rounds to whole minutes, as shutdown -P takes them", () => {
    expect(hardStopMinutes({ stage: "full", sanityHours: 0, hoursCap: 1.0083 })).toBe(60);
    expect(hardStopMinutes({ stage: "full", sanityHours: 0, hoursCap: 1.0091 })).toBe(61);
  });
});

describe("the stage's runs", () => {
  const container = { image: "i", command: "python train.py", sanityCommands: [{ name: "bf16", command: "a" }, { name: "fp8", command: "b" }] };

  it.each<["plan" | "sanity" | "full", { name: string; command: string }[]]>([
    ["plan", []],
    ["sanity", container.sanityCommands],
    ["full", [{ name: "train", command: "python train.py" }]],
  ])("stage %s", (stage, runs) => {
    expect(stageRuns({ stage, container })).toEqual(runs);
  });
});
