// The reference trainer: trains the small CPU language model in model.ts under windtunnel's
// trainer protocol, exactly as a user's PyTorch script would (README, "Trainer protocol"):
// the config, step budget, seed and metrics path arrive in environment variables, metrics go
// out as JSON lines, and the last line carries val_bpb. With WINDTUNNEL_CHECKPOINTS it checkpoints
// every WINDTUNNEL_CHECKPOINT_EVERY steps and on SIGUSR1 (the node's spot notice), then stops; with
// WINDTUNNEL_RESUME (the marker's text) it continues from the checkpoint the marker names. The
// steps in WINDTUNNEL_EVAL_STEPS (a sweep's early-stopping rungs) log val_bpb too.
//
//   WINDTUNNEL_CONFIG='{"lr":0.003}' WINDTUNNEL_STEPS=60 WINDTUNNEL_METRICS=m.jsonl node examples/trainer/train.ts
import { appendFileSync, readFileSync } from "node:fs";
import { checkpointMarker, parseCheckpointMarker } from "../../src/campaign/checkpoint-marker.ts";
import { checkpointStore, type CheckpointStore } from "./checkpoint.ts";
import { CharMLP, type StepLog, type TrainConfig } from "./model.ts";
import { checkpointFolder, decodeSavedRun, encodeSavedRun, FILES, type SavedRun } from "./saved-run.ts";

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

/**
 * Steps between checkpoints when WINDTUNNEL_CHECKPOINTS is set (0: only on SIGUSR1). An upload to
 * S3 costs about as long as 100 of this trainer's steps, so a 1,000-step stress run saves twice;
 * a spot notice's SIGUSR1 saves at once, whatever this is.
 */
export const CHECKPOINT_EVERY = 500;

/** Steps between validation evaluations (at least the logging interval); the last step and WINDTUNNEL_EVAL_STEPS always evaluate. */
export const EVAL_EVERY = 50;

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

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** The checkpoint WINDTUNNEL_RESUME names, restored into the model; any mismatch with this run ends it (exit 2). */
function resume(text: string, store: CheckpointStore | undefined, model: CharMLP, run: { config: TrainerConfig; seed: number; steps: number }): SavedRun {
  if (store === undefined) fail("WINDTUNNEL_RESUME is set but WINDTUNNEL_CHECKPOINTS is not: there is no folder to read its checkpoint from");
  const parsed = parseCheckpointMarker(text);
  if ("problems" in parsed) fail(`WINDTUNNEL_RESUME is not a checkpoint marker: ${parsed.problems.join("; ")}`);
  const where = `${store.root}${parsed.marker.path}`;
  let files: Record<string, Uint8Array>;
  try {
    files = store.get(parsed.marker.path, FILES);
  } catch (err) {
    fail(`could not read the checkpoint ${where}: ${message(err)}`);
  }
  const saved = decodeSavedRun(files);
  if (typeof saved === "string") fail(`checkpoint ${where}: ${saved}`);
  const mismatch = saved.run.step !== parsed.marker.step ? `it holds step ${saved.run.step}, the marker says ${parsed.marker.step}`
    : saved.seed !== run.seed ? `it is of seed ${saved.seed}, this run's is ${run.seed}`
    : JSON.stringify(saved.config) !== JSON.stringify(run.config) ? `it is of the config ${JSON.stringify(saved.config)}, this run's is ${JSON.stringify(run.config)}`
    : model.importState(saved.model);
  if (mismatch !== undefined) fail(`checkpoint ${where}: ${mismatch}`);
  if (saved.steps !== run.steps) process.stderr.write(`train.ts: the checkpoint is of a ${saved.steps}-step run; this one trains to step ${run.steps}\n`);
  return saved;
}

