// The verdict as people read it (gates/table.ts): the aligned text of terminals and CI logs, and
// the Markdown of GitHub's job summary. What could go wrong: a row's mark not matching its status,
// a finalist's rejection read as the campaign's failure, columns drifting, a long message running
// past the width or losing words, a `|` in a subject or message breaking the Markdown table.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { renderMarkdown, renderTable, wrap } from "../../src/gates/table.ts";
import { buildVerdict, type Verdict, type VerdictInput } from "../../src/gates/verdict.ts";
import { evaluateCurve, survivorsGate } from "../../src/gates/stress.ts";
import { gate, type GateResult } from "../../src/gates/types.ts";
import { DEFAULT_POLICY } from "../helpers/policy.ts";

const sha = (c: string): string => c.repeat(64);
const base = {
  version: "0.0.0",
  time: new Date("2026-01-01T00:00:00Z"),
  policy: { ref: "default", files: ["builtin:default"], sha256: sha("a") },
  evidence: [{ file: "plan.yaml", role: "campaign" as const, sha256: sha("0") }],
};
const verdictOf = (gates: GateResult[], over: Partial<VerdictInput> = {}): Verdict => buildVerdict({ ...base, phases: ["spend"], sanity: gates, ...over });

/** A stress verdict from real curves: each stops at the step given (1,000 is a full stress test). */
function stressVerdict(until: readonly number[]): Verdict {
  const points = (n: number) => Array.from({ length: n / 10 }, (_, i) => ({ step: (i + 1) * 10, line: i + 1, loss: 3 + 9 * ((i + 1) * 10) ** -0.45 }));
  const outcomes = until.map((n, i) => evaluateCurve(`c${i}`, points(n), DEFAULT_POLICY.stress));
  return buildVerdict({ ...base, phases: ["stress"], evidence: until.map((_, i) => ({ file: `c${i}.jsonl`, role: "curve" as const, sha256: sha(String(i)) })), stress: { outcomes, survivors: survivorsGate(outcomes, DEFAULT_POLICY.stress) } });
}

const budget = gate("spend", "spend.budget", "plan.yaml").pass({ measured: 5376, op: "≤", threshold: 6000, message: "within the budget" });
const hours = gate("spend", "spend.hours", "plan.yaml").fail({ measured: 170, op: "≤", threshold: 168, message: "past the cap", step: 7 });
const ev = gate("spend", "spend.ev", "plan.yaml").skip("not required by the policy");
const lines = (v: Verdict): string[] => renderTable(v).split("\n");
const rowOf = (out: readonly string[], id: string): string => out.find((l) => l.includes(` ${id} `) || l.endsWith(` ${id}`)) ?? "";

