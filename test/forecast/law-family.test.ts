// Which laws a window gets: the annealing law only when the learning rate covers it.
import { describe, expect, it } from "vitest";
import { annealAreas, candidateFitters, logLogLine } from "../../src/forecast/law-family.ts";

const constant = new Float64Array(200).fill(1e-3);
const decaying = Float64Array.from({ length: 200 }, (_, i) => (i < 100 ? 1e-3 : 1e-3 * (1 - (i - 100) / 100)));

describe("candidate laws", () => {
  it.each<[string, Float64Array | undefined, number, number, string[]]>([
    ["no learning rate: the schedule-free laws", undefined, 200, 100, ["saturating", "power"]],
    ["a learning rate shorter than the window: the schedule-free laws", constant.slice(0, 50), 200, 100, ["saturating", "power"]],
    ["a constant rate: one annealing law (nothing to anneal)", constant, 200, 100, ["annealing"]],
    ["a decay before the forecast's end: the three priors on C", decaying, 199, 100, ["annealing", "annealing", "annealing"]],
  ])("%s", (_name, lr, until, xLast, laws) => {
    expect(candidateFitters(lr, until, xLast).map(([law]) => law)).toEqual(laws);
  });

  it("the constant rate's law fits without an annealing term", () => {
    const fit = candidateFitters(constant, 200, 100)[0]?.[1];
    if (!fit) throw new Error("no candidate");
    const f = fit(Array.from({ length: 20 }, (_, i) => ({ x: 5 * (i + 1), y: 3 + 2 * (5 * (i + 1)) ** -0.5 })));
    expect(f.params["rho"]).toBe(0);
    expect(f.formula).toContain("no annealing in the window");
  });
});

describe("anneal areas and the log-log line", () => {
  it("S1 sums the rate relative to its peak; S2 only grows once the rate falls", () => {
    const { S1, S2 } = annealAreas(decaying);
    expect(S1[100]).toBeCloseTo(100, 9);
    expect(S2[100]).toBe(0);
    expect(S2[150] as number).toBeGreaterThan(0);
  });

  it("a pure power law is a straight line", () => {
    const { lnB, slope } = logLogLine([1, 2, 4, 8].map((x) => ({ x, y: 5 * x ** -0.3 })));
    expect(slope).toBeCloseTo(-0.3, 12);
    expect(Math.exp(lnB)).toBeCloseTo(5, 12);
  });
});
