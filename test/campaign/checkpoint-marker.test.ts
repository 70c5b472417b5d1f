// The checkpoint marker's format (issue 17): what the trainer writes is what it and the node read
// back, and anything else is refused with every reason at once.
import { describe, expect, it } from "vitest";
import { CHECKPOINT_FORMAT, checkpointMarker, parseCheckpointMarker } from "../../src/campaign/checkpoint-marker.ts";

const good = { format: CHECKPOINT_FORMAT, step: 30, path: "step-00000030/", time: "2026-01-01T00:01:00.000Z" };
const text = (over: Record<string, unknown>): string => JSON.stringify({ ...good, ...over });

describe("the checkpoint marker", () => {
  it("reads back what it writes", () => {
    const m = checkpointMarker(30, "step-00000030/", new Date("2026-01-01T00:01:00Z"));
    expect(m).toEqual(good);
    expect(parseCheckpointMarker(JSON.stringify(m))).toEqual({ marker: good });
  });

  it.each<[string, Record<string, unknown>, object]>([
    ["a nested folder", { path: "rank-0/step-30/" }, { ...good, path: "rank-0/step-30/" }],
    ["step 0", { step: 0 }, { ...good, step: 0 }],
    ["a field a trainer adds (kept out)", { files: ["model.pt"] }, good],
  ])("accepts %s", (_name, over, marker) => {
    expect(parseCheckpointMarker(text(over))).toEqual({ marker });
  });

  it.each<[string, string, RegExp]>([
    ["not JSON", '{"format":"windtunnel-checkpoint/1","step":', /^not JSON: /],
    ["an array", "[1]", /^expected a JSON object, got \[1\]$/],
    ["another format", text({ format: "windtunnel-checkpoint/2" }), /^format: expected "windtunnel-checkpoint\/1", got "windtunnel-checkpoint\/2"$/],
    ["a step as a string", text({ step: "30" }), /^step: expected a whole number ≥ 0, got "30"$/],
    ["a fractional step", text({ step: 30.5 }), /^step: /],
    ["a negative step", text({ step: -1 }), /^step: /],
    ["an absolute path", text({ path: "/etc/" }), /^path: .*got "\/etc\/"$/],
    ["a path that climbs out", text({ path: "step-30/../../x/" }), /^path: /],
    ["an s3 URI", text({ path: "s3://other-bucket/x/" }), /^path: /],
    ["a file, not a folder", text({ path: "step-30" }), /^path: /],
    ["the folder itself", text({ path: "./" }), /^path: /],
    ["a time that is not one", text({ time: "yesterday" }), /^time: expected an ISO 8601 time, got "yesterday"$/],
  ])("refuses %s", (_name, t, message) => {
    const r = parseCheckpointMarker(t);
    expect("problems" in r ? r.problems.join("; ") : r.marker).toMatch(message);
  });

  it("names every problem at once", () => {
    const r = parseCheckpointMarker(JSON.stringify({ format: "x", step: "a", path: 3 }));
    expect("problems" in r ? r.problems.map((p) => p.split(":")[0]) : r).toEqual(["format", "step", "path", "time"]);
  });
});
