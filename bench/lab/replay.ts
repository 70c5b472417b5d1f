// One sweep campaign replayed from the ground truth: the production planner decides what to train,
// the method's production proposer answers its proposals, the method's production pruner (if it
// has one) sees each logged point, and "training" a task reads the cached run, so a campaign costs
// milliseconds and is the same on every machine. Runs one slot at a time: the order `lab sweep
// --parallel 1` would train in.
//
// Which cached seed answers a run: the truth has 3 seeds per config, and the planner asks for
// seed m (the menu seed of the campaign) for every first evaluation and m + r for noise repeat r.
// Each (campaign seed, config) draws its own order of the 3 cached seeds; the first evaluation
// gets the first of them, repeat r the (r+1)-th. So 10 campaigns see 10 independent draws of the
// real seed-to-seed noise, and a config's repeats never replay its first run's seed.
import { mkdtempSync, rmSync, writeFileSync, appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { assertNever, InternalError } from "../../src/common/errors.ts";
import { configHash } from "../../src/evidence/hash.ts";
import { baselineConfig, type LoadedMenu } from "../../src/lab/menu.ts";
import { nextStep, recordResult, resultOf, rungsOf, shortfallOf, startPlan, takeProposal, type Plan, type PruneSetup, type Result, type Task } from "../../src/lab/planner.ts";
import type { Proposer } from "../../src/lab/proposers.ts";
import { mulberry32 } from "../../src/lab/random.ts";
import { labRow, type LabRow } from "../../src/lab/sweep-row.ts";
import type { GroundTruth, TruthPoint, TruthRun } from "./ground-truth.ts";

/** What a production early-stopping rule must answer for each point a running candidate logs before its last step. */
export interface Pruner {
  /** The plan's early stopping (`lab sweep --prune …`'s PlanSetup.prune); absent: a stand-in that decides alone. */
  readonly setup?: PruneSetup;
  /**
   * `task` logged `at` (its val_bpb and training loss at that step): go on, or stop it there with
   * the trajectory row and the planner result production records for a stopped run.
   */
  report(plan: Plan, task: Task, at: TruthPoint): { plan: Plan; stop?: { row: Record<string, unknown>; result: Result } };
}

export interface CampaignSetup {
  menu: LoadedMenu;
  /** The campaign's menu seed: the planner's first-evaluation seed and the random proposer's. */
  seed: number;
  candidates: number;
  repeats: number;
  repeatTop: number;
  proposer: Proposer;
  pruner?: Pruner;
}

/** One training run of the campaign, as the harness scores it. */
export interface Evaluation {
  task: Task;
  hash: string;
  /** The truth's seed that answered it. */
  cachedSeed: number;
  /** Trainer steps it cost: the menu's, or the step it was stopped at. */
  steps: number;
  /** Its full-length val_bpb; null when it crashed or was stopped. */
  value: number | null;
  pruned?: { step: number; value: number };
}

export interface Campaign {
  seed: number;
  /** In the order trained. */
  evaluations: Evaluation[];
  /** The rows the campaign wrote, as lab sweep writes them: a later campaign's prior. */
  rows: Record<string, unknown>[];
  /** Why it evaluated fewer configs than asked, when it did. */
  shortfall?: string;
}

/** The cached runs by config hash and seed. */
export class TruthIndex {
  readonly seeds: readonly number[];
  readonly steps: number;
  private readonly runs = new Map<string, Map<number, TruthRun>>();

  constructor(truth: GroundTruth) {
    this.seeds = truth.seeds;
    this.steps = truth.steps;
    for (const c of truth.configs) this.runs.set(c.hash, new Map(c.runs.map((r) => [r.seed, r])));
  }

  run(hash: string, seed: number): TruthRun {
    const r = this.runs.get(hash)?.get(seed);
    if (r === undefined) throw new InternalError(`the ground truth has no run of ${hash.slice(0, 12)} at seed ${seed}: the planner asked for a config outside the menu`);
    return r;
  }
}

/** The cached seed that stands for trainer seed `seed` of config `hash` in campaign `campaignSeed` (see the top of this file). */
export function cachedSeedOf(seeds: readonly number[], campaignSeed: number, hash: string, seed: number): number {
  const rand = mulberry32(Number.parseInt(createHash("sha256").update(`${campaignSeed}/${hash}`).digest("hex").slice(0, 8), 16));
  const order = [...seeds];
  for (let k = order.length - 1; k > 0; k--) {
    const j = Math.floor(rand() * (k + 1));
    [order[k], order[j]] = [order[j] as number, order[k] as number];
  }
  const r = seed - campaignSeed;
  return order[((r % order.length) + order.length) % order.length] as number;
}

/** Rows carry no wall-clock time: a replay is the same on every machine. */
export const EPOCH = new Date(0);

export async function replayCampaign(s: CampaignSetup, truth: TruthIndex): Promise<Campaign> {
  const dir = mkdtempSync(join(tmpdir(), "wt-lab-replay-"));
  // A real trajectory file, appended as lab sweep does: an external or model-based proposer reads it.
  const trajectoryFile = join(dir, "trajectory.jsonl");
  writeFileSync(trajectoryFile, "");
  const evaluations: Evaluation[] = [];
  const rows: Record<string, unknown>[] = [];
  const write = (row: Record<string, unknown>): void => {
    rows.push(row);
    appendFileSync(trajectoryFile, `${JSON.stringify(row)}\n`);
  };
  const prune = s.pruner?.setup;
  let plan = startPlan({ seed: s.seed, baseline: baselineConfig(s.menu), candidates: s.candidates, repeats: s.repeats, repeatTop: s.repeatTop, maxIdleProposals: 50, proposer: s.proposer.name, ...(prune ? { prune } : {}) }, []);
  try {
    for (;;) {
      const decided = nextStep(plan);
      plan = decided.plan;
      const step = decided.step;
      switch (step.kind) {
        case "propose":
          // As src/lab/sweep.ts asks: a model-based proposer (TPE) learns from `results` and skips `pending`.
          plan = takeProposal(plan, await s.proposer.next({ trajectoryFile, n: step.n, results: plan.results, pending: [...plan.inFlight, ...plan.queue].map((t) => t.config) })).plan;
          break;
        case "train":
          plan = train(plan, step.task);
          break;
        case "wait":
          throw new InternalError("replay: the planner waits with one slot and nothing else in flight");
        case "done": {
          const shortfall = shortfallOf(plan);
          return { seed: s.seed, evaluations, rows, ...(shortfall ? { shortfall } : {}) };
        }
        default:
          return assertNever(step);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  function train(p: Plan, task: Task): Plan {
    const hash = configHash(task.config);
    const cachedSeed = cachedSeedOf(truth.seeds, s.seed, hash, task.seed);
    const run = truth.run(hash, cachedSeed);
    if (s.pruner) {
      for (const at of run.curve) {
        if (at.step >= truth.steps) break;
        const said = s.pruner.report(p, task, at);
        p = said.plan;
        if (said.stop) {
          write(said.stop.row);
          evaluations.push({ task, hash, cachedSeed, steps: at.step, value: null, pruned: { step: at.step, value: at.val_bpb } });
          return recordResult(p, said.stop.result);
        }
      }
    }
    // With early stopping on, a finished row carries its values at the rungs, as lab sweep writes it.
    const rungs = prune ? { rungs: rungsOf(p, task.id) } : undefined;
    const row: LabRow = labRow(task, { status: run.val_bpb === null ? "crash" : "ok", val_bpb: run.val_bpb, steps: run.curve.at(-1)?.step ?? 0, points: run.curve.length, wall_s: run.wall_s, ...(run.val_bpb === null ? { error: "non-finite or missing val_bpb in the ground truth" } : {}) }, EPOCH, rungs);
    write(row as unknown as Record<string, unknown>);
    evaluations.push({ task, hash, cachedSeed, steps: truth.steps, value: run.val_bpb });
    return recordResult(p, resultOf(row, row.config_hash, s.seed));
  }
}
