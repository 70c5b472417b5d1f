// The seed article's agent-loop trajectory.jsonl: a `_meta` header carrying the baseline, one
// record per iteration (`candidate_cfg`, `val_bpb`, `stage`, `decision`), and a trailing summary
// record (`stage: loop_complete`) that is not an iteration.
import "../../common/zod-setup.ts";
import * as z from "zod/mini";
import { lazy, metricNumber, type Status, type TrajectoryRow } from "../schemas.ts";
import { configHash, MAX_CONFIG_DEPTH, nestedDeeperThan } from "../hash.ts";
import type { Diagnostics } from "../../common/problems.ts";
import type { LineBatch } from "../lines.ts";
import { mapJsonl, validRecord } from "./common.ts";
import type { TrajectoryOptions } from "./options.ts";

const Config = () => z.record(z.string(), z.unknown(), { error: "expected an object" });
const nonNegative = () => z.number().check(z.nonnegative());

const meta = lazy(() => z.looseObject({
  _meta: z.unknown(),
  baseline_val_bpb: metricNumber(),
  baseline_cfg: Config(),
}));

const iteration = lazy(() => z.looseObject({
  iter: z.int().check(z.nonnegative()),
  stage: z.string(),
  candidate_cfg: z.nullish(Config()),
  proposal: z.nullish(z.looseObject({ knob: z.string(), new_value: z.unknown() })),
  val_bpb: z.nullish(metricNumber()),
  decision: z.nullish(z.string()),
  iter_wall_s: z.nullish(nonNegative()),
  eval_metrics: z.nullish(
    z.looseObject({
      ok: z.nullish(z.boolean()),
      params_m: z.nullish(nonNegative()),
      train_steps: z.nullish(z.int().check(z.nonnegative())),
      train_wall_s: z.nullish(nonNegative()),
    }),
  ),
}));

/** What the loop's own trailing summary claims, for cross-checking against the rows. */
export interface AgentLoopSummary {
  line: number;
  stage: string;
  itersRequested?: number;
  acceptCount?: number;
  bestValBpb?: number;
}

export interface AgentLoopInfo {
  summary?: AgentLoopSummary;
  decisions: Record<string, number>;
}

function iterationStatus(stage: string, evalOk: boolean | null | undefined, hasValue: boolean): Status | undefined {
  if (stage === "evaluated") return evalOk === false || !hasValue ? "crash" : "ok";
  if (/block/i.test(stage)) return "blocked";
  if (/timeout|overrun/i.test(stage)) return "timeout";
  if (/fail|error|crash|abort/i.test(stage)) return "crash";
  return undefined;
}

export function agentLoopJsonl(batches: AsyncIterable<LineBatch>, diag: Diagnostics, options: TrajectoryOptions, info: AgentLoopInfo): AsyncGenerator<TrajectoryRow[]> {
  let baselineCfg: Record<string, unknown> | undefined;
  let sawHeader = false;
  const seen = new Map<number, number>();
  return mapJsonl(batches, diag, (v, line, json) => {
    if (!sawHeader) {
      sawHeader = true;
      if (!("_meta" in v)) {
        diag.error(line, "_meta", "first record must be the agent-loop header (_meta, baseline_val_bpb, baseline_cfg)");
        return undefined;
      }
      const m = validRecord(meta(), v, ["baseline_val_bpb"], json, line, diag);
      if (m === undefined) return undefined;
      if (nestedDeeperThan(m.baseline_cfg, MAX_CONFIG_DEPTH)) {
        diag.error(line, "baseline_cfg", `nested more than ${MAX_CONFIG_DEPTH} levels deep; a config is a map of knob values`);
        return undefined;
      }
      baselineCfg = m.baseline_cfg;
      return row("baseline", line, baselineCfg, m.baseline_val_bpb, "ok", "baseline", true, options);
    }
    if (!("iter" in v)) {
      if (typeof v["stage"] === "string") {
        info.summary = {
          line,
          stage: v["stage"],
          ...(typeof v["iters_requested"] === "number" ? { itersRequested: v["iters_requested"] } : {}),
          ...(typeof v["accept_count"] === "number" ? { acceptCount: v["accept_count"] } : {}),
          ...(typeof v["best_val_bpb"] === "number" ? { bestValBpb: v["best_val_bpb"] } : {}),
        };
      } else {
        diag.error(line, "iter", "required field is missing: a record is an iteration (iter) or the loop summary (stage)");
      }
      return undefined;
    }
    const d = validRecord(iteration(), v, ["val_bpb"], json, line, diag);
    if (d === undefined) return undefined;
    const dup = seen.get(d.iter);
    if (dup !== undefined) {
      diag.error(line, "iter", `duplicate iteration ${d.iter} (first on line ${dup})`);
      return undefined;
    }
    seen.set(d.iter, line);
    const value = typeof d.val_bpb === "number" ? d.val_bpb : null;
    const status = iterationStatus(d.stage, d.eval_metrics?.ok, value !== null);
    if (status === undefined) {
      diag.unreadable(line, "stage", `unknown stage ${JSON.stringify(d.stage)}; expected evaluated, or a blocked/failed/timeout stage`);
      return undefined;
    }
    // Older loops log only the proposal; the candidate is the baseline with that one knob changed.
    const cfg = d.candidate_cfg ?? (d.proposal && baselineCfg ? { ...baselineCfg, [d.proposal.knob]: d.proposal.new_value } : undefined);
    if (cfg === undefined) {
      diag.unreadable(line, "candidate_cfg", "missing, and no proposal to rebuild it from");
      return undefined;
    }
    if (nestedDeeperThan(cfg, MAX_CONFIG_DEPTH)) {
      diag.error(line, d.candidate_cfg ? "candidate_cfg" : "proposal.new_value", `nested more than ${MAX_CONFIG_DEPTH} levels deep; a config is a map of knob values`);
      return undefined;
    }
    if (d.decision) info.decisions[d.decision] = (info.decisions[d.decision] ?? 0) + 1;
    const t = row(`iter-${d.iter}`, line, cfg, value, status, d.stage, false, options);
    const steps = d.eval_metrics?.train_steps ?? (typeof cfg["steps"] === "number" ? cfg["steps"] : undefined);
    if (steps !== undefined) t.steps = steps;
    if (d.eval_metrics?.params_m != null) t.params = Math.round(d.eval_metrics.params_m * 1e6);
    const wall = d.iter_wall_s ?? d.eval_metrics?.train_wall_s;
    if (wall != null) t.wall_s = wall;
    return t;
  });
}

function row(id: string, line: number, config: Record<string, unknown>, val_bpb: number | null, status: Status, rawStatus: string, baseline: boolean, options: TrajectoryOptions): TrajectoryRow {
  const r: TrajectoryRow = { id, line, config, configHash: configHash(config, options.identityExclude), val_bpb, status, rawStatus, baseline };
  if (typeof config["seed"] === "number") r.seed = config["seed"];
  if (baseline && typeof config["steps"] === "number") r.steps = config["steps"];
  return r;
}
