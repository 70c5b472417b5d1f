// Cloud-side curves from really training the small model in examples/trainer, for the sanity and
// verify gates:
//  - the sanity day: the same run at two precisions (fp64, and bf16 activations), in two equivalent
//    layouts (one batch, or two shards whose gradients are summed like an all-reduce), and with
//    another seed (not an equivalent run). The sanity gates must pass the equivalent pairs and
//    fail the other seed.
//  - the first hours of a cloud run: a steady run (constant learning rate after warmup) whose
//    early part makes the forecast and whose later part must stay in its band, and the same run
//    with the learning rate multiplied by 30 at step 900 (a mistyped resume), which must leave it
//    right there.
//
//   node examples/cloud-cases/generate.ts [out-dir]      (default: test/fixtures/cloud)
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CharMLP, type ModelConfig, type StepLog, type TrainConfig } from "../trainer/model.ts";
import { MODEL } from "../stress-cases/generate.ts";

const num = (x: number): string => (Number.isFinite(x) ? String(Number(x.toPrecision(7))) : Number.isNaN(x) ? "NaN" : x > 0 ? "Infinity" : "-Infinity");

function train(model: Partial<ModelConfig>, tc: Omit<TrainConfig, "valEvery">, tag: string): string {
  const m = new CharMLP({ ...MODEL, dataSeed: 1, ...model });
  const lines: string[] = [];
  m.run({ ...tc, valEvery: 1e9 }, (l: StepLog) => {
    lines.push(`{"step": ${l.step}, "loss": ${num(l.loss)}, "grad_norm": ${num(l.grad_norm)}, "lr": ${num(l.lr)}, "tokens": ${l.tokens}, "tag": "${tag}"}`);
  });
  return `${lines.join("\n")}\n`;
}

export const SANITY_STEPS = 400;
const cosine = (steps: number, warmup: number, peak: number) => (s: number): number => (s <= warmup ? (peak * s) / warmup : peak * (0.1 + 0.45 * (1 + Math.cos((Math.PI * (s - warmup)) / (steps - warmup)))));
const sanityTrain = { steps: SANITY_STEPS, lr: cosine(SANITY_STEPS, 40, 3e-3), clip: 1, logEvery: 5 };

export const SANITY_RUNS: readonly { tag: string; description: string; model: Partial<ModelConfig> }[] = [
  { tag: "fp64", description: "the reference: fp64 arithmetic, one batch", model: {} },
  { tag: "bf16", description: "the same run with every activation and logit rounded to bfloat16", model: { precision: "bf16" } },
  { tag: "shards2", description: "the same run with each batch split in two shards whose gradients are summed", model: { shards: 2 } },
  { tag: "seed2", description: "another initialisation and batch order: not an equivalent run", model: { seed: 2 } },
];

export const VERIFY = { steps: 1500, warmup: 50, peak: 2e-3, batch: 256, logEvery: 25, jumpAt: 900, jumpFactor: 30, fitToStep: 600 } as const;
const steady = (jump: boolean) => (s: number): number => (s <= VERIFY.warmup ? (VERIFY.peak * s) / VERIFY.warmup : VERIFY.peak) * (jump && s > VERIFY.jumpAt ? VERIFY.jumpFactor : 1);

export const VERIFY_RUNS: readonly { name: string; description: string; jump: boolean }[] = [
  { name: "steady", description: `constant learning rate ${VERIFY.peak} after ${VERIFY.warmup} warmup steps, batch ${VERIFY.batch}, ${VERIFY.steps} steps`, jump: false },
  { name: "lr-jump", description: `the same run with the learning rate × ${VERIFY.jumpFactor} after step ${VERIFY.jumpAt}`, jump: true },
];

/** Train every case into `out`; the files written, cases.json last. */
export function writeCloudCases(out: string): string[] {
  mkdirSync(out, { recursive: true });
  const files: string[] = [];
  for (const r of SANITY_RUNS) {
    files.push(`sanity-${r.tag}.jsonl`);
    writeFileSync(join(out, `sanity-${r.tag}.jsonl`), train(r.model, sanityTrain, r.tag));
  }
  for (const r of VERIFY_RUNS) {
    files.push(`verify-${r.name}.jsonl`);
    writeFileSync(join(out, `verify-${r.name}.jsonl`), train({ batch: VERIFY.batch }, { steps: VERIFY.steps, lr: steady(r.jump), clip: 1, logEvery: VERIFY.logEvery }, "train"));
  }
  files.push("cases.json");
  writeFileSync(join(out, "cases.json"), `${JSON.stringify({ sanity: SANITY_RUNS.map((r) => ({ tag: r.tag, file: `sanity-${r.tag}.jsonl`, description: r.description })), verify: { ...VERIFY, runs: VERIFY_RUNS.map((r) => ({ file: `verify-${r.name}.jsonl`, description: r.description })) } }, null, 2)}\n`);
  return files;
}

if (import.meta.main) {
  const out = process.argv[2] ?? fileURLToPath(new URL("../../test/fixtures/cloud", import.meta.url));
  writeCloudCases(out);
  console.log(`wrote ${SANITY_RUNS.length} sanity-day runs and ${VERIFY_RUNS.length} cloud runs to ${out}`);
}