async function main(): Promise<void> {
  const env = process.env;
  const cfg = readConfig(env);
  const steps = Number(env["WINDTUNNEL_STEPS"] ?? 60);
  const seed = Number(env["WINDTUNNEL_SEED"] ?? 0);
  const logEvery = Number(env["WINDTUNNEL_LOG_EVERY"] ?? 10);
  // Validation is off the training path (a fixed batch, its own random stream), so evaluating
  // more often changes no training step; npm run bench:lab asks for every 10 steps to replay
  // early stopping at any rung from one full-length run (issue 18).
  const every = Number(env["WINDTUNNEL_CHECKPOINT_EVERY"] ?? CHECKPOINT_EVERY);
  const metrics = env["WINDTUNNEL_METRICS"] ?? "metrics.jsonl";
  if (!Number.isInteger(steps) || steps < 1) fail(`WINDTUNNEL_STEPS: expected a whole number ≥ 1, got ${env["WINDTUNNEL_STEPS"]}`);
  if (!Number.isInteger(seed)) fail(`WINDTUNNEL_SEED: expected a whole number, got ${env["WINDTUNNEL_SEED"]}`);
  if (!Number.isInteger(logEvery) || logEvery < 1) fail(`WINDTUNNEL_LOG_EVERY: expected a whole number ≥ 1, got ${env["WINDTUNNEL_LOG_EVERY"]}`);
  if (!Number.isInteger(every) || every < 0) fail(`WINDTUNNEL_CHECKPOINT_EVERY: expected a whole number ≥ 0 (0: only on SIGUSR1), got ${env["WINDTUNNEL_CHECKPOINT_EVERY"]}`);
  const store = env["WINDTUNNEL_CHECKPOINTS"] ? checkpointStore(env["WINDTUNNEL_CHECKPOINTS"], env) : undefined;
  const evalAt = evalSteps(env["WINDTUNNEL_EVAL_STEPS"]);

  const model = new CharMLP({ context: cfg.context, d_embed: cfg.d_embed, d_hidden: cfg.d_hidden, n_layer: cfg.n_layer, activation: cfg.activation, batch: cfg.batch, seed, dataSeed: DATA_SEED });
  const tc: TrainConfig = { steps, lr: schedule(cfg, steps), clip: cfg.clip, logEvery, valEvery: Math.max(logEvery, EVAL_EVERY), ...(evalAt.size > 0 ? { evalAt } : {}) };
  const resumed = env["WINDTUNNEL_RESUME"] ? resume(env["WINDTUNNEL_RESUME"], store, model, { config: cfg, seed, steps }) : undefined;
  const run = resumed?.run ?? CharMLP.startState(tc);
  process.stderr.write(`train.ts: ${model.parameterCount} parameters, ${steps} steps, seed ${seed}${resumed ? `, resumed after step ${run.step}` : ""}\n`);
  const t0 = performance.now() - (resumed?.elapsedS ?? 0) * 1000;
  const elapsed = (): number => (performance.now() - t0) / 1000;

  // The checkpoint's files first, the marker naming them last.
  let saved = run.step;
  const save = (s: CheckpointStore): void => {
    const folder = checkpointFolder(run.step);
    s.put(folder, encodeSavedRun({ config: cfg, seed, steps, run, model: model.exportState(), elapsedS: elapsed() }));
    s.putMarker(`${JSON.stringify(checkpointMarker(run.step, folder, new Date()))}\n`);
    saved = run.step;
  };
  // A signal is seen between two steps: the loop yields to the event loop after each.
  let signalled = false;
  process.on("SIGUSR1", () => void (signalled = true));

  while (run.step < steps) {
    const l = model.trainStep(tc, run);
    if (l) appendFileSync(metrics, line(l, l.step === steps ? (l.val_loss ?? model.validationLoss()) : l.val_loss, elapsed()));
    if (store && every > 0 && run.step % every === 0 && run.step < steps) {
      // A failed upload costs this checkpoint only: the marker still names the one before.
      try {
        save(store);
      } catch (err) {
        process.stderr.write(`train.ts: checkpoint at step ${run.step} failed, training on: ${message(err)}\n`);
      }
    }
    await new Promise((r) => setImmediate(r));
    if (!signalled) continue;
    signalled = false;
    if (store === undefined) {
      process.stderr.write("train.ts: SIGUSR1, but WINDTUNNEL_CHECKPOINTS is not set: nothing to save to, training on\n");
      continue;
    }
    try {
      if (saved !== run.step) save(store);
    } catch (err) {
      process.stderr.write(`train.ts: SIGUSR1: the checkpoint at step ${run.step} failed: ${message(err)}\n`);
      process.exit(1);
    }
    process.stderr.write(`train.ts: SIGUSR1: checkpointed after step ${run.step} (${store.root}${checkpointFolder(run.step)}); stopping\n`);
    return;
  }
}

/** WINDTUNNEL_EVAL_STEPS: comma-separated steps ("20,40"); unset or empty, none. */
function evalSteps(text: string | undefined): Set<number> {
  if (text === undefined || text.trim() === "") return new Set();
  const steps = text.split(",").map((s) => (/^\s*\d+\s*$/.test(s) ? Number(s) : Number.NaN));
  if (steps.some((s) => !Number.isSafeInteger(s) || s < 1)) fail(`WINDTUNNEL_EVAL_STEPS: expected comma-separated whole numbers ≥ 1, got ${JSON.stringify(text)}`);
  return new Set(steps);
}

/** One metrics line; the final step always evaluates: its val_bpb is the candidate's result. */
function line(l: StepLog, val: number | undefined, timeS: number): string {
  const parts = [`"step": ${l.step}`, `"loss": ${num(l.loss)}`, `"grad_norm": ${num(l.grad_norm)}`, `"lr": ${num(l.lr)}`, `"tokens": ${l.tokens}`, `"time_s": ${num(timeS)}`];
  if (val !== undefined) parts.push(`"val_loss": ${num(val)}`, `"val_bpb": ${num(val / LN2)}`);
  // One write per line, flushed by the OS as it goes: windtunnel tails this file while we train.
  return `{${parts.join(", ")}}\n`;
}

if (import.meta.main) await main();
