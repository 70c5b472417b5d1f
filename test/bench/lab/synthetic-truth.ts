// A ground truth made up for the harness's tests: every config of a 30-step menu, cached seeds 0–2,
// each curve falling by 0.1 a rung (steps 10, 20, 30) to the final val_bpb `final` gives.
import { configHash } from "../../../src/evidence/hash.ts";
import type { Config, LoadedMenu } from "../../../src/lab/menu.ts";
import { menuConfigs, menuHash, TRUTH_FORMAT, type GroundTruth } from "../../../bench/lab/ground-truth.ts";

export const SEEDS = [0, 1, 2];

export function syntheticTruth(menu: LoadedMenu, final: (config: Config, seed: number) => number): GroundTruth {
  return {
    format: TRUTH_FORMAT,
    trainer: { entry: "train.ts", hash: "t", files: [] },
    menu: { file: menu.file, hash: menuHash(menu) },
    steps: 30,
    evalEvery: 10,
    seeds: SEEDS,
    made: { at: "", node: "", cpus: 1, wall_s: 0, command: "" },
    configs: menuConfigs(menu).map((config) => ({
      hash: configHash(config),
      config,
      runs: SEEDS.map((seed) => ({ seed, val_bpb: final(config, seed), curve: [10, 20, 30].map((step) => ({ step, val_bpb: final(config, seed) + (30 - step) / 100, loss: 3 })), wall_s: 0.1 })),
    })),
  };
}
