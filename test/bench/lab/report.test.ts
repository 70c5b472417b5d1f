// The issue-18 targets as the lab benchmark judges them (bench/lab/report.ts), on made-up scores.
import { describe, expect, it } from "vitest";
import { equalBudgetTable, medianRegretAt, methodTable, pruningTarget, warmStartTarget, type MethodScore } from "../../../bench/lab/report.ts";

/** Three campaigns; `curve` is the same regret-after-k curve for each. */
function score(name: string, o: { steps: number[]; regret: number[]; curve?: number[]; prunes?: boolean }): MethodScore {
  return { name, label: name, prunes: o.prunes ?? false, steps: o.steps, recall: o.steps.map(() => 1 / 3), regret: o.regret, stopped: o.steps.map(() => 0), curve: o.steps.map(() => o.curve ?? []), shortfalls: [] };
}
const random = score("random", { steps: [1440, 1440, 1440], regret: [0.04, 0.05, 0.06], curve: [0.4, 0.2, 0.1, 0.05] });

describe("the early-stopping target", () => {
  it.each([
    { name: "half the steps, the same median regret", steps: [700, 720, 760], regret: [0.02, 0.05, 0.09], ok: true },
    { name: "half the steps, a worse median regret", steps: [600, 620, 640], regret: [0.03, 0.051, 0.06], ok: false },
    { name: "a better regret at 51% of the steps", steps: [700, 735, 740], regret: [0, 0, 0], ok: false },
  ])("$name: $ok", ({ steps, regret, ok }) => {
    const t = pruningTarget([random, score("random+asha", { steps, regret, prunes: true })], random);
    expect(t.ok).toBe(ok);
    expect(t.what).toBe("at ≤ 50% of the plain 4-candidate random sweep's trainer steps (≤ 720), an early-stopping method reaches its median regret (0.0500) or lower");
  });

  it("is missed without an early-stopping method: a cheap proposer without pruning does not count", () => {
    const cheap = score("cheap", { steps: [10, 10, 10], regret: [0, 0, 0] });
    expect(pruningTarget([random, cheap], random)).toMatchObject({ ok: false, got: "no early-stopping method is listed" });
  });
});

describe("the warm-start target", () => {
  it.each([
    { curve: [0.3, 0.05, 0.05, 0.05], ok: true, got: "after 2 candidates" },
    { curve: [0.3, 0.2, 0.05, 0.01], ok: false, got: "after 3 candidates" },
    { curve: [0.3, 0.2, 0.1, 0.06], ok: false, got: "not within 4 candidates (median regret 0.0600 at 4)" },
  ])("regret after k = $curve: $got", ({ curve, ok, got }) => {
    expect(warmStartTarget([random, score("tpe-warm", { steps: [1440, 1440, 1440], regret: [0, 0, 0], curve })], random, 4)).toEqual({
      what: "the warm-started TPE reaches the random sweep's median regret after 4 candidates (0.0500) within 2 candidates",
      ok,
      got,
    });
  });

  it("counts a campaign that evaluated fewer candidates as having no pick there", () => {
    const short = score("tpe-warm", { steps: [60, 60, 60], regret: [0, 0, 0], curve: [0.01] });
    expect(medianRegretAt(short, 1)).toBe(0.01);
    expect(medianRegretAt(short, 2)).toBe(Infinity);
  });
});

describe("the table", () => {
  it("gives median (IQR) per method and steps against random's", () => {
    const asha = score("random+asha", { steps: [500, 700, 900], regret: [0.01, 0.02, 0.03], prunes: true });
    const lines = methodTable([random, asha], random);
    expect(lines.slice(2)).toEqual([
      "| random | 1,440 (1,440–1,440) | 1.00× | 0.33 (0.33–0.33) | 0.0500 (0.0450–0.0550) | — |",
      "| random+asha | 700 (600–800) | 0.49× | 0.33 (0.33–0.33) | 0.0200 (0.0150–0.0250) | 0 (0–0) |",
    ]);
  });

  it("sets an early-stopping method against plain random at the whole candidates its median steps buy", () => {
    const asha = score("random+asha", { steps: [150, 170, 200], regret: [0.01, 0.02, 0.03], prunes: true });
    expect(equalBudgetTable([asha], random, 60).slice(2)).toEqual(["| random+asha | 170 | 0.0200 | 120 (k = 2) | 0.2000 |"]);
  });
});
