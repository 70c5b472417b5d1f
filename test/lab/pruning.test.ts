// Early stopping in the planner (issue 18): the ASHA and median decisions at a rung, who is never
// pruned, and a pruned result's place in the budget, the dedupe and a resume, with no trainer.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { configHash } from "../../src/evidence/hash.ts";
import { abandonTask, atRung, defaultRungs, rungsInWarmup, stepsText, warmupText, nextStep, progressOf, recordResult, rungsOf, rungsProblem, startPlan, takeProposal, type Plan, type PlanSetup, type PruneSetup, type Result, type Task } from "../../src/lab/planner.ts";
import type { Config } from "../../src/lab/menu.ts";
import type { Proposal } from "../../src/lab/proposers.ts";

const BASELINE = { x: 1 };
const STEPS = 60;
const ASHA: PruneSetup = { rule: "asha", eta: 3, rungs: [20, 40] };

function setup(extra: Partial<PlanSetup> = {}): PlanSetup {
  return { seed: 0, baseline: BASELINE, candidates: 4, repeats: 0, repeatTop: 0, maxIdleProposals: 5, proposer: "grid", prune: ASHA, ...extra };
}

const finished = (id: string, config: Config, value: number | null, rungs: { step: number; value: number }[] = [], seed = 0): Result => ({ id, config, hash: configHash(config), seed, value, ...(rungs.length > 0 ? { rungs } : {}) });

/** A plan whose trajectory holds the baseline and one finished config per value at rung 20, with config x=99 in flight. */
function inFlightAmong(others: readonly number[], prune: PruneSetup): { plan: Plan; id: string } {
  const results = [finished("c000", BASELINE, 2.5), ...others.map((v, i) => finished(`c${String(i + 1).padStart(3, "0")}`, { x: 100 + i }, v - 0.1, [{ step: 20, value: v }]))];
  let plan = startPlan(setup({ candidates: others.length + 2, prune }), results);
  plan = takeProposal(nextStep(plan).plan, { kind: "config", config: { x: 99 } }).plan;
  const run = nextStep(plan);
  if (run.step.kind !== "train") throw new Error(`expected a run, got ${run.step.kind}`);
  return { plan: run.plan, id: run.step.task.id };
}

