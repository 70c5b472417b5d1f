import { describe, expect, it } from "vitest";
import { candidateOfFile, curveCoverage, type JudgedCurve } from "../../src/gates/finalists.ts";
import { evaluateCurve } from "../../src/gates/stress.ts";
import { DEFAULT_POLICY } from "../helpers/policy.ts";

const healthy = (subject: string) => {
  const points = Array.from({ length: 100 }, (_, i) => ({ step: (i + 1) * 10, line: i + 1, loss: 2.6 + 9 * ((i + 1) * 10) ** -0.45 }));
  return evaluateCurve(subject, points, DEFAULT_POLICY.stress);
};
const curve = (file: string, points = file): JudgedCurve => ({ outcome: healthy(file.replace(".jsonl", "")), candidate: candidateOfFile(file), file, fingerprint: points });
const FINALISTS = [
  { id: "c078", ids: ["c078", "c078-s1", "c078-s2"] },
  { id: "c023", ids: ["c023"] },
  { id: "c086", ids: ["c086"] },
];

describe("candidateOfFile", () => {
  it.each([
    ["runs/curves/c078.jsonl", "c078"],
    ["c078.metrics.jsonl", "c078"],
    ["logs/c078.log", "c078"],
    ["c078.txt", "c078"],
    ["c078-s1.jsonl", "c078-s1"],
  ])("%s is the curve of %s", (file, id) => expect(candidateOfFile(file)).toBe(id));
});

describe("stress.coverage: the curves are the finalists' curves", () => {
  it("passes one curve per finalist, and counts each once", () => {
    const c = curveCoverage(["c078.jsonl", "c023.jsonl", "c086.jsonl"].map((f) => curve(f)), FINALISTS);
    expect(c.result).toMatchObject({ id: "stress.coverage", status: "pass", measured: 3, threshold: 3 });
    expect(c.counted.map((o) => o.subject)).toEqual(["c078", "c023", "c086"]);
  });

  it("accepts a finalist's curve named by one of its repeats", () => {
    const c = curveCoverage(["c078-s1.jsonl", "c023.jsonl", "c086.jsonl"].map((f) => curve(f)), FINALISTS);
    expect(c.result.status).toBe("pass");
  });

  it("fails the curve of a candidate that is not a finalist, and every finalist left without one", () => {
    const c = curveCoverage([curve("c001.jsonl")], FINALISTS);
    expect(c.result.status).toBe("fail");
    expect(c.result.message).toContain("c001.jsonl is the curve of c001, which is not a finalist (finalists: c078, c023, c086)");
    expect(c.result.message).toContain("no curve for finalists c078, c023, c086");
    expect(c.counted).toEqual([]);
  });

  it("counts the same file given twice, or a copy, once (it is one run): survivors decide, coverage does not fail", () => {
    const twice = curveCoverage([curve("c078.jsonl", "a"), curve("c078.jsonl", "a")], undefined);
    expect(twice.result.status).toBe("skip");
    expect(twice.result.message).toContain("c078.jsonl is given twice: one run, counted once");
    expect(twice.counted).toHaveLength(1);
    const copy = curveCoverage([curve("c078.jsonl", "a"), curve("c023.jsonl", "a"), curve("c086.jsonl", "b")], FINALISTS);
    expect(copy.result.status).toBe("pass");
    expect(copy.result.message).toContain("c023.jsonl holds the same points as c078.jsonl: one run, counted once");
    expect(copy.counted.map((o) => o.subject)).toEqual(["c078", "c086"]);
  });

  it("two finalists a trainer ran identically (a knob it ignores) each have their curve, counted once", () => {
    const c = curveCoverage([curve("c078.jsonl", "same"), curve("c023.jsonl", "same"), curve("c086.jsonl", "other")], FINALISTS);
    expect(c.result).toMatchObject({ status: "pass", measured: 3 });
    expect(c.result.message).not.toMatch(/no curve for/);
    expect(c.counted).toHaveLength(2);
  });

  it("refuses two different curves for one finalist, counting the first", () => {
    const c = curveCoverage([curve("a/c078.jsonl", "1"), curve("b/c078.jsonl", "2"), curve("c023.jsonl"), curve("c086.jsonl")], FINALISTS);
    expect(c.result.status).toBe("fail");
    expect(c.result.message).toContain("finalist c078 has 2 different curves (a/c078.jsonl, b/c078.jsonl)");
    expect(c.counted).toHaveLength(3);
  });

  it("without a trajectory says the curves are not tied to a sweep (skip)", () => {
    const c = curveCoverage([curve("x.jsonl", "1"), curve("y.jsonl", "2")], undefined);
    expect(c.result.status).toBe("skip");
    expect(c.result.message).toMatch(/not tied to a sweep/);
    expect(c.counted).toHaveLength(2);
  });
});
