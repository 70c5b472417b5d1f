// `windtunnel lab sweep --prune` on the reference trainer (real training, issue 18): hopeless
// candidates stopped at their rungs as pruned rows, fewer trainer steps than the same sweep
// unpruned, the same results for the candidates that run out, and a kill -9 and resume that keep
// the pruned rows.
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { execa } from "execa";
import { REPO } from "../helpers/shared.ts";
import { useTmpDir } from "../helpers/tmp.ts";

const tmp = useTmpDir();
const BIN = join(REPO, "src/cli/bin.ts");
const TRAINER = [process.execPath, join(REPO, "examples/trainer/train.ts")];
const MENU = join(REPO, "examples/menu.yaml");

function sweep(args: string[]) {
  return execa(process.execPath, [BIN, "lab", "sweep", "--menu", MENU, ...args, "--", ...TRAINER], { cwd: tmp.dir(), reject: false, env: { CI: "true" } });
}

/** The tests' stand-in trainer (no val_bpb before its last step), on a menu of its own. */
const STAND_IN = [process.execPath, join(REPO, "test/fixtures/lab/trainer.mjs")];
function standInSweep(menu: string, args: string[]) {
  return execa(process.execPath, [BIN, "lab", "sweep", "--menu", menu, "--repeats", "0", ...args, "--", ...STAND_IN], { cwd: tmp.dir(), reject: false, env: { CI: "true" } });
}

interface Row {
  id: string;
  status: string;
  val_bpb: number | null;
  config_hash: string;
  steps: number;
  seed: number;
  baseline?: true;
  repeat_of?: string;
  pruned_at?: { step: number; val_bpb: number };
  rungs?: { step: number; val_bpb: number }[];
  error?: string;
}

function rows(dir: string): Row[] {
  const text = readFileSync(join(tmp.dir(), dir, "trajectory.jsonl"), "utf8");
  return text.trim().split("\n").map((l) => JSON.parse(l) as Row);
}

const stepsOf = (rs: readonly Row[]): number => rs.reduce((s, r) => s + r.steps, 0);