describe("renderTable", () => {
  it.each([
    [budget.id, budget, "✓"],
    [hours.id, hours, "✗"],
    [ev.id, ev, "–"],
  ] as const)("marks the %s row with %s", (_id, g, mark) => {
    const row = rowOf(lines(verdictOf([budget, hours, ev])), g.id);
    expect(row.startsWith(`${mark}  ${g.id}`)).toBe(true);
  });

  it("shows measured and threshold as people read them: — for nothing measured, the operator before the threshold, 4 significant digits", () => {
    const out = lines(verdictOf([gate("spend", "spend.price", "p").fail({ measured: 0.123456, op: "≤", threshold: 0.1, message: "m" }), gate("spend", "spend.instance", "p").pass({ measured: "p5.48xlarge", op: "in", threshold: "p5.48xlarge, p4d.24xlarge", message: "m" }), ev]));
    expect(rowOf(out, "spend.price")).toMatch(/ 0\.1235 +≤ 0\.1$/);
    expect(rowOf(out, "spend.instance")).toMatch(/ p5\.48xlarge +in p5\.48xlarge, p4d\.24xlarge$/);
    expect(rowOf(out, "spend.ev")).toMatch(/ — *$/);
  });

  it("lines every column up with its header, each as wide as its longest cell up to its cap", () => {
    const long = "a subject far longer than the column allows";
    const gates = [budget, gate("spend", "spend.price", long).pass({ measured: "1234567890123456789", threshold: null, message: "m" }), ev];
    const out = lines(verdictOf(gates));
    const header = out[2] as string;
    expect(header.trimStart().startsWith("gate")).toBe(true);
    const rows = gates.map((g) => rowOf(out, g.id));
    for (const col of ["subject", "measured", "threshold"]) {
      const at = header.indexOf(col);
      // Every row has its cell start where the header's does (the character before is padding), or
      // ends before it (trailing blanks are trimmed).
      for (const r of rows) expect(r.length <= at || (r[at - 1] === " " && r[at] !== " "), `${col} in ${JSON.stringify(r)}`).toBe(true);
    }
    // The subject column is capped at 24 characters (clipped with …), measured at 14.
    expect(rows[1]).toContain(`${long.slice(0, 23)}…  `);
    expect(rows[1]).toContain("1234567890123…");
    expect(header.indexOf("measured") - header.indexOf("subject")).toBe(24 + 2);
  });

  it("wraps each message under its row at 100 columns, indented, without losing a word; a failure says its step first", () => {
    const message = Array.from({ length: 60 }, (_, i) => `word${i}`).join(" ");
    const out = lines(verdictOf([gate("spend", "spend.budget", "p").fail({ measured: 1, threshold: 0, message, step: 420 }), gate("spend", "spend.hours", "p").pass({ measured: 1, threshold: 2, message: "a pass keeps its step to itself", step: 9 })]));
    const start = out.indexOf(rowOf(out, "spend.budget")) + 1;
    const wrapped = out.slice(start, out.indexOf(rowOf(out, "spend.hours")));
    expect(wrapped.length).toBeGreaterThan(2);
    for (const l of wrapped) {
      expect(l.length).toBeLessThanOrEqual(100);
      expect(l.startsWith("    ") && !l.startsWith("     ")).toBe(true);
    }
    expect(wrapped.map((l) => l.trim()).join(" ")).toBe(`step 420: ${message}`);
    expect(out[out.indexOf(rowOf(out, "spend.hours")) + 1]).toBe("    a pass keeps its step to itself");
  });

  it("a finalist's rejected curve does not fail the campaign line; too few survivors does, counted once", () => {
    const one = stressVerdict([1000, 500]);
    expect(one.gates.filter((g) => g.status === "fail").length).toBeGreaterThan(0);
    expect(lines(one)[0]).toBe(`windtunnel gate: PASS · 1 of 2 finalist curves rejected · phases stress · policy default (sha256 ${"a".repeat(12)})`);
    const none = stressVerdict([500, 600]);
    expect(none.gates.filter((g) => g.status === "fail").length).toBeGreaterThan(1);
    expect(lines(none)[0]).toMatch(/^windtunnel gate: FAIL \(1 gate\) · 2 of 2 finalist curves rejected · /);
    expect(lines(one).filter((l) => / stress\.steps +c1 /.test(l))).toEqual([expect.stringMatching(/^✗ /)]);
  });

  it("counts campaign failures in the plural, and names no curves when there is no stress phase", () => {
    const v = verdictOf([hours, { ...hours, id: "spend.budget" }, budget]);
    expect(lines(v)[0]).toBe(`windtunnel gate: FAIL (2 gates) · phases spend · policy default (sha256 ${"a".repeat(12)})`);
  });

  it("adds the spend line in dollars, and the ranking (separable marked *, the baseline as reference) when there is a sweep", () => {
    const v = verdictOf([budget], { spend: { results: [], forecastUsd: 5376, expectedSavingsUsd: 729.14, restarts: { restarts: 0, minutesEach: 0, usd: 0 }, price: { source: "typed", hourly_usd: 28 } } });
    v.sweep = { noise: { sigma: 0.01, source: "measured", repeatedConfigs: 2, dof: 3, measured: 0.01, note: "" }, reference: null, finalists: [], ranking: [{ id: "c1", label: "lr=0.002", n: 2, mean: 3.21, z: 4.5, separable: true }, { id: "c0", label: "baseline", n: 3, mean: 3.3 }] };
    const out = lines(v);
    expect(out.at(-1)).toBe("Spend: forecast $5,376; the filter is worth $729.14 in expectation.");
    expect(out).toContain("Ranking (top 2 distinct configs by mean; * separable)");
    expect(out.find((l) => l.includes("c1"))).toMatch(/^ {2}1\. +\* c1 +lr=0\.002 +n=2 +3\.21 +z 4\.5$/);
    expect(out.find((l) => l.includes(" c0"))).toMatch(/^ {2}2\. +c0 +baseline +n=3 +3\.3 +reference$/);
  });
});

