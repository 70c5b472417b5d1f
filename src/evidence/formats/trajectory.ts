// windtunnel's own Phase 1 trajectory JSONL: one evaluated candidate per line (written by `lab sweep`).
import type * as z from "zod/mini";
import { STATUSES, trajectoryRecordSchema, type TrajectoryRow } from "../schemas.ts";
import { configHash, MAX_CONFIG_DEPTH, nestedDeeperThan } from "../hash.ts";
import type { Diagnostics } from "../../common/problems.ts";
import type { LineBatch } from "../lines.ts";
import { mapJsonl, validRecord } from "./common.ts";
import type { TrajectoryOptions } from "./options.ts";

type Loose = Record<string, unknown>;
type TrajectoryRecord = z.output<ReturnType<typeof trajectoryRecordSchema>>;

const optionalInt = (v: unknown, min: number): boolean => v === undefined || (Number.isSafeInteger(v) && (v as number) >= min);
const optionalAmount = (v: unknown): boolean => v === undefined || (typeof v === "number" && Number.isFinite(v) && v >= 0);
const optionalString = (v: unknown): boolean => v === undefined || typeof v === "string";
const HASH = /^[0-9a-f]{64}$/;
const isRungValue = (v: unknown): boolean =>
  v !== null && typeof v === "object" && !Array.isArray(v) &&
  Number.isSafeInteger((v as Loose)["step"]) && ((v as Loose)["step"] as number) >= 0 &&
  typeof (v as Loose)["val_bpb"] === "number" && Number.isFinite((v as Loose)["val_bpb"]) && ((v as Loose)["val_bpb"] as number) >= 0;
const optionalRungs = (v: unknown): boolean => v === undefined || (Array.isArray(v) && v.every(isRungValue));

/**
 * The common row, accepted without running zod (zod was half of reading a 100-row trajectory in
 * a `gate` run), as formats/metrics.ts does for points: every known key absent or of exactly the
 * type the schema allows, and no infinite val_bpb (an overflow, which validRecord reports).
 * Anything else goes to trajectoryRecordSchema, which stays the only judge of what is rejected
 * and says why; a property test (test/evidence/formats/trajectory-fast-path.test.ts) checks this
 * never accepts what the schema rejects.
 */
export function isPlainRow(o: Loose): boolean {
  const { id, config, config_hash, val_bpb } = o;
  return (
    typeof id === "string" && id.length >= 1 &&
    config !== null && typeof config === "object" && !Array.isArray(config) && Object.getPrototypeOf(config) === Object.prototype &&
    (config_hash === undefined || (typeof config_hash === "string" && HASH.test(config_hash))) &&
    (val_bpb === null || (typeof val_bpb === "number" && (Number.isNaN(val_bpb) || (Number.isFinite(val_bpb) && val_bpb >= 0)))) &&
    (STATUSES as readonly unknown[]).includes(o["status"]) &&
    optionalInt(o["steps"], 0) && optionalInt(o["seed"], Number.MIN_SAFE_INTEGER) &&
    optionalAmount(o["params"]) && optionalAmount(o["wall_s"]) &&
    (o["baseline"] === undefined || typeof o["baseline"] === "boolean") &&
    optionalString(o["error"]) && optionalString(o["time"]) &&
    (o["pruned_at"] === undefined || isRungValue(o["pruned_at"])) && optionalRungs(o["rungs"])
  );
}

export function trajectoryJsonl(batches: AsyncIterable<LineBatch>, diag: Diagnostics, options: TrajectoryOptions): AsyncGenerator<TrajectoryRow[]> {
  const seen = new Map<string, number>();
  return mapJsonl(batches, diag, (obj, line, json) => {
    const d = isPlainRow(obj) ? (obj as TrajectoryRecord) : validRecord(trajectoryRecordSchema(), obj, ["val_bpb"], json, line, diag);
    if (d === undefined) return undefined;
    if (nestedDeeperThan(d.config, MAX_CONFIG_DEPTH)) {
      diag.error(line, "config", `nested more than ${MAX_CONFIG_DEPTH} levels deep; a config is a map of knob values`);
      return undefined;
    }
    if (d.status === "ok" && d.val_bpb === null) {
      diag.error(line, "val_bpb", "required when status is ok, got null");
      return undefined;
    }
    if (d.status === "pruned" && (d.val_bpb !== null || d.pruned_at === undefined)) {
      // A pruned run has no result: its one value is the rung's, and only pruned_at says which rung.
      if (d.val_bpb !== null) diag.error(line, "val_bpb", `must be null when status is pruned (the value at the rung goes in pruned_at), got ${d.val_bpb}`);
      else diag.error(line, "pruned_at", "required when status is pruned: {\"step\": <the rung>, \"val_bpb\": <its value there>}");
      return undefined;
    }
    if (d.pruned_at !== undefined && d.status !== "pruned") {
      diag.error(line, "pruned_at", `only a pruned row has one, and this row's status is ${d.status}`);
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
    if (d.pruned_at !== undefined) row.prunedAt = { step: d.pruned_at.step, val_bpb: d.pruned_at.val_bpb };
    if (d.rungs !== undefined) row.rungs = d.rungs.map((r) => ({ step: r.step, val_bpb: r.val_bpb }));
    return row;
  });
}
