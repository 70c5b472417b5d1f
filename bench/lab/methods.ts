// The Phase 1 methods the lab benchmark compares, each a small adapter over production code: the
// proposer `lab sweep --proposer …` builds, and the early-stopping rule `--prune …` would apply.
// Nothing here decides what to train; a method that is not in src/ yet throws NotBuiltYet from its
// slot and the benchmark reports it as such.
import { gridProposer, randomProposer, type Proposer } from "../../src/lab/proposers.ts";
import type { LoadedMenu } from "../../src/lab/menu.ts";
import type { Pruner } from "./replay.ts";

export interface MethodSetup {
  /** The menu with the campaign's seed as its `seed`, as lab sweep would read it. */
  menu: LoadedMenu;
  /** The prior campaign's trajectory rows (as lab sweep wrote them), for a warm-started method. */
  priors: readonly Record<string, unknown>[];
}

export interface Method {
  name: string;
  /** What it is, for the table. */
  label: string;
  /** Its production proposer for one campaign. */
  proposer(s: MethodSetup): Proposer;
  /** Its production early-stopping rule, when it prunes. */
  pruner?(s: MethodSetup): Pruner;
  /** Seeded by a prior campaign: a plain random sweep of another menu seed (PRIOR_SEED_OFFSET). */
  warm?: true;
}

/** A method whose production code is not written yet (issue 18, Build items 1–3). */
export class NotBuiltYet extends Error {
  constructor(what: string) {
    super(`not built yet: ${what}`);
    this.name = "NotBuiltYet";
  }
}

/** The prior campaign of campaign m is the random sweep of menu seed m + this: never one of the 10 measured. */
export const PRIOR_SEED_OFFSET = 1000;

// ─── Adapter slots for the code of branches h18a (ASHA) and h18b (TPE) ────────────────────────
// Replace each body with a call to the production function; keep the signature.

/** `--prune asha`: src/lab/planner.ts's ASHA decision (branch h18a) for each point a running candidate logs. */
function ashaPruner(_s: MethodSetup): Pruner {
  throw new NotBuiltYet("ASHA early stopping (src/lab/planner.ts, branch h18a)");
}

/** `--proposer tpe`: src/lab/tpe.ts (branch h18b); it reads the trajectory so far from ProposalContext.trajectoryFile or is handed it here. */
function tpeProposer(_s: MethodSetup): Proposer {
  throw new NotBuiltYet("the TPE proposer (src/lab/tpe.ts, branch h18b)");
}

/** `--proposer tpe --prior <trajectory>`: the same proposer seeded by s.priors (branch h18b). */
function warmTpeProposer(_s: MethodSetup): Proposer {
  throw new NotBuiltYet("TPE warm starts from --prior (src/lab/tpe.ts, branch h18b)");
}

// ─────────────────────────────────────────────────────────────────────────────────────────────

export const METHODS: readonly Method[] = [
  { name: "grid", label: "grid (`--proposer grid`)", proposer: (s) => gridProposer(s.menu) },
  { name: "random", label: "random (`--proposer random`, the baseline)", proposer: (s) => randomProposer(s.menu, s.menu.seed) },
  { name: "random+asha", label: "random + ASHA (`--prune asha`)", proposer: (s) => randomProposer(s.menu, s.menu.seed), pruner: ashaPruner },
  { name: "tpe", label: "TPE (`--proposer tpe`)", proposer: tpeProposer },
  { name: "tpe+asha", label: "TPE + ASHA", proposer: tpeProposer, pruner: ashaPruner },
  { name: "tpe-warm", label: "TPE warm-started (`--prior`: a random sweep of another seed)", proposer: warmTpeProposer, warm: true },
];