describe("renderMarkdown", () => {
  /** The cells of a table row, split on the pipes that are not escaped. */
  const cells = (row: string): string[] => row.split(/(?<!\\)\|/).slice(1, -1).map((c) => c.trim());

  it("escapes | and newlines in every cell, so each row keeps its six columns", () => {
    const odd = gate("spend", "spend.budget", "a|b").fail({ measured: "x|y", op: "in", threshold: "1|2", message: "over | under\nthe line", step: 3 });
    const md = renderMarkdown(verdictOf([odd, budget])).split("\n");
    const header = md[2] as string;
    expect(cells(header)).toEqual(["", "gate", "subject", "measured", "threshold", "why"]);
    const row = md.find((l) => l.includes("`spend.budget`") && l.startsWith("| ✗")) as string;
    expect(cells(row)).toEqual(["✗", "`spend.budget`", "a\\|b", "x\\|y", "in 1\\|2", "step 3: over \\| under the line"]);
    for (const l of md.filter((x) => x.startsWith("| ") && x.includes("`spend."))) expect(cells(l)).toHaveLength(6);
  });

  it.each([
    [stressVerdict([1000, 500]), "### ✅ windtunnel gate: PASS"],
    [stressVerdict([500, 600]), "### ❌ windtunnel gate: FAIL (1 gate)"],
  ])("heads the summary by the campaign's verdict (%#)", (v, head) => {
    expect(renderMarkdown(v).split("\n")[0]?.startsWith(head)).toBe(true);
  });

  it("marks each row as the text does, and ends with the evidence by file and short sha256", () => {
    const md = renderMarkdown(verdictOf([budget, hours, ev])).split("\n");
    expect(md.filter((l) => l.startsWith("| ✓ | `spend.budget`"))).toHaveLength(1);
    expect(md.filter((l) => l.startsWith("| ✗ | `spend.hours`"))).toHaveLength(1);
    expect(md.filter((l) => l.startsWith("| – | `spend.ev`"))).toHaveLength(1);
    expect(md.at(-1)).toBe(`<sub>Evidence: \`plan.yaml\` (${"0".repeat(12)}) · windtunnel 0.0.0 · 2026-01-01T00:00:00.000Z</sub>`);
  });

  it("escapes a | in a recipe label of the ranking", () => {
    const v = verdictOf([budget]);
    v.sweep = { noise: { sigma: 0.01, source: "measured", repeatedConfigs: 2, dof: 3, measured: 0.01, note: "" }, reference: null, finalists: [], ranking: [{ id: "c1", label: "a|b", n: 2, mean: 3.21, z: 4.5, separable: true }] };
    const row = renderMarkdown(v).split("\n").find((l) => l.startsWith("| 1 | c1")) as string;
    expect(cells(row)).toEqual(["1", "c1", "a\\|b", "2", "3.21", "4.5", "yes"]);
  });
});

describe("wrap", () => {
  it("never passes the width, keeps every word in order, indents every line", () => {
    const word = fc.stringMatching(/^[a-z]{1,20}$/);
    fc.assert(
      fc.property(fc.array(word, { minLength: 1, maxLength: 80 }), fc.integer({ min: 30, max: 120 }), (words, width) => {
        const out = wrap(words.join(" "), width, "  ");
        return out.every((l) => l.length <= width && l.startsWith("  ") && l[2] !== " ") && out.map((l) => l.slice(2)).join(" ") === words.join(" ");
      }),
    );
  });

  it("puts a word longer than the width on a line of its own rather than cutting it", () => {
    const long = "x".repeat(30);
    expect(wrap(`a ${long} b`, 20, "  ")).toEqual(["  a", `  ${long}`, "  b"]);
  });
});
