// The Phase 1 methods the lab benchmark compares, each a small adapter over production code: the
// proposer `lab sweep --proposer …` builds, and the early-stopping rule `--prune …` applies.
// Nothing here decides what to train: the planner's atRung decides every stop, tpe-proposer.ts
// every TPE proposal, and priors.ts reads a warm start's prior exactly as `--prior` reads a file.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pruneSetup } from "../../src/cli/commands/lab.ts";
import type { PruneRule } from "../../src/lab/names.ts";
import { atRung, resultOf, rungsOf, type PruneSetup } from "../../src/lab/planner.ts";
import { readPriors } from "../../src/lab/priors.ts";
import { gridProposer, randomProposer, type Proposer } from "../../src/lab/proposers.ts";
import type { LoadedMenu } from "../../src/lab/menu.ts";
import { labRow } from "../../src/lab/sweep-row.ts";
import { tpeProposer as productionTpe } from "../../src/lab/tpe-proposer.ts";
import { EPOCH, type Pruner } from "./replay.ts";

export interface MethodSetup {
  /** The menu with the campaign's seed as its `seed`, as lab sweep would read it. */
  menu: LoadedMenu;
  /** The prior campaign's trajectory rows (as lab sweep wrote them), for a warm-started method. */
  priors: readonly Record<string, unknown>[];
  /** `lab sweep --eta/--rungs` for the early-stopping methods; absent: lab sweep's defaults. */
  prune?: { eta?: number; rungs?: number[] };
}

export interface Method {
  name: string;
  /** What it is, for the table. */
  label: string;
  /** Its production proposer for one campaign (a warm start reads its prior first). */
  proposer(s: MethodSetup): Proposer | Promise<Proposer>;
  /** Its production early-stopping rule, when it prunes. */
  pruner?(s: MethodSetup): Pruner;
  /** Seeded by a prior campaign: a plain random sweep of another menu seed (PRIOR_SEED_OFFSET). */
  warm?: true;
  /** Its own candidate count, when not the bench's --candidates (or --pruned-candidates for a pruning method). */
  candidates?: number;
}

/** The prior campaign of campaign m is the random sweep of menu seed m + this: never one of the 10 measured. */
export const PRIOR_SEED_OFFSET = 1000;

// ─── Adapters over the production code of issue 18 ────────────────────────────────────────────

/**
 * `--prune <rule>` with lab sweep's defaults (η 3, rungs at a third and two thirds of the steps):
 * each logged point goes to the planner's atRung, as sweep.ts's onPoints hands it, and a stop
 * becomes the pruned row and result sweep.ts writes for a trainer it stopped at a rung.
 */
export function productionPruner(rule: PruneRule, menu: LoadedMenu, flags: { eta?: number; rungs?: number[] } = {}): Pruner {
  const setup = pruneSetup({ prune: rule, ...flags }, menu.steps) as PruneSetup;
  return {
    setup,
    report(plan, task, at) {
      const judged = atRung(plan, task.id, at.step, at.val_bpb);
      const d = judged.decision;
      if (d.kind === "go") return { plan: judged.plan };
      // The truth keeps no wall time per point: a replayed row's wall_s means nothing either way.
      const outcome = { status: "stopped" as const, val_bpb: at.val_bpb, steps: at.step, points: 0, wall_s: 0, error: d.reason };
      const row = labRow(task, outcome, EPOCH, { rungs: rungsOf(judged.plan, task.id), pruned: { step: d.step, value: d.value } });
      const result = resultOf({ ...row, ...(row.pruned_at ? { prunedAt: row.pruned_at } : {}) }, row.config_hash, task.seed);
      return { plan: judged.plan, stop: { row: row as unknown as Record<string, unknown>, result } };
    },
  };
}

/** `--prune asha`. */
const ashaPruner = (s: MethodSetup): Pruner => productionPruner("asha", s.menu, s.prune);
/** `--prune median`. */
const medianPruner = (s: MethodSetup): Pruner => productionPruner("median", s.menu, s.prune);

/** `--proposer tpe`: it learns from ProposalContext.results, which the replay hands it as sweep.ts does. */
function tpeProposer(s: MethodSetup): Proposer {
  return productionTpe(s.menu, s.menu.seed, []);
}

/**
 * `--proposer tpe --prior <trajectory>`: the prior campaign's rows written to a trajectory file and
 * read back by readPriors, the reader `--prior` uses (format detection and menu matching included).
 */
async function warmTpeProposer(s: MethodSetup): Promise<Proposer> {
  const dir = mkdtempSync(join(tmpdir(), "wt-lab-prior-"));
  try {
    const file = join(dir, "prior.jsonl");
    writeFileSync(file, s.priors.map((r) => `${JSON.stringify(r)}\n`).join(""));
    const priors = await readPriors(s.menu, [file]);
    if (priors.every((p) => p.rows.length === 0)) throw new Error(`the prior campaign's ${s.priors.length} rows gave the warm start nothing to use`);
    return productionTpe(s.menu, s.menu.seed, priors);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ─────────────────────────────────────────────────────────────────────────────────────────────

export const METHODS: readonly Method[] = [
  { name: "grid", label: "grid (`--proposer grid`)", proposer: (s) => gridProposer(s.menu) },
  { name: "random", label: "random (`--proposer random`, the baseline)", proposer: (s) => randomProposer(s.menu, s.menu.seed) },
  { name: "random+asha", label: "random + ASHA (`--prune asha`)", proposer: (s) => randomProposer(s.menu, s.menu.seed), pruner: ashaPruner },
  { name: "random+median", label: "random + median stopping (`--prune median`)", proposer: (s) => randomProposer(s.menu, s.menu.seed), pruner: medianPruner },
  { name: "tpe", label: "TPE (`--proposer tpe`)", proposer: tpeProposer },
  { name: "tpe+asha", label: "TPE + ASHA", proposer: tpeProposer, pruner: ashaPruner },
  // What `windtunnel demo` runs (DEMO_SWEEP in src/cli/commands/demo.ts): η 2 keeps about a quarter
  // of its 24 candidates to the end, enough full-length results for the sweep gate's 3 finalists.
  { name: "tpe+asha-demo", label: "TPE + ASHA at η 2, 24 candidates (`windtunnel demo`'s sweep)", proposer: tpeProposer, pruner: (s) => productionPruner("asha", s.menu, { ...s.prune, eta: 2 }), candidates: 24 },
  { name: "tpe-warm", label: "TPE warm-started (`--prior`: a random sweep of another seed)", proposer: warmTpeProposer, warm: true },
];