describe("windtunnel lab sweep --prune on the reference trainer", () => {
  it("stops hopeless candidates at their rungs as pruned rows, spends fewer steps than unpruned, and changes no finished result", async () => {
    const common = ["--candidates", "8", "--repeats", "1", "--repeat-top", "1"];
    const pruned = await sweep([...common, "--dir", "asha", "--prune", "asha"]);
    expect(pruned.exitCode, pruned.stderr).toBe(0);
    expect(pruned.stderr).toContain("early stopping asha (η 3) at steps 20, 40");
    expect(pruned.stderr).not.toContain("warmup"); // examples/menu.yaml warms up for 5 steps
    const got = rows("asha");
    const firsts = got.filter((r) => r.repeat_of === undefined);
    expect(firsts).toHaveLength(8);
    const stopped = got.filter((r) => r.status === "pruned");
    expect(stopped.length).toBeGreaterThanOrEqual(2);
    for (const r of stopped) {
      expect(r.val_bpb).toBeNull();
      expect([20, 40]).toContain(r.pruned_at?.step);
      expect(r.steps).toBeLessThan(60);
      expect(r.steps).toBeGreaterThanOrEqual(r.pruned_at?.step ?? Infinity);
      expect(r.rungs?.at(-1)).toEqual(r.pruned_at);
      expect(r.error).toBeUndefined();
    }
    // The baseline and the noise repeats run out; every row that ran out carries its values at the rungs.
    expect(got.find((r) => r.baseline && r.seed === 0)).toMatchObject({ status: "ok", steps: 60 });
    const repeats = got.filter((r) => r.repeat_of !== undefined);
    expect(repeats).toHaveLength(2);
    for (const r of repeats) expect(r).toMatchObject({ status: "ok", steps: 60 });
    for (const r of firsts.filter((x) => x.status === "ok")) expect(r.rungs?.map((x) => x.step)).toEqual([20, 40]);
    expect(pruned.stdout).toMatch(new RegExp(`early stopping: ${stopped.length} candidate\\(s\\) pruned \\(.*\\): [\\d,]+ trainer steps run, [\\d,]+ saved`));

    const full = await sweep([...common, "--dir", "none"]);
    expect(full.exitCode, full.stderr).toBe(0);
    const unpruned = rows("none").filter((r) => r.repeat_of === undefined);
    expect(stepsOf(unpruned)).toBe(8 * 60);
    const saved = stepsOf(unpruned) - stepsOf(firsts);
    expect(saved).toBeGreaterThanOrEqual(stopped.length * 20);
    console.log(`lab sweep --prune asha, 8 candidates × 60 steps: ${stepsOf(firsts)} trainer steps against ${stepsOf(unpruned)} unpruned (${saved} saved, ${stopped.length} pruned)`);
    // Evaluating at the rungs changes no training: a config that ran out has the unpruned run's val_bpb, bit for bit.
    const byHash = new Map(unpruned.map((r) => [r.config_hash, r.val_bpb]));
    for (const r of firsts.filter((x) => x.status === "ok")) expect(r.val_bpb).toBe(byHash.get(r.config_hash));

    // The trajectory is valid, and the sweep gates say what was pruned and rank only what ran out.
    const v = await execa(process.execPath, [BIN, "validate", join(tmp.dir(), "asha/trajectory.jsonl")], { reject: false });
    expect(v.exitCode, v.stdout + v.stderr).toBe(0);
    expect(v.stdout).toMatch(new RegExp(`pruned ${stopped.length}\\b`));
    const g = await execa(process.execPath, [BIN, "gate", "--phase", "sweep", "--format", "json", join(tmp.dir(), "asha/trajectory.jsonl")], { reject: false });
    const verdict = JSON.parse(g.stdout) as { gates: { id: string; message: string; measured: number }[] };
    const evaluated = verdict.gates.find((x) => x.id === "sweep.coverage.evaluated");
    expect(evaluated?.measured).toBe(got.length);
    expect(evaluated?.message).toMatch(new RegExp(`${stopped.length} pruned early \\(.*at step (20|40).*\\), evaluated but not ranked: \\d+ ran to the end`));
    expect(verdict.gates.find((x) => x.id === "sweep.coverage.failed")?.measured).toBe(0);
  });

  it("keeps the pruned rows across a kill -9: the re-run trains only what is missing and never a pruned config again", async () => {
    const args = ["--dir", "runs", "--candidates", "12", "--repeats", "0", "--parallel", "2", "--prune", "asha"];
    const first = sweep(args);
    const file = join(tmp.dir(), "runs/trajectory.jsonl");
    const written = (): string[] => (existsSync(file) ? readFileSync(file, "utf8").split("\n").filter((l) => l.endsWith("}")) : []);
    for (let i = 0; i < 600 && !(written().length >= 4 && written().some((l) => l.includes('"status":"pruned"'))); i++) await new Promise((r) => setTimeout(r, 25));
    first.kill("SIGKILL");
    await first;
    // Whole rows only: the kill may cut the last one short (the re-run removes it).
    const before = written().flatMap((l) => {
      try {
        return [JSON.parse(l) as Row];
      } catch {
        return [];
      }
    });
    const prunedBefore = before.filter((r) => r.status === "pruned");
    expect(prunedBefore.length, "a pruned row was written before the kill").toBeGreaterThanOrEqual(1);
    expect(before.length, "killed mid-sweep").toBeLessThan(12);
    const logTimes = new Map(prunedBefore.map((r) => [r.id, statSync(join(tmp.dir(), "runs/sweep", `${r.id}.log`)).mtimeMs]));

    const second = await sweep(args);
    expect(second.exitCode, second.stderr).toBe(0);
    expect(second.stderr).toMatch(new RegExp(`resuming: ${before.length} row\\(s\\) already in trajectory\\.jsonl`));
    expect(second.stdout).toContain(`12 rows (${12 - before.length} trained now`);
    const after = rows("runs");
    expect(after).toHaveLength(12);
    expect(new Set(after.map((r) => r.id)).size).toBe(12);
    expect(new Set(after.map((r) => r.config_hash)).size).toBe(12);
    // Every row written before the kill is still there as written, the pruned ones untrained since.
    expect(after.slice(0, before.length)).toEqual(before);
    for (const [id, t] of logTimes) expect(statSync(join(tmp.dir(), "runs/sweep", `${id}.log`)).mtimeMs, `${id} not trained again`).toBe(t);
    // The resumed run's summary counts the pruned rows of both runs.
    const total = after.filter((r) => r.status === "pruned").length;
    expect(second.stdout).toMatch(new RegExp(`early stopping: ${total} candidate\\(s\\) pruned`));
  });

  it("prunes with the median rule too", async () => {
    const r = await sweep(["--dir", "median", "--candidates", "6", "--repeats", "0", "--prune", "median", "--rungs", "30"]);
    expect(r.exitCode, r.stderr).toBe(0);
    const stopped = rows("median").filter((x) => x.status === "pruned");
    expect(stopped.length).toBeGreaterThanOrEqual(1);
    expect(stopped.every((x) => x.pruned_at?.step === 30 && /worse than the median/.test(r.stderr))).toBe(true);
    expect(r.stdout).toMatch(/early stopping: \d+ candidate\(s\) pruned/);
  });
});

