// The sweep's planner on its own: which run comes next, from a trajectory and a proposer's
// answers, with no trainer, no file and no clock. `simulate` plays the shell's part.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { configHash } from "../../src/evidence/hash.ts";
import { abandonTask, nextStep, progressOf, recordResult, shortfallOf, startPlan, takeProposal, type Plan, type PlanSetup, type Result, type Task } from "../../src/lab/planner.ts";
import type { Proposal } from "../../src/lab/proposers.ts";

const BASELINE = { x: 1 };

function setup(extra: Partial<PlanSetup> = {}): PlanSetup {
  return { seed: 0, baseline: BASELINE, candidates: 4, repeats: 0, repeatTop: 0, maxIdleProposals: 5, proposer: "grid", ...extra };
}

/** The stand-in trainer's landscape: x = 3 is best, each seed a little worse. */
const score = (t: Task): number => 2 + Math.abs(Number(t.config["x"]) - 3) * 0.1 + t.seed * 0.001;

const result = (t: Pick<Task, "id" | "config" | "seed">, value: number | null): Result => ({ id: t.id, config: t.config, hash: configHash(t.config), seed: t.seed, value });

/** A grid proposer over these x values, then exhausted. */
const grid =
  (...xs: number[]) =>
  (n: number): Proposal => {
    const x = xs[n - 1];
    return x === undefined ? { kind: "exhausted", reason: `the grid's ${xs.length} configs are all proposed` } : { kind: "config", config: { x } };
  };

interface Run {
  plan: Plan;
  trained: Task[];
  notes: string[];
}

/**
 * The shell's loop without processes: fill the free slots, then let one run end (the one `pick`
 * chooses, the oldest by default), until the plan is done. `check` sees every plan on the way.
 */
function simulate(plan: Plan, answer: (n: number) => Proposal, o: { parallel?: number; value?: (t: Task) => number | null; pick?: (n: number) => number; check?: (p: Plan) => void } = {}): Run {
  const trained: Task[] = [];
  const notes: string[] = [];
  for (let turns = 0; turns < 1000; turns++) {
    while (plan.inFlight.length < (o.parallel ?? 1)) {
      const next = nextStep(plan);
      plan = next.plan;
      o.check?.(plan);
      if (next.step.kind === "propose") {
        const taken = takeProposal(plan, answer(next.step.n));
        plan = taken.plan;
        if (taken.note !== undefined) notes.push(taken.note);
      } else if (next.step.kind === "train") {
        trained.push(next.step.task);
      } else {
        break;
      }
    }
    const t = plan.inFlight[(o.pick ?? (() => 0))(plan.inFlight.length)];
    if (t === undefined) return { plan, trained, notes };
    plan = recordResult(plan, result(t, (o.value ?? score)(t)));
    o.check?.(plan);
  }
  throw new Error("the plan never finished");
}

const summary = (ts: readonly Task[]): string[] => ts.map((t) => `${t.id} x=${String(t.config["x"])} seed ${t.seed} ${t.proposer}${t.baseline ? " baseline" : ""}${t.repeatOf ? ` of ${t.repeatOf}` : ""}`);

