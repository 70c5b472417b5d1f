import { describe, expect, it } from "vitest";
import { loadPolicy } from "../../src/policy/load.ts";
import { InputError } from "../../src/common/errors.ts";
import { useTmpDir } from "../helpers/tmp.ts";

const tmp = useTmpDir();

async function problemsOf(fn: () => Promise<unknown>): Promise<{ line: number; column?: number; field: string; message: string; file: string }[]> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof InputError) return [...err.problems];
    throw err;
  }
  throw new Error("expected an InputError");
}

describe("gate policies", () => {
  it("loads the built-in default and strict policies; strict extends default", async () => {
    const d = await loadPolicy("default");
    const s = await loadPolicy("strict");
    expect(d.files).toHaveLength(1);
    expect(s.files.map((f) => f.split("/").pop())).toEqual(["strict.yaml", "default.yaml"]);
    expect(s.policy.sweep.separation.z).toBe(3.72);
    expect(s.policy.sweep.finalists.count).toBe(d.policy.sweep.finalists.count); // inherited
    expect(s.sha256).not.toBe(d.sha256);
  });

  it("merges a user's file over the policy it extends, relative to the file", async () => {
    tmp.write("base.yaml", "extends: default\nsweep:\n  noise:\n    assumed_sigma: 0.02\n");
    const f = tmp.write("mine.yaml", "extends: ./base.yaml\nstress:\n  min_steps: 500\n");
    const p = await loadPolicy(f);
    expect(p.policy.stress.min_steps).toBe(500);
    expect(p.policy.sweep.noise.assumed_sigma).toBe(0.02);
    expect(p.policy.sweep.noise.min_dof).toBe(2);
    expect(p.files.map((x) => x.split("/").pop())).toEqual(["mine.yaml", "base.yaml", "default.yaml"]);
  });

  it("binds to values, not formatting: comments and key order do not change the hash", async () => {
    const a = tmp.write("a.yaml", "extends: default\nstress:\n  min_steps: 500\n  max_log_interval: 20\n");
    const b = tmp.write("b.yaml", "# a comment\nextends: default\nstress:\n  max_log_interval: 20   # why\n  min_steps: 500\n");
    const c = tmp.write("c.yaml", "extends: default\nstress:\n  max_log_interval: 20\n  min_steps: 501\n");
    expect((await loadPolicy(a)).sha256).toBe((await loadPolicy(b)).sha256);
    expect((await loadPolicy(a)).sha256).not.toBe((await loadPolicy(c)).sha256);
  });

  it("reports a wrong type at file:line:col with the key path and what was received", async () => {
    const f = tmp.write("bad.yaml", "extends: default\nstress:\n  flatline:\n    min_drop: 5%\n");
    const [p] = await problemsOf(() => loadPolicy(f));
    expect(p).toMatchObject({ file: f, line: 4, column: 15, field: "stress.flatline.min_drop" });
    expect(p?.message).toMatch(/expected number.*got "5%"/);
  });

  it("rejects unknown keys, each at the key's own position", async () => {
    const f = tmp.write("typo.yaml", "extends: default\nsweep:\n  noise:\n    asumed_sigma: 0.02\nstres:\n  min_steps: 5\n");
    const ps = await problemsOf(() => loadPolicy(f));
    const located = ps.map((p) => [p.line, p.column, p.field]).sort((a, b) => (a[0] as number) - (b[0] as number));
    expect(located).toEqual([
      [4, 5, "sweep.noise.asumed_sigma"],
      [5, 1, "stres"],
    ]);
    expect(ps.every((p) => /unknown key/.test(p.message))).toBe(true);
  });

  it("reports every problem of a file at once", async () => {
    const f = tmp.write("many.yaml", "extends: default\nsweep:\n  coverage:\n    min_evaluated: -1\n    max_failed_fraction: 2\n");
    const ps = await problemsOf(() => loadPolicy(f));
    expect(ps.map((p) => p.field).sort()).toEqual(["sweep.coverage.max_failed_fraction", "sweep.coverage.min_evaluated"]);
    expect(ps.every((p) => p.file === f && p.line >= 4)).toBe(true);
  });

  it("names keys missing from a policy that extends nothing", async () => {
    const f = tmp.write("alone.yaml", "sweep:\n  metric:\n    name: val_bpb\n    goal: min\n");
    const ps = await problemsOf(() => loadPolicy(f));
    expect(ps.map((p) => p.field)).toEqual(expect.arrayContaining(["stress", "spend", "sweep.coverage"]));
    expect(ps[0]?.message).toMatch(/required field is missing/);
  });

  it("reports YAML syntax errors and duplicate keys with their position", async () => {
    const f = tmp.write("syntax.yaml", "extends: default\nstress:\n  min_steps: 5\n  min_steps: 6\n");
    const [p] = await problemsOf(() => loadPolicy(f));
    expect(p).toMatchObject({ file: f, line: 4, field: "yaml" });
    expect(p?.message).toMatch(/duplicated mapping key/);
  });

  it("refuses an extends cycle and a missing base", async () => {
    tmp.write("x.yaml", "extends: ./y.yaml\n");
    const y = tmp.write("y.yaml", "extends: ./x.yaml\n");
    await expect(loadPolicy(y)).rejects.toThrow(/cycle/);
    const z = tmp.write("z.yaml", "extends: ./nowhere.yaml\n");
    expect((await problemsOf(() => loadPolicy(z)))[0]).toMatchObject({ field: "file", message: "no such file" });
  });
});

describe("gate policies: odd files", () => {
  it("refuses an extends that is not a path, at its line", async () => {
    const f = tmp.write("ext.yaml", "extends: 5\nstress:\n  min_steps: 5\n");
    const [p] = await problemsOf(() => loadPolicy(f));
    expect(p).toMatchObject({ file: f, line: 1, field: "extends" });
  });

  it("refuses a document that is not a mapping", async () => {
    const f = tmp.write("list.yaml", "- a\n- b\n");
    const [p] = await problemsOf(() => loadPolicy(f));
    expect(p).toMatchObject({ file: f, line: 1, field: "document" });
  });
});
