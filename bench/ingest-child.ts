// Ingest one file in a fresh process and report its time and memory, so 100K and 1M lines are
// measured without each other's garbage. Usage:
//   node --expose-gc bench/ingest-child.ts <windtunnel|bare|stress> <file>
//     windtunnel: validate every line (readers + summary fold)
//     bare:       readline + JSON.parse, the floor any reader pays
//     stress:     stream the curve through the Phase 2 stress gates (default policy)
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { openEvidence } from "../src/evidence/read.ts";
import { MetricsFold } from "../src/evidence/summary.ts";
import { CurveMonitor } from "../src/gates/stress.ts";
import { loadPolicy } from "../src/policy/load.ts";

const [mode, file] = process.argv.slice(2);
if (!file) throw new Error("usage: ingest-child.ts <windtunnel|bare|stress> <file>");
let points = 0;
const policy = mode === "stress" ? (await loadPolicy("default")).policy : undefined;
const t0 = performance.now();
if (mode === "bare") {
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    try {
      JSON.parse(line);
    } catch {
      // NaN lines: the bare loop cannot read them, which is part of why it is a floor, not a tool.
    }
    points++;
  }
} else {
  const ev = await openEvidence(file, { format: "metrics" });
  if (ev.kind !== "metrics") throw new Error("not metrics");
  if (policy) {
    const monitor = new CurveMonitor("bench", policy.stress);
    for await (const batch of ev.points) for (const p of batch) monitor.push(p);
    const outcome = monitor.finish();
    points = outcome.points;
    if (outcome.results.length !== 6) throw new Error("stress gates did not all report");
  } else {
    const fold = new MetricsFold();
    for await (const batch of ev.points) fold.add(batch);
    points = fold.result().points;
  }
  if (!ev.diag.ok) throw new Error(`invalid: ${ev.diag.problems[0]?.message}`);
}
const ms = performance.now() - t0;
// What the reader still holds once garbage is gone: must not depend on the file's length.
(globalThis as { gc?: () => void }).gc?.();
const retainedKiB = Math.round(process.memoryUsage().heapUsed / 1024);
process.stdout.write(JSON.stringify({ points, ms, maxRssKiB: process.resourceUsage().maxRSS, retainedKiB }));
