// windtunnel's own Phase 1 trajectory JSONL: one evaluated candidate per line (written by `lab sweep`).
import { trajectoryRecordSchema, type TrajectoryRow } from "../schemas.ts";
import { configHash, MAX_CONFIG_DEPTH, nestedDeeperThan } from "../hash.ts";
import type { Diagnostics } from "../../common/problems.ts";
import type { LineBatch } from "../lines.ts";
import { mapJsonl, validRecord } from "./common.ts";
import type { TrajectoryOptions } from "./options.ts";

export function trajectoryJsonl(batches: AsyncIterable<LineBatch>, diag: Diagnostics, options: TrajectoryOptions): AsyncGenerator<TrajectoryRow[]> {
  const seen = new Map<string, number>();
  return mapJsonl(batches, diag, (obj, line, json) => {
    const d = validRecord(trajectoryRecordSchema(), obj, ["val_bpb"], json, line, diag);
    if (d === undefined) return undefined;
    if (nestedDeeperThan(d.config, MAX_CONFIG_DEPTH)) {
      diag.error(line, "config", `nested more than ${MAX_CONFIG_DEPTH} levels deep; a config is a map of knob values`);
      return undefined;
    }
    if (d.status === "ok" && d.val_bpb === null) {
      diag.error(line, "val_bpb", "required when status is ok, got null");
      return undefined;
    }
    const hash = configHash(d.config, options.identityExclude);
    if (d.config_hash !== undefined && d.config_hash !== hash) {
      diag.error(line, "config_hash", `does not match the config (computed ${hash.slice(0, 12)}…, file says ${d.config_hash.slice(0, 12)}…); was the config edited?`);
      return undefined;
    }
    const dup = seen.get(d.id);
    if (dup !== undefined) {
      diag.error(line, "id", `duplicate id ${JSON.stringify(d.id)} (first on line ${dup})`);
      return undefined;
    }
    seen.set(d.id, line);
    const row: TrajectoryRow = { id: d.id, line, config: d.config, configHash: hash, val_bpb: d.val_bpb, status: d.status, rawStatus: d.status, baseline: d.baseline ?? false };
    if (d.steps !== undefined) row.steps = d.steps;
    if (d.seed !== undefined) row.seed = d.seed;
    if (d.params !== undefined) row.params = d.params;
    if (d.wall_s !== undefined) row.wall_s = d.wall_s;
    return row;
  });
}