describe("the decision at a rung", () => {
  it.each([
    // others at the rung, own value, η, decision: ASHA keeps the top ⌊n/η⌋ of the n values there (itself
    // included), and while that is below 1, the best alone.
    [[], 9, 3, "go"],
    [[2.0], 2.1, 3, "stop"],
    [[2.0], 1.9, 3, "go"],
    [[2.0], 2.0, 3, "go"],
    [[2.0, 2.1], 2.05, 3, "stop"],
    [[2.0, 2.1, 2.2, 2.3, 2.4], 2.05, 3, "go"],
    [[2.0, 2.1, 2.2, 2.3, 2.4], 2.15, 3, "stop"],
    [[2.0, 2.2, 2.3], 2.1, 2, "go"],
    [[2.0, 2.2, 2.3], 2.25, 2, "stop"],
    [[2.0, 2.2], 2.1, 2, "stop"],
    [[2.0, 2.2], 2.1, 1.5, "go"],
  ])("ASHA: with %j recorded there, %d at η %d is %s", (others, value, eta, want) => {
    const { plan, id } = inFlightAmong(others, { rule: "asha", eta, rungs: [20, 40] });
    const d = atRung(plan, id, 20, value);
    expect(d.decision.kind).toBe(want);
    expect(d.plan.atRungs.filter((r) => r.step === 20)).toHaveLength(others.length + 1);
  });

  it.each([
    [[], 9, "go"],
    [[2.0], 2.1, "stop"],
    [[2.0, 2.2], 2.1, "go"],
    [[2.0, 2.2], 2.15, "stop"],
    [[1, 2, 3], 2.5, "stop"],
    [[1, 2, 3], 2, "go"],
  ])("median: with %j recorded there, %d is %s", (others, value, want) => {
    const { plan, id } = inFlightAmong(others, { rule: "median", eta: 3, rungs: [20, 40] });
    expect(atRung(plan, id, 20, value).decision.kind).toBe(want);
  });

  it("says why in a sentence with the value, the rung and the cutoff", () => {
    const asha = inFlightAmong([2.0, 2.1, 2.2, 2.3, 2.4], ASHA);
    expect(atRung(asha.plan, asha.id, 20, 2.15).decision).toEqual({ kind: "stop", step: 20, value: 2.15, reason: "val_bpb 2.15 at step 20 is not in the top 1/3 of the 6 values there (the best 2 are ≤ 2.1)" });
    const few = inFlightAmong([2.0], ASHA);
    expect(atRung(few.plan, few.id, 20, 2.1).decision).toMatchObject({ reason: "val_bpb 2.1 at step 20 is not in the top 1/3 of the 2 values there (the best is 2)" });
    const median = inFlightAmong([2.0, 2.2], { rule: "median", eta: 3, rungs: [20] });
    expect(atRung(median.plan, median.id, 20, 2.15).decision).toMatchObject({ reason: "val_bpb 2.15 at step 20 is worse than the median of the 2 other candidates there, 2.1" });
  });

  it("judges a value at the highest rung reached and not yet reported, once per rung", () => {
    const { plan, id } = inFlightAmong([], ASHA);
    expect(atRung(plan, id, 10, 2).plan.atRungs).toHaveLength(0);
    // A trainer that logs val_bpb only at step 45 is judged at rung 40 (rung 20 is skipped)...
    const at45 = atRung(plan, id, 45, 2);
    expect(rungsOf(at45.plan, id)).toEqual([{ step: 40, value: 2 }]);
    // ...and a later value before the next rung changes nothing.
    expect(atRung(at45.plan, id, 50, 1.9).plan.atRungs).toEqual(at45.plan.atRungs);
  });

  it("neither records nor stops on a value that is not finite: the run goes on to fail where the coverage gate counts it", () => {
    const { plan, id } = inFlightAmong([2.0], ASHA);
    for (const v of [Number.NaN, Infinity]) {
      const d = atRung(plan, id, 20, v);
      expect(d.decision.kind).toBe("go");
      expect(d.plan.atRungs).toEqual(plan.atRungs);
    }
  });

  it("never stops the baseline, but counts its values at the rungs", () => {
    const run = nextStep(startPlan(setup(), [finished("c001", { x: 3 }, 2.0, [{ step: 20, value: 2.0 }])]));
    expect(run.step).toMatchObject({ kind: "train", task: { baseline: true } });
    const d = atRung(run.plan, "c000", 20, 3.5);
    expect(d.decision.kind).toBe("go");
    expect(rungsOf(d.plan, "c000")).toEqual([{ step: 20, value: 3.5 }]);
  });

  it("never stops a noise repeat, nor counts it", () => {
    const r = simulate(startPlan(setup({ candidates: 3, repeats: 1, repeatTop: 1 }), []), grid(2, 3));
    const repeats = r.plan.results.filter((x) => x.seed !== 0);
    expect(repeats.map((x) => x.id)).toEqual(["c000-s1", "c002-s1"]);
    expect(repeats.every((x) => x.pruned === undefined && x.value !== null)).toBe(true);
    expect(r.plan.atRungs.filter((x) => x.id.includes("-s"))).toEqual([]);
  });

  it("does nothing without early stopping", () => {
    const { plan, id } = inFlightAmong([2.0], ASHA);
    const { prune: _prune, ...off } = plan.setup;
    const d = atRung({ ...plan, setup: off }, id, 20, 9);
    expect(d.decision.kind).toBe("go");
    expect(d.plan.atRungs).toEqual(plan.atRungs);
  });

  it("refuses a value for a run that is not in flight (the shell's bug)", () => {
    expect(() => atRung(startPlan(setup(), []), "c009", 20, 2)).toThrow(/c009 is not in flight/);
  });
});

