// Joining a run's metrics across its attempts (issue 17): each step once, the earliest attempt's
// point kept, attempts in order whatever order the objects come in.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { attemptFolder, metricsKey } from "../../src/campaign/layout.ts";
import { joinAttempts } from "../../src/campaign/attempts.ts";

const key = (run: string, attempt: number, rank = 0): string => metricsKey("c", "full", rank, `${attemptFolder(attempt)}${run}`);
const pts = (steps: number[], attempt: number): { step: number; attempt: number }[] => steps.map((step) => ({ step, attempt }));
const joined = (objects: { key: string; points: { step: number; attempt: number; tag?: string }[] }[]) =>
  joinAttempts(objects).map((r) => ({ run: r.run, points: r.points.map((p) => `${p.tag ?? ""}${p.step}@${p.attempt}`), dropped: r.dropped }));

describe("joinAttempts", () => {
  it("names the attempt-<n>/ keys as the contract writes them", () => {
    expect([key("train", 1), key("train", 2)]).toEqual(["c/full/node-0/train.metrics.jsonl", "c/full/node-0/attempt-2/train.metrics.jsonl"]);
  });

  it.each<[string, { key: string; points: { step: number; attempt: number; tag?: string }[] }[], { run: string; points: string[]; dropped: number }[]]>([
    ["one attempt: its points as they are", [{ key: key("train", 1), points: pts([10, 20, 30], 1) }],
      [{ run: key("train", 1), points: ["10@1", "20@1", "30@1"], dropped: 0 }]],
    ["resumed right after the last logged step: nothing dropped", [{ key: key("train", 1), points: pts([10, 20], 1) }, { key: key("train", 2), points: pts([30, 40], 2) }],
      [{ run: key("train", 1), points: ["10@1", "20@1", "30@2", "40@2"], dropped: 0 }]],
    ["resumed from an older checkpoint: the steps logged twice are the first attempt's", [{ key: key("train", 1), points: pts([10, 20, 30, 40], 1) }, { key: key("train", 2), points: pts([30, 40, 50], 2) }],
      [{ run: key("train", 1), points: ["10@1", "20@1", "30@1", "40@1", "50@2"], dropped: 2 }]],
    ["three attempts given out of order", [{ key: key("train", 3), points: pts([50, 60], 3) }, { key: key("train", 1), points: pts([10, 20], 1) }, { key: key("train", 2), points: pts([20, 30, 40, 50], 2) }],
      [{ run: key("train", 1), points: ["10@1", "20@1", "30@2", "40@2", "50@2", "60@3"], dropped: 2 }]],
    ["an attempt that logged nothing new", [{ key: key("train", 1), points: pts([10, 20], 1) }, { key: key("train", 2), points: pts([10, 20], 2) }],
      [{ run: key("train", 1), points: ["10@1", "20@1"], dropped: 2 }]],
    ["only a replacement's object (the first shipped none): kept as it is", [{ key: key("train", 2), points: pts([30, 20], 2) }],
      [{ run: key("train", 1), points: ["30@2", "20@2"], dropped: 0 }]],
    ["runs and nodes apart, in key order", [{ key: key("fp8", 2), points: pts([5], 2) }, { key: key("bf16", 1), points: pts([10], 1) }, { key: key("fp8", 1), points: pts([10], 1) }, { key: key("fp8", 1, 1), points: pts([1], 1) }],
      [{ run: key("bf16", 1), points: ["10@1"], dropped: 0 }, { run: key("fp8", 1), points: ["10@1"], dropped: 1 }, { run: key("fp8", 1, 1), points: ["1@1"], dropped: 0 }]],
    ["tags keep their own steps", [{ key: key("train", 1), points: [{ step: 10, attempt: 1, tag: "a" }, { step: 20, attempt: 1, tag: "b" }] }, { key: key("train", 2), points: [{ step: 15, attempt: 2, tag: "a" }, { step: 15, attempt: 2, tag: "b" }] }],
      [{ run: key("train", 1), points: ["a10@1", "b20@1", "a15@2"], dropped: 1 }]],
  ])("%s", (_name, objects, expected) => {
    expect(joined(objects)).toEqual(expected);
  });

  // The invariant of a resume: an attempt that stopped after any step and a replacement that
  // restarts at or before the next one join into the uninterrupted curve, each step once.
  it("cutting a curve anywhere and restarting at or before the cut gives the curve back", () => {
    fc.assert(fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 5000 }), { minLength: 1, maxLength: 60 }), fc.nat(), fc.nat(), (raw, a, b) => {
      const curve = [...raw].sort((x, y) => x - y);
      const cut = a % curve.length;
      const restart = b % (cut + 2);
      const r = joinAttempts([{ key: key("train", 2), points: curve.slice(restart).map((step) => ({ step })) }, { key: key("train", 1), points: curve.slice(0, cut + 1).map((step) => ({ step })) }]);
      expect(r.map((x) => x.points.map((p) => p.step))).toEqual([curve]);
      expect(r[0]?.dropped).toBe(cut + 1 - Math.min(restart, cut + 1));
    }));
  });
});