describe("windtunnel lab sweep --prune with a trainer that ignores WINDTUNNEL_EVAL_STEPS", () => {
  it("prunes nothing, runs every candidate out, and says once why", async () => {
    const menu = tmp.write("menu.yaml", "steps: 60\nknobs:\n  x: [1, 2, 3, 4, 5, 6]\nbaseline:\n  x: 1\n");
    const r = await standInSweep(menu, ["--dir", "blind", "--candidates", "4", "--prune", "asha"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(rows("blind").map((x) => [x.status, x.steps])).toEqual(Array.from({ length: 4 }, () => ["ok", 60]));
    const notes = r.stderr.split("\n").filter((l) => l.includes("WINDTUNNEL_EVAL_STEPS"));
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatch(/c00\d reported no val_bpb before its last step, so early stopping could not judge it at the rungs \(steps 20, 40\)/);
    expect(r.stdout).toContain("early stopping: 0 candidate(s) pruned: 240 trainer steps run, 0 saved (0%)");
  });
});

describe("windtunnel lab sweep --prune with rungs inside the menu's warmup", () => {
  it("warns once, naming the rungs and the warmup, and still prunes as asked", async () => {
    const menu = tmp.write("warm.yaml", "steps: 60\nknobs:\n  x: [1, 2, 3]\nbaseline:\n  x: 1\nfixed:\n  warmup: 30\n");
    const r = await standInSweep(menu, ["--dir", "warm", "--candidates", "2", "--prune", "asha"]);
    expect(r.exitCode, r.stderr).toBe(0);
    const warnings = r.stderr.split("\n").filter((l) => l.includes("warning:"));
    expect(warnings).toEqual(["windtunnel lab sweep: warning: early stopping judges candidates at step 20, inside the menu's 30-step warmup (warmup); the ranking there may not hold at step 60 (--rungs from step 30 on, or --prune none)"]);
    expect(r.stdout).toContain("early stopping: 0 candidate(s) pruned");
    // A warmup ending at the candidates' last rung-able step still leaves that step.
    const edge = tmp.write("edge.yaml", "steps: 60\nknobs:\n  x: [1, 2, 3]\nbaseline:\n  x: 1\nfixed:\n  warmup: 59\n");
    expect((await standInSweep(edge, ["--dir", "edge", "--candidates", "1", "--prune", "asha"])).stderr).toContain("at step 60 (--rungs from step 59 on, or --prune none)");
  });

  it("names the one way out when the warmup outlasts every step, and a knob's warmup as a knob's", async () => {
    const menu = tmp.write("long.yaml", "steps: 60\nknobs:\n  x: [1, 2, 3]\n  warmup_iters: [5, 600]\nbaseline:\n  x: 1\n  warmup_iters: 5\n");
    const r = await standInSweep(menu, ["--dir", "long", "--candidates", "2", "--prune", "median"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain("warning: early stopping judges candidates at steps 20 and 40, inside a warmup of up to 600 steps (knob warmup_iters); the ranking there may not hold at step 60 (no step of 60 is past it: --prune none)");
  });
});

describe("windtunnel lab sweep: early stopping in lab.json", () => {
  it("records the setting the sweep began with, and says so once when a resume changes it", async () => {
    const menu = tmp.write("m.yaml", "steps: 60\nknobs:\n  x: [1, 2, 3, 4, 5, 6]\nbaseline:\n  x: 1\n");
    const run = (extra: string[]) => standInSweep(menu, ["--dir", "rec", ...extra]);
    const first = await run(["--candidates", "2", "--prune", "asha", "--eta", "2", "--rungs", "30"]);
    expect(first.exitCode, first.stderr).toBe(0);
    const lab = JSON.parse(readFileSync(join(tmp.dir(), "rec", "lab.json"), "utf8")) as { early_stopping: unknown };
    expect(lab.early_stopping).toEqual({ rule: "asha", eta: 2, rungs: [30] });
    const same = await run(["--candidates", "3", "--prune", "asha", "--eta", "2", "--rungs", "30"]);
    expect(same.exitCode, same.stderr).toBe(0);
    expect(same.stderr).not.toContain("when this sweep began");
    const changed = await run(["--candidates", "4"]);
    expect(changed.exitCode, changed.stderr).toBe(0);
    expect(changed.stderr.split("\n").filter((l) => l.includes("when this sweep began"))).toEqual([
      expect.stringContaining("early stopping is none now, asha (η 2) at steps 30 when this sweep began (lab.json): the rows already written keep the decisions made then, later candidates are judged by the new setting"),
    ]);
    expect(rows("rec")).toHaveLength(4);
  });
});

describe("windtunnel lab sweep: a bad --prune, --eta or --rungs is one line and exit 2, and nothing is written", () => {
  it.each([
    [["--prune", "hyperband"], /^windtunnel: --prune: expected one of asha, median, none, got "hyperband"$/],
    [["--prune", "asha", "--eta", "1"], /^windtunnel: --eta: expected a number greater than 1 .*got 1$/],
    [["--prune", "asha", "--eta", "three"], /^windtunnel: --eta: expected a non-negative number, got "three"$/],
    [["--eta", "2"], /^windtunnel: --eta is ASHA's reduction factor: it needs --prune asha \(got --prune none\)$/],
    [["--prune", "median", "--eta", "2"], /it needs --prune asha \(got --prune median\)$/],
    [["--rungs", "20"], /^windtunnel: --rungs: .*it needs --prune asha or --prune median$/],
    [["--prune", "asha", "--rungs", "20,x"], /^windtunnel: --rungs: expected comma-separated whole numbers of steps, e\.g\. 20,40; got "20,x"$/],
    [["--prune", "asha", "--rungs", "20,60"], /^windtunnel: --rungs 20,60: expected whole numbers of steps from 1 to 59 .*got 60$/],
    [["--prune", "asha", "--rungs", "40,20"], /^windtunnel: --rungs 40,20: expected increasing steps, got 20 after 40$/],
    [["--prune", "asha", "--steps", "1"], /^windtunnel: --prune asha: candidates of 1 step\(s\) have no step before their last to be judged at$/],
  ])("%j", async (flags, message) => {
    const r = await sweep(["--dir", "bad", ...flags]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr.trim()).toMatch(message);
    expect(existsSync(join(tmp.dir(), "bad"))).toBe(false);
  });
});