describe("the order of a sweep", () => {
  it("trains the baseline, then the candidates as proposed, then the noise repeats of the baseline and the best", () => {
    const r = simulate(startPlan(setup({ repeats: 2, repeatTop: 1 }), []), grid(2, 3, 4, 5, 6));
    expect(summary(r.trained)).toEqual([
      "c000 x=1 seed 0 baseline baseline",
      "c001 x=2 seed 0 grid",
      "c002 x=3 seed 0 grid",
      "c003 x=4 seed 0 grid",
      "c000-s1 x=1 seed 1 repeat baseline of c000",
      "c000-s2 x=1 seed 2 repeat baseline of c000",
      "c002-s1 x=3 seed 1 repeat of c002",
      "c002-s2 x=3 seed 2 repeat of c002",
    ]);
    expect(r.plan.proposals.asked).toBe(3);
    expect(shortfallOf(r.plan)).toBeUndefined();
  });

  it("plans the baseline first, under the lowest free id, when the trajectory lacks it", () => {
    const plan = startPlan(setup(), [result({ id: "c000", config: { x: 2 }, seed: 0 }, 2.1)]);
    const first = nextStep(plan);
    expect(first.step).toEqual({ kind: "train", task: { id: "c001", config: BASELINE, seed: 0, baseline: true, proposer: "baseline" } });
  });

  it("starts the repeats only once every candidate's result is in, for they go to the best", () => {
    let plan = startPlan(setup({ candidates: 2, repeats: 1 }), []);
    const steps: string[] = [];
    const take = (): void => {
      const n = nextStep(plan);
      plan = n.plan;
      if (n.step.kind === "propose") plan = takeProposal(plan, { kind: "config", config: { x: 3 } }).plan;
      steps.push(n.step.kind === "train" ? `train ${n.step.task.id}` : n.step.kind);
    };
    take(); // the baseline
    take(); // proposal 1
    take(); // its run
    take(); // two in flight, budget full
    expect(steps).toEqual(["train c000", "propose", "train c001", "wait"]);
    plan = recordResult(plan, result(plan.inFlight[0] as Task, 2.2));
    take();
    expect(steps.at(-1)).toBe("wait");
    plan = recordResult(plan, result(plan.inFlight[0] as Task, 2.0));
    take();
    take();
    expect(steps.slice(-2)).toEqual(["train c000-s1", "wait"]);
    plan = recordResult(plan, result(plan.inFlight[0] as Task, 2.2));
    take();
    expect(steps.at(-1)).toBe("done");
  });

  it("gives the repeats to the best configs that finished, never to a crash, and always to the baseline", () => {
    const crashX3 = (t: Task): number | null => (t.config["x"] === 3 ? null : score(t));
    const r = simulate(startPlan(setup({ candidates: 5, repeats: 1, repeatTop: 2 }), []), grid(2, 3, 4, 5), { value: crashX3 });
    expect(r.trained.filter((t) => t.proposer === "repeat").map((t) => t.id)).toEqual(["c000-s1", "c001-s1", "c003-s1"]);
  });
});

describe("dedupe by config hash", () => {
  const done = startPlan(setup({ proposer: "command" }), [result({ id: "c000", config: BASELINE, seed: 0 }, 2.2), result({ id: "c001", config: { x: 2, y: "a" }, seed: 0 }, 2.1)]);

  it("answers a proposal already in the trajectory from it, whatever its key order, and queues nothing", () => {
    const taken = takeProposal(done, { kind: "config", config: { y: "a", x: 2 } });
    expect(taken.plan.queue).toEqual([]);
    expect(taken.plan.proposals).toMatchObject({ asked: 1, answered: 1, idle: 1 });
    expect(taken.note).toBe("proposal 1 repeats c001: answered from the trajectory, not trained again");
  });

  it("lets a replaying proposer (grid, random) pass each row once on resume, and counts the second time as idle", () => {
    const grid = { ...done, setup: { ...done.setup, proposer: "grid" } };
    const once = takeProposal(grid, { kind: "config", config: { x: 2, y: "a" } });
    expect(once.note).toBeUndefined();
    expect(once.plan.proposals).toMatchObject({ answered: 1, idle: 0 });
    const twice = takeProposal(once.plan, { kind: "config", config: { x: 2, y: "a" } });
    expect(twice.plan.proposals).toMatchObject({ answered: 2, idle: 1 });
  });

  it("answers a proposal of a config in flight, so two slots never train the same config", () => {
    const sameTwice = (n: number): Proposal => ({ kind: "config", config: { x: n <= 2 ? 2 : n } });
    const r = simulate(startPlan(setup({ candidates: 3 }), []), sameTwice, { parallel: 3 });
    expect(summary(r.trained)).toEqual(["c000 x=1 seed 0 baseline baseline", "c001 x=2 seed 0 grid", "c002 x=3 seed 0 grid"]);
    expect(r.plan.proposals).toMatchObject({ asked: 3, answered: 1 });
  });

  it("never has one config twice in flight or in the trajectory at one seed, nor one id twice, whatever the order runs end in", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 6 }), { maxLength: 30 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: 0, max: 2 }),
        fc.integer({ min: 0, max: 3 }),
        fc.infiniteStream(fc.nat()),
        (xs, parallel, candidates, repeats, repeatTop, picks) => {
          const order = picks[Symbol.iterator]();
          const check = (p: Plan): void => {
            const keys = [...p.results, ...p.inFlight.map((t) => ({ ...t, hash: configHash(t.config) }))].map((r) => `${r.hash}:${r.seed}`);
            expect(new Set(keys).size).toBe(keys.length);
            expect(p.inFlight.length).toBeLessThanOrEqual(parallel);
          };
          const r = simulate(startPlan(setup({ candidates, repeats, repeatTop, proposer: "command", maxIdleProposals: Number.POSITIVE_INFINITY }), []), grid(...xs), { parallel, check, pick: (n) => (order.next().value as number) % n });
          expect(new Set(r.trained.map((t) => t.id)).size).toBe(r.trained.length);
          const firsts = new Set(r.plan.results.filter((x) => x.seed === 0).map((x) => x.hash));
          expect(firsts.size).toBe(Math.min(candidates, new Set([1, ...xs]).size));
          expect(r.plan.inFlight).toEqual([]);
        },
      ),
    );
  });
});

