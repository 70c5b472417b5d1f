// windtunnel's own metrics JSONL: one point per line, as the trainer protocol writes it.
import { MetricPointSchema, type MetricPoint } from "../schemas.ts";
import { firstIssue } from "../issues.ts";
import type { Diagnostics } from "../problems.ts";
import type { LineBatch } from "../lines.ts";
import { JsonLineParser } from "../json.ts";
import { StepOrder, objectLine, reportOverflow } from "./common.ts";

type Loose = Record<string, unknown>;

const optionalNumber = (v: unknown): boolean => v === undefined || typeof v === "number";
const optionalAmount = (v: unknown): boolean => v === undefined || (typeof v === "number" && Number.isFinite(v) && v >= 0);

/**
 * The common line, accepted without running zod (zod was a third of the ingest time of a 1M-line
 * stream): every known key absent or of exactly the type the schema allows. Anything else goes to
 * MetricPointSchema, which stays the only judge of what is rejected and says why; a property test
 * (test/evidence/metrics-fast-path.test.ts) checks this never accepts what the schema rejects.
 */
export function isPlainPoint(o: Loose): boolean {
  const step = o["step"];
  const tag = o["tag"];
  return (
    typeof step === "number" && Number.isSafeInteger(step) && step >= 0 &&
    typeof o["loss"] === "number" &&
    optionalNumber(o["val_loss"]) && optionalNumber(o["val_bpb"]) && optionalNumber(o["grad_norm"]) &&
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

const isInfinite = (v: number | undefined): boolean => v === Infinity || v === -Infinity;

/**
 * JSON.parse turns an overflowing literal such as 1e999 into Infinity; when the line used no
 * Infinity token, an infinite value can only have come from such an overflow.
 */
function overflowed(p: MetricPoint): string | undefined {
  if (isInfinite(p.loss)) return "loss";
  if (isInfinite(p.val_loss)) return "val_loss";
  if (isInfinite(p.val_bpb)) return "val_bpb";
  if (isInfinite(p.grad_norm)) return "grad_norm";
  return undefined;
}

export async function* metricsJsonl(batches: AsyncIterable<LineBatch>, diag: Diagnostics): AsyncGenerator<MetricPoint[]> {
  const json = new JsonLineParser();
  const order = new StepOrder();
  for await (const batch of batches) {
    const out: MetricPoint[] = [];
    const n = batch.lines.length;
    for (let i = 0; i < n; i++) {
      const line = batch.first + i;
      const obj = objectLine(json, batch.lines[i] ?? null, line, batch, i === n - 1, diag);
      if (obj === undefined) continue;
      let p: MetricPoint;
      if (isPlainPoint(obj)) {
        p = toPoint(obj, line);
      } else {
        const r = MetricPointSchema.safeParse(obj);
        if (!r.success) {
          const { field, message } = firstIssue(r.error, obj);
          diag.error(line, field, message);
          continue;
        }
        p = toPoint(r.data, line);
      }
      const bad = json.nonFiniteTokens ? undefined : overflowed(p);
      if (bad !== undefined) {
        reportOverflow(diag, line, bad);
        continue;
      }
      const why = order.check(p.tag ?? "", p.step, line);
      if (why !== undefined) {
        diag.error(line, "step", why);
        continue;
      }
      out.push(p);
    }
    if (out.length > 0) yield out;
  }
}
