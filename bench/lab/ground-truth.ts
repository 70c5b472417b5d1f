// The lab benchmark's ground truth (issue 18): every config of examples/menu.yaml trained at full
// length under 3 seeds by the reference trainer, its val_bpb every 10 steps, so that a sweep
// method, early stopping included, is replayed from it instead of training again. It is only
// evidence while it is of this trainer and this menu: truthProblems says when it is not.
import { canonicalJson, configHash } from "../../src/evidence/hash.ts";
import { gridConfig, menuSize, type Config, type Menu } from "../../src/lab/menu.ts";
import { createHash } from "node:crypto";

export const TRUTH_FORMAT = "windtunnel-lab-ground-truth/1";

/** One logged point of a run: what a pruner would see at that step. */
export interface TruthPoint {
  step: number;
  val_bpb: number;
  loss: number;
}

export interface TruthRun {
  seed: number;
  /** The final val_bpb; null when the run crashed or ended non-finite (JSON has no NaN). */
  val_bpb: number | null;
  /** val_bpb and the training loss at every evaluation, the last step included. */
  curve: TruthPoint[];
  wall_s: number;
}

export interface TruthConfig {
  /** configHash of the config, as the trajectory and the planner name it. */
  hash: string;
  /** The knobs and the fixed keys, as the trainer received them. */
  config: Config;
  runs: TruthRun[];
}

export interface GroundTruth {
  format: typeof TRUTH_FORMAT;
  /** sha256 over the trainer's source files (trainerSourceHash), and those files. */
  trainer: { entry: string; hash: string; files: string[] };
  /** sha256 of the menu's canonical JSON (comments and layout do not count). */
  menu: { file: string; hash: string };
  steps: number;
  evalEvery: number;
  seeds: number[];
  made: { at: string; node: string; cpus: number; wall_s: number; command: string };
  /** In grid order (gridConfig's index). */
  configs: TruthConfig[];
}

/** What the cache must have been made from to be this benchmark's ground truth. */
export interface TruthExpectation {
  trainerHash: string;
  menu: Menu;
  evalEvery: number;
  seeds: readonly number[];
}

/** The menu's identity: what it says, not how it is written. */
export function menuHash(menu: Menu): string {
  const { steps, seed, knobs, baseline, fixed, target } = menu;
  return createHash("sha256").update(canonicalJson({ steps, seed, knobs, baseline, fixed, target })).digest("hex");
}

/** Every config of the menu, in grid order. */
export function menuConfigs(menu: Menu): Config[] {
  return Array.from({ length: menuSize(menu) }, (_, i) => gridConfig(menu, i));
}

/** The seeds the truth trains: the menu's and its noise repeats' (seed + 1, seed + 2), as lab sweep would. */
export function truthSeeds(menu: Menu, count = 3): number[] {
  return Array.from({ length: count }, (_, r) => menu.seed + r);
}

/** Why `truth` is not the ground truth `want` describes; empty when it is. */
export function truthProblems(truth: GroundTruth, want: TruthExpectation, remake: string): string[] {
  const problems: string[] = [];
  const stale = (what: string): void => void problems.push(`${what}: the cache is stale, remake it with ${remake}`);
  if (truth.format !== TRUTH_FORMAT) return [`format: expected ${TRUTH_FORMAT}, got ${JSON.stringify(truth.format)}`];
  if (truth.trainer.hash !== want.trainerHash) stale(`trainer: its source (${truth.trainer.files.join(", ")}) hashed ${short(truth.trainer.hash)} when the cache was made, ${short(want.trainerHash)} now`);
  if (truth.menu.hash !== menuHash(want.menu)) stale(`menu: ${truth.menu.file} hashed ${short(truth.menu.hash)} when the cache was made, ${short(menuHash(want.menu))} now`);
  if (truth.steps !== want.menu.steps) stale(`steps: ${truth.steps} in the cache, the menu's ${want.menu.steps}`);
  if (truth.evalEvery !== want.evalEvery) stale(`evalEvery: ${truth.evalEvery} in the cache, ${want.evalEvery} wanted`);
  if (canonicalJson(truth.seeds) !== canonicalJson(want.seeds)) stale(`seeds: ${truth.seeds.join(", ")} in the cache, ${want.seeds.join(", ")} wanted`);
  const expected = menuConfigs(want.menu);
  const have = new Map(truth.configs.map((c) => [c.hash, c]));
  const missing = expected.filter((c) => !have.has(configHash(c)));
  if (missing.length > 0) stale(`configs: ${missing.length} of the menu's ${expected.length} are not in the cache (e.g. ${JSON.stringify(missing[0])})`);
  if (truth.configs.length !== expected.length) stale(`configs: ${truth.configs.length} in the cache, the menu has ${expected.length}`);
  // A stale cache needs a remake, not a list of every run it no longer fits.
  if (problems.length > 0) return problems;
  const evals = Array.from({ length: Math.floor(want.menu.steps / want.evalEvery) }, (_, i) => (i + 1) * want.evalEvery);
  if (evals.at(-1) !== want.menu.steps) evals.push(want.menu.steps);
  for (const [i, c] of truth.configs.entries()) {
    const seeds = c.runs.map((r) => r.seed);
    if (canonicalJson(seeds) !== canonicalJson(want.seeds)) problems.push(`configs[${i}].runs: seeds ${seeds.join(", ")}, expected ${want.seeds.join(", ")}`);
    for (const [j, r] of c.runs.entries()) {
      if (r.val_bpb === null) continue;
      const steps = r.curve.map((p) => p.step);
      if (canonicalJson(steps) !== canonicalJson(evals)) problems.push(`configs[${i}].runs[${j}].curve: steps ${steps.join(", ")}, expected ${evals.join(", ")}`);
    }
  }
  const SHOWN = 5;
  return problems.length <= SHOWN ? problems : [...problems.slice(0, SHOWN), `… and ${problems.length - SHOWN} more: remake the cache with ${remake}`];
}

const short = (h: string): string => h.slice(0, 12);

/**
 * The cache as committed: the header readable, one config a line, so that a remake's diff shows
 * which configs moved.
 */
export function serializeTruth(truth: GroundTruth): string {
  const { configs, ...head } = truth;
  const header = JSON.stringify(head, null, 2).replace(/\n}$/, "");
  return `${header},\n  "configs": [\n${configs.map((c) => `    ${JSON.stringify(c)}`).join(",\n")}\n  ]\n}\n`;
}
