// The row `lab sweep` writes for each run (windtunnel's trajectory format plus provenance), and
// the one kind it takes back out on resume: a row whose trainer could not start says nothing about
// its config, so it is trained again under the same id. A run early stopping stopped is a row like
// the others (status pruned), kept on resume.
import { InternalError } from "../common/errors.ts";
import { configHash } from "../evidence/hash.ts";
import { parseJsonLine } from "../evidence/json.ts";
import { trajectoryRecordSchema } from "../evidence/schemas.ts";
import type { Config } from "./menu.ts";
import type { RungScore, Task } from "./planner.ts";
import type { RungValue } from "../evidence/schemas.ts";
import type { TrainerOutcome } from "./trainer.ts";

/** A row as `lab sweep` writes it (windtunnel's trajectory format plus provenance). */
export interface LabRow {
  id: string;
  config: Config;
  config_hash: string;
  val_bpb: number | null;
  status: "ok" | "crash" | "timeout" | "pruned";
  /** Steps the trainer reported reaching (a pruned run's may pass its rung while it is stopped). */
  steps: number;
  seed: number;
  wall_s: number;
  baseline?: true;
  error?: string;
  /** The trainer could not be started (or its shell could not run it): retried on resume. */
  environmental?: true;
  time: string;
  proposer: string;
  repeat_of?: string;
  /** Status pruned: the rung that stopped it and its val_bpb there. */
  pruned_at?: RungValue;
  /** Its val_bpb at each rung it reached (early stopping on), which a resumed sweep judges later candidates against. */
  rungs?: RungValue[];
}

/** What early stopping saw of a run: its values at the rungs, and the rung that stopped it. */
export interface RungRecord {
  rungs: readonly RungScore[];
  pruned?: RungScore;
}

/** Whether a run says anything about its config: a cancelled or stopped one gets no row, so a re-run trains it. */
export function evaluated(outcome: TrainerOutcome): outcome is TrainerOutcome & { status: LabRow["status"] } {
  return outcome.status !== "cancelled" && outcome.status !== "stopped";
}

/** The row of an evaluated run, or of one early stopping stopped (`rungs.pruned`, its outcome `stopped`). */
export function labRow(t: Task, outcome: TrainerOutcome, time: Date, rungs?: RungRecord): LabRow {
  const value = (r: RungScore): RungValue => ({ step: r.step, val_bpb: r.value });
  const status: LabRow["status"] = rungs?.pruned !== undefined ? "pruned" : outcome.status === "cancelled" || outcome.status === "stopped" ? unreachable(outcome.status) : outcome.status;
  return {
    id: t.id,
    config: t.config,
    config_hash: configHash(t.config),
    val_bpb: status === "ok" ? outcome.val_bpb : null,
    status,
    steps: outcome.steps,
    seed: t.seed,
    wall_s: outcome.wall_s,
    ...(t.baseline ? { baseline: true as const } : {}),
    ...(outcome.error !== undefined && status !== "pruned" ? { error: outcome.error } : {}),
    ...(outcome.environmental ? { environmental: true as const } : {}),
    time: time.toISOString(),
    proposer: t.proposer,
    ...(t.repeatOf ? { repeat_of: t.repeatOf } : {}),
    ...(rungs?.pruned !== undefined ? { pruned_at: value(rungs.pruned) } : {}),
    ...(rungs !== undefined && rungs.rungs.length > 0 ? { rungs: rungs.rungs.map(value) } : {}),
  };
}

function unreachable(status: string): never {
  throw new InternalError(`a ${status} run has no row (only one early stopping stopped does)`);
}

function parsedRow(line: string): Record<string, unknown> | undefined {
  const j = parseJsonLine(line);
  return j.ok && j.value !== null && typeof j.value === "object" && !Array.isArray(j.value) ? (j.value as Record<string, unknown>) : undefined;
}

/** Only a row that is whole and ours is taken out; anything else stays for the reader to report. */
export function isEnvironmentalRow(line: string): boolean {
  const row = parsedRow(line);
  return row?.["environmental"] === true && typeof row["seed"] === "number" && typeof row["proposer"] === "string" && trajectoryRecordSchema().safeParse(row).success;
}

/** The task that trains a dropped environmental row again (the row is ours, so its fields are). */
export function retryTask(line: string): Task {
  const r = parsedRow(line) as unknown as LabRow;
  return { id: r.id, config: r.config, seed: r.seed, baseline: r.baseline === true, proposer: r.proposer, ...(r.repeat_of ? { repeatOf: r.repeat_of } : {}) };
}