describe("resume", () => {
  // A grid sweep killed with c002 in flight: its row was never written.
  const killed = [result({ id: "c000", config: BASELINE, seed: 0 }, 2.2), result({ id: "c001", config: { x: 2 }, seed: 0 }, 2.1), result({ id: "c003", config: { x: 4 }, seed: 0 }, 2.1)];

  it("trains only what has no row: the run in flight at the kill again, under the lowest free id, then what is new", () => {
    const r = simulate(startPlan(setup({ candidates: 5 }), killed), grid(2, 3, 4, 5, 6));
    expect(summary(r.trained)).toEqual(["c002 x=3 seed 0 grid", "c004 x=5 seed 0 grid"]);
    expect(r.plan.proposals).toMatchObject({ asked: 4, answered: 2 });
    expect(progressOf(r.plan)).toMatchObject({ done: 5, failures: 0, best: { id: "c002", val_bpb: 2 } });
  });

  it("trains nothing when the trajectory is complete", () => {
    const r = simulate(startPlan(setup({ candidates: 3 }), killed), grid(2, 3, 4));
    expect(r.trained).toEqual([]);
    expect(r.plan.proposals.asked).toBe(0);
  });

  it("trains the retried rows first, under their ids, and no second baseline when the retry is the baseline", () => {
    const retry: Task = { id: "c000", config: BASELINE, seed: 0, baseline: true, proposer: "baseline" };
    const r = simulate(startPlan(setup({ candidates: 2 }), [], [retry]), grid(2));
    expect(summary(r.trained)).toEqual(["c000 x=1 seed 0 baseline baseline", "c001 x=2 seed 0 grid"]);
  });

  it("does not repeat a noise repeat already in the trajectory", () => {
    const withRepeat = [...killed, result({ id: "c000-s1", config: BASELINE, seed: 1 }, 2.201)];
    const r = simulate(startPlan(setup({ candidates: 3, repeats: 1, repeatTop: 1 }), withRepeat), grid(2, 4));
    expect(r.trained.map((t) => t.id)).toEqual(["c001-s1"]);
  });

  it("forgets a run that ended without a row (interrupted), so the same config is trained again, under a new id", () => {
    let plan = startPlan(setup({ candidates: 2 }), [result({ id: "c000", config: BASELINE, seed: 0 }, 2.2)]);
    plan = takeProposal(nextStep(plan).plan, { kind: "config", config: { x: 2 } }).plan;
    const run = nextStep(plan);
    expect(run.step).toMatchObject({ kind: "train", task: { id: "c001" } });
    plan = abandonTask(run.plan, "c001");
    const again = nextStep(plan);
    expect(again.step).toEqual({ kind: "propose", n: 2 });
    plan = takeProposal(again.plan, { kind: "config", config: { x: 2 } }).plan;
    expect(nextStep(plan).step).toMatchObject({ kind: "train", task: { id: "c002", config: { x: 2 } } });
  });

  it("refuses a result for a run that is not in flight (the shell's bug)", () => {
    expect(() => recordResult(startPlan(setup(), []), result({ id: "c009", config: BASELINE, seed: 0 }, 2))).toThrow(/c009 is not in flight/);
  });
});

