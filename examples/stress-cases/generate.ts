// Phase 2 stress curves from really training the small model in examples/trainer: one healthy
// run and four that go wrong the ways pretraining runs go wrong. Each records where its trouble
// starts, so tests can check that the right gate fails close to that step.
//
//   node examples/stress-cases/generate.ts [out-dir]      (default: test/fixtures/stress)
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CharMLP, type StepLog, type TrainConfig } from "../trainer/model.ts";

export interface StressCase {
  name: string;
  description: string;
  /** The gate that must fail (null: every gate must pass). */
  gate: "stress.divergence" | "stress.finite" | "stress.flatline" | null;
  train: Omit<TrainConfig, "steps" | "logEvery" | "valEvery">;
  /** Where the trouble starts, from the run itself. */
  trouble: (logs: readonly StepLog[]) => number | null;
}

/** A ~40K-parameter proxy: big enough to keep learning through step 1,000 like a real Phase 2 run. */
export const MODEL = { context: 8, d_embed: 16, d_hidden: 128, batch: 64, seed: 1 } as const;
const STEPS = 1000;
const WARMUP = 50;
const PEAK = 3e-3;
/** Warmup then cosine decay to 10% of the peak: the healthy schedule. */
const cosine = (step: number): number => (step <= WARMUP ? (PEAK * step) / WARMUP : PEAK * (0.1 + 0.45 * (1 + Math.cos((Math.PI * (step - WARMUP)) / (STEPS - WARMUP)))));
const JUMP_AT = 500;

export const CASES: readonly StressCase[] = [
  {
    name: "healthy",
    description: "warmup to 3e-3, cosine decay, grad clip 1.0: the reference run",
    gate: null,
    train: { lr: cosine, clip: 1 },
    trouble: () => null,
  },
  {
    name: "lr-too-high",
    description: "learning rate ramped to 0.1 over the run: fine at first, diverging once it passes ~0.02",
    gate: "stress.divergence",
    train: { lr: (s) => (0.1 * s) / STEPS, clip: 1 },
    // The loss stops improving where it turns around: its lowest logged value.
    trouble: (logs) => logs.reduce((best, l) => (l.loss < best.loss ? l : best)).step,
  },
  {
    name: "lr-jump",
    description: `the healthy schedule until step ${JUMP_AT}, then 30× the learning rate (a mistyped resume)`,
    gate: "stress.divergence",
    train: { lr: (s) => cosine(s) * (s > JUMP_AT ? 30 : 1), clip: 1 },
    trouble: () => JUMP_AT,
  },
  {
    name: "fp16-overflow",
    description: "fp16 gradients under a loss scale doubling every 100 steps with the overflow check bypassed",
    gate: "stress.finite",
    train: { lr: cosine, clip: 1, fp16LossScale: { initial: 8192, growthInterval: 100 } },
    trouble: (logs) => logs.find((l) => l.overflowStep !== undefined)?.overflowStep ?? null,
  },
  {
    name: "lr-too-small",
    description: "learning rate 1e-6: the model never learns",
    gate: "stress.flatline",
    train: { lr: () => 1e-6, clip: 1 },
    trouble: () => 0,
  },
];

/** A metrics JSONL line as Python's json.dumps writes it (NaN and Infinity as bare tokens). */
function line(l: StepLog): string {
  const num = (x: number, d: number): string => (Number.isFinite(x) ? String(Number(x.toFixed(d))) : Number.isNaN(x) ? "NaN" : x > 0 ? "Infinity" : "-Infinity");
  const parts = [`"step": ${l.step}`, `"loss": ${num(l.loss, 5)}`, `"grad_norm": ${num(l.grad_norm, 5)}`, `"lr": ${num(l.lr, 8)}`, `"tokens": ${l.tokens}`];
  if (l.val_loss !== undefined) parts.push(`"val_loss": ${num(l.val_loss, 5)}`);
  return `{${parts.join(", ")}}`;
}

export interface Generated {
  name: string;
  file: string;
  gate: StressCase["gate"];
  trouble_step: number | null;
  description: string;
}

export function generateCase(c: StressCase): { jsonl: string; trouble: number | null } {
  const model = new CharMLP(MODEL);
  const logs: StepLog[] = [];
  model.run({ ...c.train, steps: STEPS, logEvery: 10, valEvery: 50 }, (l) => logs.push(l));
  return { jsonl: `${logs.map(line).join("\n")}\n`, trouble: c.trouble(logs) };
}

export function writeCases(outDir: string, cases: readonly StressCase[] = CASES): Generated[] {
  mkdirSync(outDir, { recursive: true });
  const manifest: Generated[] = [];
  for (const c of cases) {
    const { jsonl, trouble } = generateCase(c);
    const file = `${c.name}.jsonl`;
    writeFileSync(join(outDir, file), jsonl);
    manifest.push({ name: c.name, file, gate: c.gate, trouble_step: trouble, description: c.description });
  }
  writeFileSync(join(outDir, "cases.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = process.argv[2] ?? fileURLToPath(new URL("../../test/fixtures/stress/", import.meta.url));
  const t0 = performance.now();
  for (const g of writeCases(out)) console.log(`${g.file}: ${g.gate ?? "healthy"}, trouble at ${g.trouble_step ?? "—"}`);
  console.log(`${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
