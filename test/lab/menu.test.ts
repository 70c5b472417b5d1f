import { describe, expect, it } from "vitest";
import { configFromAnswer, gridConfig, loadMenu, menuSize } from "../../src/lab/menu.ts";
import { gridProposer, randomProposer } from "../../src/lab/proposers.ts";
import { configHash } from "../../src/evidence/hash.ts";
import { InputError } from "../../src/evidence/errors.ts";
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

  it("merges an agent's partial answer onto the baseline and refuses what breaks the menu", async () => {
    const m = await loadMenu(tmp.write("m.yaml", MENU));
    expect(configFromAnswer(m, { width: 32 })).toEqual({ lr: 0.001, width: 32, act: "tanh" });
    expect(configFromAnswer(m, { lr: 0.003 })).toEqual({ lr: 0.003, width: 64, act: "tanh" });
    expect(configFromAnswer(m, { act: "relu" })).toMatch(/act is fixed to "tanh"/);
    expect(configFromAnswer(m, { depth: 2 })).toMatch(/"depth" is not a knob/);
    expect(configFromAnswer(m, [1])).toMatch(/got an array/);
    expect(configFromAnswer(m, { lr: null })).toMatch(/lr: expected a string, finite number or boolean/);
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
