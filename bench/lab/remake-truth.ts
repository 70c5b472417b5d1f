// Makes the lab benchmark's ground truth: the reference trainer on every config of the menu, each
// seed, one process at a time (the machine's other core is someone else's), with the environment
// `lab sweep` gives a candidate plus WINDTUNNEL_EVAL_STEPS at every evalEvery-th step (the same
// variable the sweep's early stopping sets for its rungs), so each run's val_bpb is known at every
// step a pruner could stop it at.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join, relative } from "node:path";
import { configHash } from "../../src/evidence/hash.ts";
import { parseJsonLine } from "../../src/evidence/json.ts";
import type { LoadedMenu } from "../../src/lab/menu.ts";
import { menuConfigs, menuHash, TRUTH_FORMAT, type GroundTruth, type TruthPoint, type TruthRun } from "./ground-truth.ts";
import { trainerSourceHash } from "./trainer-source.ts";

export interface RemakeOptions {
  root: string;
  trainer: string;
  menu: LoadedMenu;
  seeds: readonly number[];
  evalEvery: number;
  command: string;
  log: (line: string) => void;
}

export function remakeTruth(o: RemakeOptions): GroundTruth {
  const dir = mkdtempSync(join(tmpdir(), "wt-lab-truth-"));
  const t0 = performance.now();
  const source = trainerSourceHash(o.trainer, o.root);
  try {
    const configs = menuConfigs(o.menu).map((config, i) => {
      const runs = o.seeds.map((seed): TruthRun => {
        const metrics = join(dir, `c${i}-s${seed}.jsonl`);
        const start = performance.now();
        const r = spawnSync(process.execPath, [join(o.root, o.trainer)], {
          env: { ...process.env, WINDTUNNEL_CONFIG: JSON.stringify(config), WINDTUNNEL_STEPS: String(o.menu.steps), WINDTUNNEL_SEED: String(seed), WINDTUNNEL_LOG_EVERY: String(o.evalEvery), WINDTUNNEL_EVAL_STEPS: Array.from({ length: Math.floor(o.menu.steps / o.evalEvery) }, (_, k) => (k + 1) * o.evalEvery).join(","), WINDTUNNEL_METRICS: metrics, WINDTUNNEL_PHASE: "sweep", WINDTUNNEL_CANDIDATE: `c${i}` },
          encoding: "utf8",
        });
        const wall_s = Number(((performance.now() - start) / 1000).toFixed(3));
        if (r.status !== 0) throw new Error(`the reference trainer failed on ${JSON.stringify(config)} seed ${seed} (exit ${r.status ?? r.signal}): ${r.stderr.trim().split("\n").slice(-3).join(" | ")}`);
        const curve = readFileSync(metrics, "utf8")
          .trim()
          .split("\n")
          .map((l, k) => {
            const j = parseJsonLine(l);
            if (!j.ok) throw new Error(`${metrics}:${k + 1}: ${j.field}: ${j.message}`);
            return j.value as { step: number; loss: number; val_bpb?: number };
          })
          .filter((p) => p.val_bpb !== undefined)
          .map((p): TruthPoint => ({ step: p.step, val_bpb: p.val_bpb as number, loss: p.loss }));
        const last = curve.at(-1);
        return { seed, val_bpb: last !== undefined && last.step === o.menu.steps && Number.isFinite(last.val_bpb) ? last.val_bpb : null, curve: curve.filter((p) => Number.isFinite(p.val_bpb)), wall_s };
      });
      o.log(`${i + 1}/${menuConfigs(o.menu).length} ${JSON.stringify(config)}: ${runs.map((r) => r.val_bpb ?? "—").join(", ")}`);
      return { hash: configHash(config), config, runs };
    });
    return {
      format: TRUTH_FORMAT,
      trainer: { entry: o.trainer, ...source },
      menu: { file: relative(o.root, o.menu.file), hash: menuHash(o.menu) },
      steps: o.menu.steps,
      evalEvery: o.evalEvery,
      seeds: [...o.seeds],
      made: { at: new Date().toISOString(), node: process.version, cpus: availableParallelism(), wall_s: Number(((performance.now() - t0) / 1000).toFixed(1)), command: o.command },
      configs,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
