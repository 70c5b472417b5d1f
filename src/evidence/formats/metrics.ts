// windtunnel's own metrics JSONL: one point per line, as the trainer protocol writes it.
import { metricPointSchema, type MetricPoint } from "../schemas.ts";
import type { Diagnostics } from "../../common/problems.ts";
import type { LineBatch } from "../lines.ts";
import type { JsonLineParser } from "../json.ts";
import { StepOrder, jsonlMapper, mapBatches, validRecord } from "./common.ts";

type Loose = Record<string, unknown>;

/** A loss-like value the schema accepts as it is: not negative (NaN passes: NaN < 0 is false). */
const lossLike = (v: unknown): boolean => typeof v === "number" && !(v < 0);
const optionalLoss = (v: unknown): boolean => v === undefined || lossLike(v);
const optionalAmount = (v: unknown): boolean => v === undefined || (typeof v === "number" && Number.isFinite(v) && v >= 0);

/**
 * The common line, accepted without running zod (zod was a third of the ingest time of a 1M-line
 * stream): every known key absent or of exactly the type the schema allows. Anything else goes to
 * metricPointSchema, which stays the only judge of what is rejected and says why; a property test
 * (test/evidence/metrics-fast-path.test.ts) checks this never accepts what the schema rejects.
 */
export function isPlainPoint(o: Loose): boolean {
  const step = o["step"];
  const tag = o["tag"];
  return (
    typeof step === "number" && Number.isSafeInteger(step) && step >= 0 &&
    lossLike(o["loss"]) &&
    optionalLoss(o["val_loss"]) && optionalLoss(o["val_bpb"]) && optionalLoss(o["grad_norm"]) &&
    optionalAmount(o["lr"]) && optionalAmount(o["tokens"]) && optionalAmount(o["time_s"]) &&
    (tag === undefined || (typeof tag === "string" && tag.length >= 1 && tag.length <= 128))
  );
}

/** Our point from a validated object, dropping null/absent fields and unknown keys. */
export function toPoint(d: Loose, line: number): MetricPoint {
  // Spelled out rather than looped over keys: this runs once per line of a 1M-line stream.
  const p: MetricPoint = { step: d["step"] as number, line, loss: d["loss"] as number };
  if (d["val_loss"] != null) p.val_loss = d["val_loss"] as number;
  if (d["val_bpb"] != null) p.val_bpb = d["val_bpb"] as number;
  if (d["grad_norm"] != null) p.grad_norm = d["grad_norm"] as number;
  if (d["lr"] != null) p.lr = d["lr"] as number;
  if (d["tokens"] != null) p.tokens = d["tokens"] as number;
  if (d["time_s"] != null) p.time_s = d["time_s"] as number;
  if (d["tag"] != null) p.tag = d["tag"] as string;
  return p;
}

const LOSS_KEYS = ["loss", "val_loss", "val_bpb", "grad_norm"] as const;

/** An infinite loss-like value on a line without Infinity tokens is an overflow: let validRecord say so. */
function hasInfinity(o: Loose, json: JsonLineParser): boolean {
  if (json.nonFiniteTokens) return false;
  const { loss, val_loss, val_bpb, grad_norm } = o;
  return loss === Infinity || loss === -Infinity || val_loss === Infinity || val_loss === -Infinity || val_bpb === Infinity || val_bpb === -Infinity || grad_norm === Infinity || grad_norm === -Infinity;
}

/** A metrics reader that is fed batches as they arrive (a file followed while a trainer writes it). */
export function metricsMapper(diag: Diagnostics): (batch: LineBatch) => MetricPoint[] {
  const order = new StepOrder();
  return jsonlMapper(diag, (obj, line, json) => {
    const d = isPlainPoint(obj) && !hasInfinity(obj, json) ? obj : validRecord(metricPointSchema(), obj, LOSS_KEYS, json, line, diag);
    if (d === undefined) return undefined;
    const p = toPoint(d, line);
    const why = order.check(p.tag ?? "", p.step, line);
    if (why !== undefined) {
      diag.error(line, "step", why);
      return undefined;
    }
    return p;
  });
}

export function metricsJsonl(batches: AsyncIterable<LineBatch>, diag: Diagnostics): AsyncGenerator<MetricPoint[]> {
  return mapBatches(batches, metricsMapper(diag));
}
