// npm run bench: speed and memory of metrics ingest, as ratios against baselines measured in
// the same run on the same files (absolute times depend on the machine; ratios should not).
//
//   node bench/run.ts [--lines 1000000] [--repeats 3]
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { execa } from "execa";
import { writeMetricsFile } from "./metrics-file.ts";

const { values } = parseArgs({ options: { lines: { type: "string", default: "1000000" }, repeats: { type: "string", default: "3" } } });
const LINES = Number(values.lines);
const REPEATS = Number(values.repeats);
const CHILD = new URL("./ingest-child.ts", import.meta.url).pathname;

interface Run {
  points: number;
  ms: number;
  maxRssKiB: number;
  retainedKiB: number;
}

async function ingest(mode: "windtunnel" | "bare", file: string): Promise<Run> {
  const r = await execa(process.execPath, ["--expose-gc", CHILD, mode, file]);
  return JSON.parse(r.stdout) as Run;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

const dir = mkdtempSync(join(tmpdir(), "windtunnel-bench-"));
try {
  const big = join(dir, "metrics-big.jsonl");
  const small = join(dir, "metrics-small.jsonl");
  await writeMetricsFile(big, LINES);
  await writeMetricsFile(small, Math.round(LINES / 10));
  const mb = statSync(big).size / 1e6;
  console.log(`node ${process.version} · ${LINES.toLocaleString("en-US")} lines (${mb.toFixed(0)} MB) · median of ${REPEATS} runs, alternating\n`);

  const ours: Run[] = [];
  const bare: Run[] = [];
  for (let i = 0; i < REPEATS; i++) {
    bare.push(await ingest("bare", big));
    ours.push(await ingest("windtunnel", big));
  }
  const oursMs = median(ours.map((r) => r.ms));
  const bareMs = median(bare.map((r) => r.ms));
  const rate = (ms: number): string => `${((LINES / ms) * 1000 / 1e6).toFixed(2)} M lines/s`;
  if (ours[0]?.points !== LINES) throw new Error(`read ${ours[0]?.points} points, expected ${LINES}`);

  const small100k = await Promise.all(Array.from({ length: REPEATS }, () => ingest("windtunnel", small)));
  const smallRss = median(small100k.map((r) => r.maxRssKiB));
  const bigRss = median(ours.map((r) => r.maxRssKiB));
  const smallHeap = median(small100k.map((r) => r.retainedKiB));
  const bigHeap = median(ours.map((r) => r.retainedKiB));
  const bareRss = median(bare.map((r) => r.maxRssKiB));
  const mib = (kib: number): string => `${(kib / 1024).toFixed(0)} MiB`;
  const n = (x: number): string => x.toLocaleString("en-US");

  const throughputRatio = bareMs / oursMs;
  const memoryRatio = bigRss / smallRss;
  const heapRatio = bigHeap / smallHeap;
  const mark = (ok: boolean): string => (ok ? "✓" : "✗");
  console.log("| measure | windtunnel | baseline (same run) | ratio | target |");
  console.log("|---|---|---|---|---|");
  console.log(`| metrics ingest, ${n(LINES)} lines, full validation | ${rate(oursMs)} (${(oursMs / 1000).toFixed(2)} s) | bare readline + JSON.parse loop: ${rate(bareMs)} (${(bareMs / 1000).toFixed(2)} s) | ${throughputRatio.toFixed(2)} | ≥ 0.5 ${mark(throughputRatio >= 0.5)} |`);
  console.log(`| peak RSS, whole process | ${mib(bigRss)} at ${n(LINES)} lines | ${mib(smallRss)} at ${n(LINES / 10)} lines (bare loop: ${mib(bareRss)} at ${n(LINES)}) | ${memoryRatio.toFixed(2)} | flat, ≤ 1.25 ${mark(memoryRatio <= 1.25)} |`);
  console.log(`| heap retained after ingest (after GC) | ${mib(bigHeap)} at ${n(LINES)} lines | ${mib(smallHeap)} at ${n(LINES / 10)} lines | ${heapRatio.toFixed(2)} | flat, ≤ 1.1 ${mark(heapRatio <= 1.1)} |`);
  console.log("\nPeak RSS includes V8 growing its young generation during the first second of any allocation-heavy run; the retained heap is what the reader itself holds.");
  process.exitCode = throughputRatio >= 0.5 && memoryRatio <= 1.25 && heapRatio <= 1.1 ? 0 : 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