/** The stand-in trainer's curves: x = 3 is best at every step (no two x tie), so the rung ranks as the end does. */
const curve = (t: Pick<Task, "config" | "seed">, step: number): number => 2 + Math.abs(Number(t.config["x"]) - 3.2) * 0.1 + 1 / step + t.seed * 0.001;

const grid =
  (...xs: number[]) =>
  (n: number): Proposal => {
    const x = xs[n - 1];
    return x === undefined ? { kind: "exhausted", reason: `the grid's ${xs.length} configs are all proposed` } : { kind: "config", config: { x } };
  };

/**
 * The shell's loop with early stopping: fill the free slots, then advance one run (the one `pick`
 * chooses) by one rung, or to its end; a stop ends it as a pruned result. `kill` drops every run
 * in flight after that many results, as a kill -9 would.
 */
function simulate(plan: Plan, answer: (n: number) => Proposal, o: { parallel?: number; pick?: (n: number) => number; kill?: number } = {}): { plan: Plan; steps: number } {
  const reached = new Map<string, number>();
  let steps = 0;
  for (let turns = 0; turns < 10_000; turns++) {
    while (plan.inFlight.length < (o.parallel ?? 1)) {
      const next = nextStep(plan);
      plan = next.plan;
      if (next.step.kind === "propose") plan = takeProposal(plan, answer(next.step.n)).plan;
      else if (next.step.kind !== "train") break;
    }
    const t = plan.inFlight[(o.pick ?? (() => 0))(plan.inFlight.length)];
    if (t === undefined) return { plan, steps };
    const rungs = plan.setup.prune?.rungs ?? [];
    const k = reached.get(t.id) ?? 0;
    const rung = rungs[k];
    if (rung !== undefined) {
      reached.set(t.id, k + 1);
      const d = atRung(plan, t.id, rung, curve(t, rung));
      plan = d.plan;
      if (d.decision.kind === "stop") {
        steps += rung;
        plan = recordResult(plan, { id: t.id, config: t.config, hash: configHash(t.config), seed: t.seed, value: null, pruned: { step: d.decision.step, value: d.decision.value }, rungs: rungsOf(plan, t.id) });
      }
    } else {
      steps += STEPS;
      plan = recordResult(plan, { id: t.id, config: t.config, hash: configHash(t.config), seed: t.seed, value: curve(t, STEPS), rungs: rungsOf(plan, t.id) });
    }
    if (o.kill !== undefined && plan.results.length >= o.kill) {
      for (const f of plan.inFlight) plan = abandonTask(plan, f.id);
      return { plan, steps };
    }
  }
  throw new Error("the plan never finished");
}

const XS = [6, 2, 8, 4, 3, 9, 5, 7];
const outcome = (p: Plan): string[] => p.results.map((r) => `${r.id} x=${String(r.config["x"])} ${r.pruned ? `pruned@${r.pruned.step}` : r.value === null ? "failed" : "ok"}`);

