// windtunnel's own metrics JSONL: one point per line, as the trainer protocol writes it.
import { MetricPointSchema, type MetricPoint } from "../schemas.ts";
import { firstIssue } from "../issues.ts";
import type { Diagnostics } from "../problems.ts";
import type { LineBatch } from "../lines.ts";
import { StepOrder, objectLine, overflowedKey, reportOverflow } from "./common.ts";

const LOSS_KEYS = ["loss", "val_loss", "val_bpb", "grad_norm"] as const;
const OPTIONAL_KEYS = ["val_loss", "val_bpb", "grad_norm", "lr", "tokens", "time_s", "tag"] as const;

export async function* metricsJsonl(batches: AsyncIterable<LineBatch>, diag: Diagnostics): AsyncGenerator<MetricPoint[]> {
  const order = new StepOrder();
  for await (const batch of batches) {
    const out: MetricPoint[] = [];
    const n = batch.lines.length;
    for (let i = 0; i < n; i++) {
      const line = batch.first + i;
      const obj = objectLine(batch.lines[i] ?? null, line, batch, i === n - 1, diag);
      if (obj === undefined) continue;
      const r = MetricPointSchema.safeParse(obj.value);
      if (!r.success) {
        const { field, message } = firstIssue(r.error, obj.value);
        diag.error(line, field, message);
        continue;
      }
      const d = r.data;
      const bad = overflowedKey(d, LOSS_KEYS, obj.nonFiniteTokens);
      if (bad !== undefined) {
        reportOverflow(diag, line, bad);
        continue;
      }
      const p: MetricPoint = { step: d.step, line, loss: d.loss };
      for (const k of OPTIONAL_KEYS) {
        const v = d[k];
        if (v !== undefined && v !== null) (p as unknown as Record<string, unknown>)[k] = v;
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
