import { describe, expect, it } from "vitest";
import { buildVerdict, checkVerdict, verdictSchema } from "../../src/gates/verdict.ts";
import { evaluateCurve, survivorsGate } from "../../src/gates/stress.ts";
import { DEFAULT_POLICY } from "../helpers/policy.ts";

const sha = (c: string): string => c.repeat(64);
const points = (until: number) => Array.from({ length: until / 10 }, (_, i) => ({ step: (i + 1) * 10, line: i + 1, loss: 3 + 9 * ((i + 1) * 10) ** -0.45 }));

function verdict(curves: number[]) {
  const outcomes = curves.map((until, i) => evaluateCurve(`c${i}`, points(until), DEFAULT_POLICY.stress));
  return buildVerdict({
    version: "0.0.0",
    time: new Date("2026-01-01T00:00:00Z"),
    phases: ["stress"],
    policy: { ref: "default", files: ["builtin:default"], sha256: sha("a") },
    evidence: curves.map((_, i) => ({ file: `c${i}.jsonl`, role: "curve" as const, sha256: sha(String(i)) })),
    stress: { outcomes, survivors: survivorsGate(outcomes, DEFAULT_POLICY.stress) },
  });
}

describe("verdicts", () => {
  it("pass when the campaign-level gates pass, even with a rejected finalist", () => {
    const v = verdict([1000, 500]);
    expect(v.gates.some((g) => g.status === "fail")).toBe(true); // c1 is too short
    expect(v.pass).toBe(true); // one survivor is enough under the default policy
    expect(verdictSchema().safeParse(JSON.parse(JSON.stringify(v))).success).toBe(true);
  });

  it("fail when too few finalists survive", () => {
    expect(verdict([500, 600]).pass).toBe(false);
  });

  it("are refused when an evidence file changed, went missing or the policy changed", () => {
    const v = verdict([1000]);
    const same = new Map([["c0.jsonl", sha("0")]]);
    expect(checkVerdict(v, { evidence: same, policySha256: sha("a") })).toEqual([]);
    expect(checkVerdict(v, { evidence: new Map([["c0.jsonl", sha("9")]]), policySha256: sha("a") })).toMatchObject([{ file: "c0.jsonl", what: "changed" }]);
    expect(checkVerdict(v, { evidence: new Map([["c0.jsonl", null]]), policySha256: sha("a") })).toMatchObject([{ file: "c0.jsonl", what: "missing" }]);
    expect(checkVerdict(v, { evidence: same, policySha256: sha("b") })).toMatchObject([{ what: "policy changed" }]);
  });

  it("are refused when the gates failed", () => {
    const v = verdict([500]);
    expect(checkVerdict(v, { evidence: new Map([["c0.jsonl", sha("0")]]), policySha256: sha("a") })).toMatchObject([{ what: "verdict failed" }]);
  });
});
