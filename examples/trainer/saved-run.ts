// What one reference-trainer checkpoint holds, as two files: state.json (the step, the config and
// seed it belongs to, Adam's step, the sampler's random state, and a digest of the other file) and
// tensors.bin (the weights, Adam's moments and the logging interval's running sums, float64
// little-endian). That is all a resumed run needs to continue bit for bit where this one stopped.
import { createHash } from "node:crypto";
import type { ModelState, RunState } from "./model.ts";

export const FORMAT = "windtunnel-reference-trainer/1";
export const FILES = ["state.json", "tensors.bin"] as const;

export interface SavedRun {
  /** The run it belongs to: a checkpoint of another config or seed is not resumed. */
  config: Record<string, unknown>;
  seed: number;
  steps: number;
  run: RunState;
  model: ModelState;
  /** Seconds trained so far: time_s goes on from here. */
  elapsedS: number;
}

/** The folder of the checkpoint after `step`: zero-padded, so a listing is in step order. */
export const checkpointFolder = (step: number): string => `step-${String(step).padStart(8, "0")}/`;

const sha256 = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

export function encodeSavedRun(s: SavedRun): Record<(typeof FILES)[number], Uint8Array> {
  // The sums may be NaN or Infinity (a run that blew up), which JSON cannot hold: they go with the tensors.
  const tensors = [...s.model.tensors, Float64Array.of(s.run.lossSum, s.run.maxGrad, s.run.lossScale)];
  const bin = Buffer.alloc(tensors.reduce((n, t) => n + t.length * 8, 0));
  let at = 0;
  for (const t of tensors) for (const x of t) at = bin.writeDoubleLE(x, at);
  const state = {
    format: FORMAT, step: s.run.step, config: s.config, seed: s.seed, steps: s.steps, elapsed_s: s.elapsedS,
    adam_step: s.model.adamStep, rng: s.model.rng, loss_n: s.run.lossN, ...(s.run.overflowStep !== undefined ? { overflow_step: s.run.overflowStep } : {}),
    tensors: tensors.map((t) => t.length), sha256: sha256(bin),
  };
  return { "state.json": Buffer.from(`${JSON.stringify(state)}\n`), "tensors.bin": bin };
}

interface StateJson {
  format: string; step: number; config: Record<string, unknown>; seed: number; steps: number; elapsed_s: number;
  adam_step: number; rng: number; loss_n: number; overflow_step?: number; tensors: number[]; sha256: string;
}

/** The run a checkpoint's files hold, or why they do not hold one. */
export function decodeSavedRun(files: Readonly<Record<string, Uint8Array>>): SavedRun | string {
  const text = files["state.json"];
  const bin = files["tensors.bin"];
  if (text === undefined || bin === undefined) return `expected the files ${FILES.join(" and ")}`;
  let st: StateJson;
  try {
    st = JSON.parse(Buffer.from(text).toString("utf8")) as StateJson;
  } catch (err) {
    return `state.json is not JSON: ${(err as Error).message}`;
  }
  if (st.format !== FORMAT) return `state.json: expected format ${FORMAT}, got ${JSON.stringify(st.format)}`;
  if (sha256(bin) !== st.sha256) return `tensors.bin does not match its digest in state.json (sha256 ${sha256(bin)}, expected ${st.sha256})`;
  if (!Array.isArray(st.tensors) || st.tensors.reduce((n, l) => n + l * 8, 0) !== bin.length) return `tensors.bin: expected ${JSON.stringify(st.tensors)} float64 values, got ${bin.length} bytes`;
  const buf = Buffer.from(bin);
  const tensors: Float64Array[] = [];
  let at = 0;
  for (const len of st.tensors) {
    const t = new Float64Array(len);
    for (let i = 0; i < len; i++, at += 8) t[i] = buf.readDoubleLE(at);
    tensors.push(t);
  }
  const sums = tensors.pop() as Float64Array;
  return {
    config: st.config, seed: st.seed, steps: st.steps, elapsedS: st.elapsed_s,
    run: { step: st.step, lossN: st.loss_n, lossSum: sums[0] as number, maxGrad: sums[1] as number, lossScale: sums[2] as number, ...(st.overflow_step !== undefined ? { overflowStep: st.overflow_step } : {}) },
    model: { tensors, adamStep: st.adam_step, rng: st.rng },
  };
}
