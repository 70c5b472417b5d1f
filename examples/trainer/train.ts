// The reference trainer: trains the small CPU language model in model.ts under windtunnel's
// trainer protocol, exactly as a user's PyTorch script would (README, "Trainer protocol"):
// the config, step budget, seed and metrics path arrive in environment variables, metrics go
// out as JSON lines, and the last line carries val_bpb.
//
//   WINDTUNNEL_CONFIG='{"lr":0.003}' WINDTUNNEL_STEPS=60 WINDTUNNEL_METRICS=m.jsonl node examples/trainer/train.ts
import { appendFileSync, readFileSync } from "node:fs";
import { CharMLP, type StepLog } from "./model.ts";

/** The knobs this trainer understands, with the values a knob left out of the config takes. */
export const DEFAULTS = {
  lr: 0.003,
  d_hidden: 64,
  n_layer: 1,
  d_embed: 16,
  context: 8,
  batch: 32,
  activation: "tanh" as "tanh" | "relu",
  /** Linear warmup steps, then the schedule. */
  warmup: 0,
  schedule: "constant" as "constant" | "cosine",
  /** Global grad-norm clip (0: none). */
  clip: 1,
};
export type TrainerConfig = typeof DEFAULTS;

/** The generated corpus and the validation batch are the same for every candidate and seed. */
const DATA_SEED = 1;
const LN2 = Math.log(2);

function fail(message: string): never {
  process.stderr.write(`train.ts: ${message}\n`);
  process.exit(2);
}

function readConfig(env: NodeJS.ProcessEnv): TrainerConfig {
  const text = env["WINDTUNNEL_CONFIG"] ?? (env["WINDTUNNEL_CONFIG_FILE"] ? readFileSync(env["WINDTUNNEL_CONFIG_FILE"], "utf8") : "{}");
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    fail(`WINDTUNNEL_CONFIG is not JSON: ${(err as Error).message}`);
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) fail("WINDTUNNEL_CONFIG must be a JSON object");
  const cfg = { ...DEFAULTS };
  for (const [k, v] of Object.entries(raw)) {
    if (!(k in DEFAULTS)) fail(`unknown knob ${JSON.stringify(k)} (this trainer knows ${Object.keys(DEFAULTS).join(", ")})`);
    const want = typeof DEFAULTS[k as keyof TrainerConfig];
    if (typeof v !== want) fail(`knob ${k}: expected a ${want}, got ${JSON.stringify(v)}`);
    (cfg as Record<string, unknown>)[k] = v;
  }
  if (cfg.activation !== "tanh" && cfg.activation !== "relu") fail(`knob activation: expected "tanh" or "relu", got ${JSON.stringify(cfg.activation)}`);
  if (cfg.schedule !== "constant" && cfg.schedule !== "cosine") fail(`knob schedule: expected "constant" or "cosine", got ${JSON.stringify(cfg.schedule)}`);
  for (const k of ["d_hidden", "n_layer", "d_embed", "context", "batch"] as const) {
    if (!Number.isInteger(cfg[k]) || cfg[k] < 1) fail(`knob ${k}: expected a whole number ≥ 1, got ${cfg[k]}`);
  }
  return cfg;
}

/** Learning rate at a 1-based step: linear warmup, then constant or cosine decay to 10%. */
export function schedule(cfg: TrainerConfig, steps: number): (step: number) => number {
  return (step) => {
    if (step <= cfg.warmup) return (cfg.lr * step) / cfg.warmup;
    if (cfg.schedule === "constant") return cfg.lr;
    const t = (step - cfg.warmup) / Math.max(1, steps - cfg.warmup);
    return cfg.lr * (0.1 + 0.45 * (1 + Math.cos(Math.PI * t)));
  };
}

/** A number as Python's json.dumps writes it: NaN and Infinity as bare tokens. */
const num = (x: number): string => (Number.isFinite(x) ? String(Number(x.toPrecision(7))) : Number.isNaN(x) ? "NaN" : x > 0 ? "Infinity" : "-Infinity");

function main(): void {
  const env = process.env;
  const cfg = readConfig(env);
  const steps = Number(env["WINDTUNNEL_STEPS"] ?? 60);
  const seed = Number(env["WINDTUNNEL_SEED"] ?? 0);
  const logEvery = Number(env["WINDTUNNEL_LOG_EVERY"] ?? 10);
  const metrics = env["WINDTUNNEL_METRICS"] ?? "metrics.jsonl";
  if (!Number.isInteger(steps) || steps < 1) fail(`WINDTUNNEL_STEPS: expected a whole number ≥ 1, got ${env["WINDTUNNEL_STEPS"]}`);
  if (!Number.isInteger(seed)) fail(`WINDTUNNEL_SEED: expected a whole number, got ${env["WINDTUNNEL_SEED"]}`);
  if (!Number.isInteger(logEvery) || logEvery < 1) fail(`WINDTUNNEL_LOG_EVERY: expected a whole number ≥ 1, got ${env["WINDTUNNEL_LOG_EVERY"]}`);

  const model = new CharMLP({ context: cfg.context, d_embed: cfg.d_embed, d_hidden: cfg.d_hidden, n_layer: cfg.n_layer, activation: cfg.activation, batch: cfg.batch, seed, dataSeed: DATA_SEED });
  process.stderr.write(`train.ts: ${model.parameterCount} parameters, ${steps} steps, seed ${seed}\n`);
  const t0 = performance.now();
  model.run({ steps, lr: schedule(cfg, steps), clip: cfg.clip, logEvery, valEvery: Math.max(logEvery, 50) }, (l: StepLog) => {
    // The final step always evaluates: its val_bpb is the candidate's result.
    const val = l.step === steps ? (l.val_loss ?? model.validationLoss()) : l.val_loss;
    const parts = [`"step": ${l.step}`, `"loss": ${num(l.loss)}`, `"grad_norm": ${num(l.grad_norm)}`, `"lr": ${num(l.lr)}`, `"tokens": ${l.tokens}`, `"time_s": ${num((performance.now() - t0) / 1000)}`];
    if (val !== undefined) parts.push(`"val_loss": ${num(val)}`, `"val_bpb": ${num(val / LN2)}`);
    // One write per line, flushed by the OS as it goes: windtunnel tails this file while we train.
    appendFileSync(metrics, `{${parts.join(", ")}}\n`);
  });
}

if (import.meta.main) main();