describe("the budget and a proposer that runs dry", () => {
  it("stops asking at the candidate budget, counting the runs in flight", () => {
    let asked = 0;
    const endless = (n: number): Proposal => (asked++, { kind: "config", config: { x: n + 1 } });
    const r = simulate(startPlan(setup({ candidates: 3 }), []), endless, { parallel: 3 });
    expect(r.trained).toHaveLength(3);
    expect(asked).toBe(2);
  });

  it("ends short when the proposer is exhausted, says why, and still runs the repeats", () => {
    const r = simulate(startPlan(setup({ candidates: 4, repeats: 1, repeatTop: 1 }), []), grid(2));
    expect(r.trained.map((t) => t.id)).toEqual(["c000", "c001", "c000-s1", "c001-s1"]);
    expect(shortfallOf(r.plan)).toBe("2 of 4 candidates evaluated: the grid's 1 configs are all proposed");
    expect(r.plan.proposals.done).toEqual({ reason: "the grid's 1 configs are all proposed", exhausted: true });
  });

  it.each([
    ["grid", 6],
    ["command", 5],
  ])("gives up on a %s proposer after maxIdleProposals answers in a row that train nothing", (proposer, asked) => {
    const parrot = (): Proposal => ({ kind: "config", config: BASELINE });
    const r = simulate(startPlan(setup({ candidates: 3, proposer }), []), parrot);
    expect(r.plan.proposals.asked).toBe(asked);
    expect(r.plan.proposals.done).toEqual({ reason: "the proposer made 5 proposals in a row that were repeats or invalid", exhausted: false });
    expect(shortfallOf(r.plan)).toBe("1 of 3 candidates evaluated: the proposer made 5 proposals in a row that were repeats or invalid");
  });

  it("counts invalid answers as idle and reports them; a new config resets the count", () => {
    const answers: Proposal[] = [{ kind: "invalid", reason: "not JSON" }, { kind: "invalid", reason: "x: off the menu" }, { kind: "config", config: { x: 2 } }];
    const r = simulate(startPlan(setup({ candidates: 2, proposer: "command" }), []), (n) => answers[n - 1] as Proposal);
    expect(r.notes).toEqual(["proposal 1 (command) is invalid: not JSON", "proposal 2 (command) is invalid: x: off the menu"]);
    expect(r.plan.proposals).toMatchObject({ asked: 3, invalid: 2, idle: 0 });
    expect(summary(r.trained)).toEqual(["c000 x=1 seed 0 baseline baseline", "c001 x=2 seed 0 command"]);
  });

  it("reports progress against the planned total, failures and the best so far", () => {
    const r = simulate(startPlan(setup({ candidates: 3, repeats: 1, repeatTop: 1 }), []), grid(2, 3), { value: (t) => (t.config["x"] === 2 ? null : score(t)) });
    expect(progressOf(r.plan)).toEqual({ done: 5, total: 3 + 1 * 2, failures: 1, pruned: 0, running: 0, best: { id: "c002", val_bpb: 2 } });
  });
});