describe("a pruned result in the sweep", () => {
  it("stops the hopeless ones at their rungs, and spends fewer steps than without", () => {
    const pruned = simulate(startPlan(setup({ candidates: 9 }), []), grid(...XS));
    const { prune: _prune, ...unpruned } = setup({ candidates: 9 });
    const full = simulate(startPlan(unpruned, []), grid(...XS));
    expect(outcome(pruned.plan)).toEqual([
      "c000 x=1 ok",
      "c001 x=6 pruned@20",
      "c002 x=2 ok",
      "c003 x=8 pruned@20",
      "c004 x=4 ok",
      "c005 x=3 ok",
      "c006 x=9 pruned@20",
      "c007 x=5 pruned@20",
      "c008 x=7 pruned@20",
    ]);
    expect(full.steps).toBe(9 * STEPS);
    expect(pruned.steps).toBe(4 * STEPS + 5 * 20);
    // The best config is found either way.
    const best = (p: Plan): string | undefined => p.results.filter((r) => r.value !== null).sort((a, b) => (a.value as number) - (b.value as number))[0]?.id;
    expect(best(pruned.plan)).toBe(best(full.plan));
  });

  it("counts against the budget, is not a failure in the progress, and never gets the noise repeats", () => {
    const r = simulate(startPlan(setup({ candidates: 5, repeats: 1, repeatTop: 5 }), []), grid(6, 2, 8, 3));
    expect(r.plan.results.filter((x) => x.seed === 0)).toHaveLength(5);
    const pruned = r.plan.results.filter((x) => x.pruned !== undefined).map((x) => x.id);
    expect(pruned).toEqual(["c001", "c003"]);
    expect(r.plan.results.filter((x) => x.seed === 1).map((x) => x.id).sort()).toEqual(["c000-s1", "c002-s1", "c004-s1"]);
    expect(progressOf(r.plan)).toMatchObject({ failures: 0, pruned: 2 });
  });

  it("answers a proposal of a pruned config from the trajectory instead of training it again", () => {
    const plan = startPlan(setup({ proposer: "command" }), [finished("c000", BASELINE, 2.5), { ...finished("c001", { x: 6 }, null), pruned: { step: 20, value: 2.35 } }]);
    const taken = takeProposal(plan, { kind: "config", config: { x: 6 } });
    expect(taken.plan.queue).toEqual([]);
    expect(taken.note).toBe("proposal 1 repeats c001: answered from the trajectory, not trained again");
  });

  it("judges alike after a resume: the rows' values at the rungs are what later candidates meet", () => {
    const whole = simulate(startPlan(setup({ candidates: 9 }), []), grid(...XS));
    for (let kill = 1; kill < 9; kill++) {
      const first = simulate(startPlan(setup({ candidates: 9 }), []), grid(...XS), { kill });
      // What the rows carry: the results and their rung values, nothing held in memory.
      const rows = first.plan.results.map((r) => ({ ...r }));
      const resumed = simulate(startPlan(setup({ candidates: 9 }), rows), grid(...XS));
      expect(outcome(resumed.plan).sort(), `killed after ${kill} rows`).toEqual(outcome(whole.plan).sort());
    }
  });

  it("forgets the rung values of a run that ended without a row, as a resume would", () => {
    const { plan, id } = inFlightAmong([2.0], ASHA);
    const seen = atRung(plan, id, 20, 1.5).plan;
    expect(rungsOf(seen, id)).toHaveLength(1);
    expect(rungsOf(abandonTask(seen, id), id)).toEqual([]);
  });

  it("takes a result's rung values it has not seen, once", () => {
    const { plan, id } = inFlightAmong([], ASHA);
    const seen = atRung(plan, id, 20, 1.5).plan;
    const done = recordResult(seen, { ...finished(id, { x: 99 }, 1.4, [{ step: 20, value: 1.5 }, { step: 40, value: 1.45 }]) });
    expect(rungsOf(done, id)).toEqual([{ step: 20, value: 1.5 }, { step: 40, value: 1.45 }]);
  });

  it("keeps every slot's decisions on the values recorded so far, whatever the order runs report in", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.infiniteStream(fc.nat()), fc.constantFrom<PruneSetup["rule"]>("asha", "median"), (parallel, picks, rule) => {
        const order = picks[Symbol.iterator]();
        const r = simulate(startPlan(setup({ candidates: 9, prune: { rule, eta: 3, rungs: [20, 40] } }), []), grid(...XS), { parallel, pick: (n) => (order.next().value as number) % n });
        expect(r.plan.results).toHaveLength(9);
        // The baseline and the best config always run out; every pruned one trailed a value recorded before it.
        const byId = new Map(r.plan.results.map((x) => [x.id, x]));
        expect(byId.get("c000")?.pruned).toBeUndefined();
        expect(r.plan.results.find((x) => x.config["x"] === 3)?.value).not.toBeNull();
        expect(r.steps).toBeLessThan(9 * STEPS);
        for (const p of r.plan.results.filter((x) => x.pruned !== undefined)) {
          const there = r.plan.atRungs.filter((a) => a.step === p.pruned?.step && a.id !== p.id);
          expect(there.some((a) => a.value < (p.pruned?.value as number))).toBe(true);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe("rungs", () => {
  it.each([
    [60, [20, 40]],
    [100, [33, 67]],
    [3, [1, 2]],
    [2, [1]],
    [1, []],
  ])("defaults, for %d steps, to a third and two thirds: %j", (steps, want) => {
    expect(defaultRungs(steps)).toEqual(want);
  });

  it.each([
    [[20, 40], 60, undefined],
    [[], 60, /at least one/],
    [[0], 60, /from 1 to 59 .* got 0/],
    [[60], 60, /from 1 to 59 .* got 60/],
    [[40, 20], 60, /increasing steps, got 20 after 40/],
    [[20, 20], 60, /increasing steps, got 20 after 20/],
  ])("%j for %d steps: %s", (rungs, steps, problem) => {
    const p = rungsProblem(rungs, steps);
    if (problem === undefined) expect(p).toBeUndefined();
    else expect(p).toMatch(problem);
  });

  it.each([
    ["a fixed warmup past both rungs", { fixed: { warmup: 600 }, knobs: {} }, { key: "warmup", warmup: 600, knob: false, rungs: [20, 40] }],
    ["a fixed warmup past the first rung only", { fixed: { warmup: 30 }, knobs: {} }, { key: "warmup", warmup: 30, knob: false, rungs: [20] }],
    ["a warmup ending at the first rung (the peak is reached there)", { fixed: { warmup: 20 }, knobs: {} }, undefined],
    ["a short fixed warmup", { fixed: { warmup: 5 }, knobs: {} }, undefined],
    ["a warmup knob, by its longest choice", { fixed: {}, knobs: { warmup: [5, 10, 45] } }, { key: "warmup", warmup: 45, knob: true, rungs: [20, 40] }],
    ["nanoGPT's warmup_iters", { fixed: { warmup_iters: 600 }, knobs: {} }, { key: "warmup_iters", warmup: 600, knob: false, rungs: [20, 40] }],
    ["Hugging Face's warmup_steps as a string knob", { fixed: {}, knobs: { warmup_steps: ["10", "30"] } }, { key: "warmup_steps", warmup: 30, knob: true, rungs: [20] }],
    ["the longest of two names", { fixed: { warmup: 25, lr_warmup_iters: 50 }, knobs: {} }, { key: "lr_warmup_iters", warmup: 50, knob: false, rungs: [20, 40] }],
    ["no warmup", { fixed: { lr: 0.1 }, knobs: { d: [1, 2] } }, undefined],
    ["a warmup that is not a number", { fixed: { warmup: "auto" }, knobs: {} }, undefined],
  ])("inside the warmup, with %s", (_, menu, want) => {
    expect(rungsInWarmup(menu, [20, 40])).toEqual(want);
  });

  it("says the steps and the warmup in words", () => {
    expect(stepsText([20])).toBe("step 20");
    expect(stepsText([20, 40])).toBe("steps 20 and 40");
    expect(stepsText([10, 20, 40])).toBe("steps 10, 20 and 40");
    expect(warmupText({ key: "warmup", warmup: 600, knob: false, rungs: [20] })).toBe("the menu's 600-step warmup (warmup)");
    expect(warmupText({ key: "warmup_steps", warmup: 30, knob: true, rungs: [20] })).toBe("a warmup of up to 30 steps (knob warmup_steps)");
  });
});
