import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { pyRound } from "../../src/cost/round.ts";

// Recorded from CPython 3.11 (see the file's "source"): includes exact ties such as 0.125 and 2.5.
const { cases } = JSON.parse(readFileSync(new URL("../fixtures/cost/python-round.json", import.meta.url), "utf8")) as { cases: [number, number, number][] };

describe("pyRound matches Python's round(x, n)", () => {
  it.each([
    [0.125, 2, 0.12],
    [0.375, 2, 0.38],
    [2.5, 0, 2],
    [3.5, 0, 4],
    [-2.5, 0, -2],
    [2.675, 2, 2.67],
    [1678.99, 2, 1678.99],
  ])("round(%d, %d) = %d", (x, d, want) => {
    expect(pyRound(x, d)).toBe(want);
  });

  it(`on ${cases.length} recorded cases`, () => {
    expect(cases.length).toBeGreaterThan(1000);
    const wrong = cases.filter(([x, d, want]) => !Object.is(pyRound(x, d), want) && !(pyRound(x, d) === 0 && want === 0));
    expect(wrong).toEqual([]);
  });
});
