import { describe, expect, it } from "vitest";
import { configFromAnswer, gridConfig, knobValueProblem, loadMenu, menuSize, menuSizeText, type KnobValue } from "../../src/lab/menu.ts";
import { gridProposer, randomProposer } from "../../src/lab/proposers.ts";
import { configHash } from "../../src/evidence/hash.ts";
import { InputError } from "../../src/common/errors.ts";
import { useTmpDir } from "../helpers/tmp.ts";
import { REPO } from "../helpers/shared.ts";
import { join } from "node:path";

const tmp = useTmpDir();
const MENU = "knobs:\n  lr: [0.001, 0.01]\n  width: [32, 64, 128]\nbaseline:\n  lr: 0.001\n  width: 64\nfixed:\n  act: tanh\n";

describe("menu", () => {
  it("loads the example menus", async () => {
    for (const f of ["examples/menu.yaml", "examples/menu-diverging.yaml"]) {
      const m = await loadMenu(join(REPO, f));
      expect(m.steps).toBe(60);
      expect(menuSize(m)).toBeGreaterThanOrEqual(24);
    }
  });

  it("enumerates the grid once each, knobs then the fixed shape", async () => {
    const m = await loadMenu(tmp.write("m.yaml", MENU));
    expect(menuSize(m)).toBe(6);
    const all = Array.from({ length: 6 }, (_, i) => gridConfig(m, i));
    expect(all[0]).toEqual({ lr: 0.001, width: 32, act: "tanh" });
    expect(all[5]).toEqual({ lr: 0.01, width: 128, act: "tanh" });
    expect(new Set(all.map((c) => configHash(c))).size).toBe(6);
  });

  it("reports every cross-field problem at its line", async () => {
    const f = tmp.write("bad.yaml", "knobs:\n  lr: [0.1, 0.1]\nbaseline:\n  width: 3\nfixed:\n  act: relu\ntarget:\n  act: tanh\n");
    const err = await loadMenu(f).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    const lines = (err as InputError).problems.map((p) => `${p.line}:${p.column} ${p.field}`);
    expect(lines).toEqual(expect.arrayContaining(["2:13 knobs.lr.1", "4:3 baseline", "4:10 baseline.width", "6:8 fixed.act"]));
  });

  it("refuses a knob or fixed key named seed (the config hash leaves it out, so configs would look identical)", async () => {
    const f = tmp.write("seed.yaml", "knobs:\n  seed: [1, 2]\n  x: [1, 2]\nbaseline:\n  seed: 1\n  x: 1\nfixed:\n  seed: 3\n");
    const err = await loadMenu(f).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    const fields = (err as InputError).problems.map((p) => p.field);
    expect(fields).toEqual(expect.arrayContaining(["knobs.seed", "fixed.seed"]));
    expect((err as InputError).message).toMatch(/knobs\.seed: seed is the lab's own/);
  });

  it("merges an agent's partial answer onto the baseline and refuses what breaks the menu", async () => {
    const m = await loadMenu(tmp.write("m.yaml", MENU));
    expect(configFromAnswer(m, { width: 32 })).toEqual({ lr: 0.001, width: 32, act: "tanh" });
    expect(configFromAnswer(m, { lr: 0.003 })).toEqual({ lr: 0.003, width: 64, act: "tanh" });
    expect(configFromAnswer(m, { act: "relu" })).toMatch(/act is fixed to "tanh"/);
    expect(configFromAnswer(m, { depth: 2 })).toMatch(/"depth" is not a knob/);
    expect(configFromAnswer(m, [1])).toMatch(/got an array/);
    expect(configFromAnswer(m, { lr: null })).toBe("lr: expected a number from 0.001 to 0.01 (the menu's choices), got null");
    expect(configFromAnswer(m, { constructor: 1 })).toMatch(/"constructor" is not a knob/);
  });

  // The red-team's answers for a knob with choices 1–12 were all trained; "3" also dodged the dedupe.
  const X = Array.from({ length: 12 }, (_, i) => i + 1);
  it.each<[string, readonly KnobValue[], unknown, string | undefined]>([
    ["1e308", X, 1e308, "x: expected a whole number from 1 to 12 (the menu's choices), got 1e+308"],
    ["-1", X, -1, "x: expected a whole number from 1 to 12 (the menu's choices), got -1"],
    ['"3"', X, "3", 'x: expected a whole number from 1 to 12 (the menu\'s choices), got "3" (a string)'],
    ["2.5 between whole choices", X, 2.5, "x: expected a whole number from 1 to 12 (the menu's choices), got 2.5"],
    ["NaN", X, Number.NaN, "x: expected a whole number from 1 to 12 (the menu's choices), got NaN"],
    ["true", X, true, "x: expected a whole number from 1 to 12 (the menu's choices), got true"],
    ["an end of the range", X, 12, undefined],
    ["a listed choice", X, 3, undefined],
    ["between fractional choices", [0.001, 0.01], 0.003, undefined],
    ["a whole number between fractional choices", [0.5, 4], 2, undefined],
    ["below fractional choices", [0.001, 0.01], 0.0001, "x: expected a number from 0.001 to 0.01 (the menu's choices), got 0.0001"],
    ["a single number", [7], 8, "x: expected the number 7 (the menu's choices), got 8"],
    ["a listed string", ["tanh", "relu"], "relu", undefined],
    ["an unlisted string", ["tanh", "relu"], "gelu", 'x: expected one of "tanh", "relu" (the menu\'s choices), got "gelu"'],
    ["a number for strings", ["tanh", "relu"], 1, 'x: expected one of "tanh", "relu" (the menu\'s choices), got 1'],
    ["a listed boolean", [true, false], false, undefined],
    ['"true" for booleans', [true, false], "true", "x: expected one of true, false (the menu's choices), got \"true\""],
    ["mixed: the listed string", ["auto", 1, 8], "auto", undefined],
    ["mixed: a number in range", ["auto", 1, 8], 4, undefined],
    ["mixed: out of range", ["auto", 1, 8], 9, 'x: expected "auto", or a whole number from 1 to 8 (the menu\'s choices), got 9'],
    ["mixed: a string number", ["auto", 1, 8], "4", 'x: expected "auto", or a whole number from 1 to 8 (the menu\'s choices), got "4" (a string)'],
  ])("a proposer's %s is checked against the knob's choices", (_name, choices, v, want) => {
    expect(knobValueProblem("x", choices, v)).toBe(want);
  });
});

describe("proposers", () => {
  it("random is the grid in a seeded order: same seed, same sequence, no repeats, then exhausted", async () => {
    const m = await loadMenu(tmp.write("m.yaml", MENU));
    const take = async (seed: number) => {
      const p = randomProposer(m, seed);
      const out: string[] = [];
      for (let i = 0; i < 7; i++) {
        const r = await p.next({ trajectoryFile: "", n: i + 1 });
        out.push(r.kind === "config" ? configHash(r.config) : r.kind);
      }
      return out;
    };
    const a = await take(0);
    expect(a.slice(0, 6).sort()).toEqual(Array.from({ length: 6 }, (_, i) => configHash(gridConfig(m, i))).sort());
    expect(a[6]).toBe("exhausted");
    expect(await take(0)).toEqual(a);
    expect(await take(1)).not.toEqual(a);
    const g = gridProposer(m);
    const first = await g.next({ trajectoryFile: "", n: 1 });
    expect(first).toEqual({ kind: "config", config: gridConfig(m, 0) });
  });
});

describe("a menu too big to count (310 knobs × 10 choices)", () => {
  const huge = (knobs: number, choices: number): string =>
    `knobs:\n${Array.from({ length: knobs }, (_, k) => `  k${k}: [${Array.from({ length: choices }, (_, c) => c).join(", ")}]`).join("\n")}\nbaseline:\n${Array.from({ length: knobs }, (_, k) => `  k${k}: 0`).join("\n")}\n`;

  it.each([
    [1, 24, "24"],
    [9, 10, "1000000000"],
    [10, 10, "10^10"],
    [310, 10, "10^310"],
    [3, 2000, "8000000000"],
    [5, 400, "1×10^13"],
    [4, 2000, "1.6×10^13"],
    [100, 3, "5.1×10^47"],
  ])("%i knobs of %i choices are reported as %s configs", async (knobs, choices, want) => {
    const m = await loadMenu(tmp.write("huge.yaml", huge(knobs, choices)));
    expect(menuSizeText(m)).toBe(want);
  });

  it("the random proposer draws each knob on its own: listed values, distinct, the same for the same seed", async () => {
    const m = await loadMenu(tmp.write("huge.yaml", huge(310, 10)));
    expect(menuSize(m)).toBe(Infinity);
    const draw = async (seed: number): Promise<string[]> => {
      const p = randomProposer(m, seed);
      const out: string[] = [];
      for (let i = 0; i < 50; i++) {
        const r = await p.next({ trajectoryFile: "", n: i + 1 });
        if (r.kind !== "config") throw new Error(`expected a config, got ${r.kind}`);
        expect(Object.keys(r.config)).toHaveLength(310);
        for (const v of Object.values(r.config)) expect([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]).toContain(v);
        out.push(configHash(r.config));
      }
      return out;
    };
    const a = await draw(7);
    expect(new Set(a).size).toBe(50);
    expect(await draw(7)).toEqual(a);
    expect(await draw(8)).not.toEqual(a);
  });
});
