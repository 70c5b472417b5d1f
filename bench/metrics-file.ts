// A realistic metrics JSONL: every field of the trainer protocol, val_loss every 50 steps and
// the occasional NaN a real run writes, so the fast path and the token path both get exercised.
import { createWriteStream } from "node:fs";
import { once } from "node:events";

export async function writeMetricsFile(path: string, lines: number): Promise<number> {
  const out = createWriteStream(path);
  let bytes = 0;
  let chunk = "";
  for (let step = 1; step <= lines; step++) {
    const loss = 2.6 + 9 * step ** -0.45 + 0.02 * Math.sin(step * 12.9898);
    let line = `{"step":${step},"loss":${loss.toFixed(5)},"grad_norm":${(0.9 + 5 * step ** -0.6).toFixed(4)},"lr":0.0003,"tokens":${step * 524288},"time_s":${(step * 0.213).toFixed(3)}`;
    if (step % 50 === 0) line += `,"val_loss":${(loss + 0.03).toFixed(5)}`;
    if (step % 100_000 === 0) line = `{"step":${step},"loss":NaN,"grad_norm":NaN`;
    line += "}\n";
    chunk += line;
    if (chunk.length > 1 << 20) {
      bytes += chunk.length;
      if (!out.write(chunk)) await once(out, "drain");
      chunk = "";
    }
  }
  bytes += chunk.length;
  out.end(chunk);
  await once(out, "finish");
  return bytes;
}
