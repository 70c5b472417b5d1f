// windtunnel's own Phase 1 trajectory JSONL: one evaluated candidate per line (written by `lab sweep`).
import { TrajectoryRecordSchema, type TrajectoryRow } from "../schemas.ts";
import { firstIssue } from "../issues.ts";
import { configHash } from "../hash.ts";
import type { Diagnostics } from "../problems.ts";
import type { LineBatch } from "../lines.ts";
import { JsonLineParser } from "../json.ts";
import { objectLine, overflowedKey, reportOverflow } from "./common.ts";
import type { TrajectoryOptions } from "./options.ts";

export async function* trajectoryJsonl(batches: AsyncIterable<LineBatch>, diag: Diagnostics, options: TrajectoryOptions): AsyncGenerator<TrajectoryRow[]> {
  const json = new JsonLineParser();
  const seen = new Map<string, number>();
  for await (const batch of batches) {
    const out: TrajectoryRow[] = [];
    const n = batch.lines.length;
    for (let i = 0; i < n; i++) {
      const line = batch.first + i;
      const obj = objectLine(json, batch.lines[i] ?? null, line, batch, i === n - 1, diag);
      if (obj === undefined) continue;
      const r = TrajectoryRecordSchema.safeParse(obj);
      if (!r.success) {
        const { field, message } = firstIssue(r.error, obj);
        diag.error(line, field, message);
        continue;
      }
      const d = r.data;
      const bad = overflowedKey(d, ["val_bpb"], json.nonFiniteTokens);
      if (bad !== undefined) {
        reportOverflow(diag, line, bad);
        continue;
      }
      if (d.status === "ok" && d.val_bpb === null) {
        diag.error(line, "val_bpb", "required when status is ok, got null");
        continue;
      }
      const hash = configHash(d.config, options.identityExclude);
      if (d.config_hash !== undefined && d.config_hash !== hash) {
        diag.error(line, "config_hash", `does not match the config (computed ${hash.slice(0, 12)}…, file says ${d.config_hash.slice(0, 12)}…); was the config edited?`);
        continue;
      }
      const dup = seen.get(d.id);
      if (dup !== undefined) {
        diag.error(line, "id", `duplicate id ${JSON.stringify(d.id)} (first on line ${dup})`);
        continue;
      }
      seen.set(d.id, line);
      const row: TrajectoryRow = {
        id: d.id,
        line,
        config: d.config,
        configHash: hash,
        val_bpb: d.val_bpb,
        status: d.status,
        rawStatus: d.status,
        baseline: d.baseline ?? false,
      };
      if (d.steps !== undefined) row.steps = d.steps;
      if (d.seed !== undefined) row.seed = d.seed;
      if (d.params !== undefined) row.params = d.params;
      if (d.wall_s !== undefined) row.wall_s = d.wall_s;
      out.push(row);
    }
    if (out.length > 0) yield out;
  }
}
