// npm run bench: speed and memory as ratios against baselines measured in the same run on the
// same machine (absolute times depend on the machine; ratios should not). Exits 1 on a miss.
//
//   node bench/run.ts [--lines 1000000] [--repeats 3] [--starts 41] [--start-up-only]
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { rehearsalRows, watchdogRows } from "./watchdog.ts";
import { SAMPLE, writeBenchStack } from "./stack.ts";
import { writeMetricsFile } from "./metrics-file.ts";

const { values } = parseArgs({ options: { lines: { type: "string", default: "1000000" }, repeats: { type: "string", default: "3" }, starts: { type: "string", default: "41" }, "start-up-only": { type: "boolean", default: false } } });
const LINES = Number(values.lines);
const REPEATS = Number(values.repeats);
const STARTS = Number(values.starts);
const ROOT = fileURLToPath(new URL("../", import.meta.url));
const CHILD = join(ROOT, "bench/ingest-child.ts");

interface Run {
  points: number;
  ms: number;
  maxRssKiB: number;
  retainedKiB: number;
}

async function child(mode: "windtunnel" | "bare" | "stress", file: string): Promise<Run> {
  const r = await execa(process.execPath, ["--expose-gc", CHILD, mode, file]);
  return JSON.parse(r.stdout) as Run;
}

async function wall(args: readonly string[]): Promise<number> {
  const t0 = performance.now();
  const r = await execa(process.execPath, args, { cwd: ROOT, reject: false });
  if (r.exitCode !== 0 && r.exitCode !== 1) throw new Error(`${args.join(" ")}: exit ${r.exitCode}\n${r.stderr}`);
  return performance.now() - t0;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
const n = (x: number): string => x.toLocaleString("en-US");
const mib = (kib: number): string => `${(kib / 1024).toFixed(0)} MiB`;
const mark = (ok: boolean): string => (ok ? "✓" : "✗");
const rows: string[] = [];
const misses: string[] = [];
function row(measure: string, ours: string, base: string, ratio: number, target: string, ok: boolean): void {
  rows.push(`| ${measure} | ${ours} | ${base} | ${ratio.toFixed(2)} | ${target} ${mark(ok)} |`);
  if (!ok) misses.push(measure);
}

/** 3. The built CLI as CI runs it: `gate --phase all` on the demo evidence against `node -e 0`. */
async function startUpRow(): Promise<void> {
  await execa("npm", ["run", "build"], { cwd: ROOT });
  const demo = ["examples/demo/trajectory.jsonl", "examples/demo/curves/c078.jsonl", "examples/demo/curves/c023.jsonl", "examples/demo/curves/c086.jsonl", "--campaign", "examples/demo/campaign.yaml"];
  const gateArgs = ["dist/bin.js", "gate", "--phase", "all", ...demo];
  for (let i = 0; i < 3; i++) await wall(gateArgs); // warm the disk and Node's compile cache
  const nodeMs: number[] = [];
  const gateMs: number[] = [];
  for (let i = 0; i < STARTS; i++) {
    nodeMs.push(await wall(["-e", "0"]));
    gateMs.push(await wall(gateArgs));
  }
  const startRatio = median(gateMs) / median(nodeMs);
  row("`windtunnel gate --phase all`: 100-candidate trajectory, three 1,000-step curves, campaign plan; whole process", `${median(gateMs).toFixed(1)} ms`, `\`node -e 0\`: ${median(nodeMs).toFixed(1)} ms`, startRatio, "≤ 2", startRatio <= 2);
}

if (values["start-up-only"]) {
  // The start-up row alone (`npm run bench -- --start-up-only`): the issue's range over several runs.
  await startUpRow();
  for (const r of rows) console.log(r);
  process.exit(misses.length > 0 ? 1 : 0);
}

const dir = mkdtempSync(join(tmpdir(), "windtunnel-bench-"));
try {
  // 1. Metrics ingest: full validation against a bare readline + JSON.parse loop.
  const big = join(dir, "metrics-big.jsonl");
  const small = join(dir, "metrics-small.jsonl");
  await writeMetricsFile(big, LINES);
  await writeMetricsFile(small, Math.round(LINES / 10));
  const ours: Run[] = [];
  const bare: Run[] = [];
  for (let i = 0; i < REPEATS; i++) {
    bare.push(await child("bare", big));
    ours.push(await child("windtunnel", big));
  }
  if (ours[0]?.points !== LINES) throw new Error(`read ${ours[0]?.points} points, expected ${LINES}`);
  const oursMs = median(ours.map((r) => r.ms));
  const bareMs = median(bare.map((r) => r.ms));
  const rate = (ms: number): string => `${((LINES / ms) * 1000 / 1e6).toFixed(2)} M lines/s`;
  const smallRuns = await Promise.all(Array.from({ length: REPEATS }, () => child("windtunnel", small)));
  row(`metrics ingest, ${n(LINES)} lines (${(statSync(big).size / 1e6).toFixed(0)} MB), full validation`, `${rate(oursMs)} (${(oursMs / 1000).toFixed(2)} s)`, `bare readline + JSON.parse: ${rate(bareMs)} (${(bareMs / 1000).toFixed(2)} s)`, bareMs / oursMs, "≥ 0.5", bareMs / oursMs >= 0.5);
  const rssRatio = median(ours.map((r) => r.maxRssKiB)) / median(smallRuns.map((r) => r.maxRssKiB));
  row("ingest peak RSS, whole process", `${mib(median(ours.map((r) => r.maxRssKiB)))} at ${n(LINES)} lines`, `${mib(median(smallRuns.map((r) => r.maxRssKiB)))} at ${n(LINES / 10)} lines`, rssRatio, "flat, ≤ 1.25", rssRatio <= 1.25);
  const heapRatio = median(ours.map((r) => r.retainedKiB)) / median(smallRuns.map((r) => r.retainedKiB));
  row("ingest heap retained (after GC)", `${mib(median(ours.map((r) => r.retainedKiB)))} at ${n(LINES)} lines`, `${mib(median(smallRuns.map((r) => r.retainedKiB)))} at ${n(LINES / 10)} lines`, heapRatio, "flat, ≤ 1.1", heapRatio <= 1.1);

  // 2. Stress gates streaming a 1M-point curve: memory must not grow with the curve.
  const stressBig = await Promise.all(Array.from({ length: REPEATS }, () => child("stress", big)));
  const stressSmall = await Promise.all(Array.from({ length: REPEATS }, () => child("stress", small)));
  const sHeap = median(stressBig.map((r) => r.retainedKiB)) / median(stressSmall.map((r) => r.retainedKiB));
  row(`stress gates on a ${n(LINES)}-point curve, heap retained`, `${mib(median(stressBig.map((r) => r.retainedKiB)))} (${(median(stressBig.map((r) => r.ms)) / 1000).toFixed(2)} s)`, `${mib(median(stressSmall.map((r) => r.retainedKiB)))} at ${n(LINES / 10)} points`, sHeap, "flat, ≤ 1.1", sHeap <= 1.1);
  const sRss = median(stressBig.map((r) => r.maxRssKiB)) / median(stressSmall.map((r) => r.maxRssKiB));
  row(`stress gates on a ${n(LINES)}-point curve, peak RSS`, mib(median(stressBig.map((r) => r.maxRssKiB))), `${mib(median(stressSmall.map((r) => r.maxRssKiB)))} at ${n(LINES / 10)} points`, sRss, "flat, ≤ 1.25", sRss <= 1.25);

  await startUpRow();

  // 4. The lab: windtunnel's cost per candidate against the same trainer in a plain shell loop,
  //    and two slots against one on CPU-bound candidates (the reference trainer, equal-cost configs).
  const CANDIDATES = 40;
  const fake = join(ROOT, "test/fixtures/lab/trainer.mjs");
  const fastMenu = join(dir, "fast-menu.yaml");
  writeFileSync(fastMenu, `steps: 60\nknobs:\n  x: [${Array.from({ length: CANDIDATES }, (_, i) => i + 1).join(", ")}]\nbaseline:\n  x: 1\nfixed:\n  mode: ok\n`);
  const loopScript = join(dir, "loop.sh");
  writeFileSync(loopScript, `set -e\nfor x in $(seq 1 ${CANDIDATES}); do\n  WINDTUNNEL_CONFIG="{\\"x\\": $x, \\"mode\\": \\"ok\\"}" WINDTUNNEL_STEPS=60 WINDTUNNEL_SEED=0 WINDTUNNEL_LOG_EVERY=10 WINDTUNNEL_METRICS="$1/m$x.jsonl" "${process.execPath}" "${fake}" 2>>"$1/log"\ndone\n`);
  const timed = async (file: string, args: readonly string[]): Promise<number> => {
    const t0 = performance.now();
    const r = await execa(file, args, { cwd: ROOT, reject: false, env: { CI: "true" } });
    if (r.exitCode !== 0) throw new Error(`${file} ${args.join(" ")}: exit ${r.exitCode}\n${r.stderr}`);
    return performance.now() - t0;
  };
  const loopMs: number[] = [];
  const labMs: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const a = mkdtempSync(join(dir, "loop-"));
    loopMs.push(await timed("bash", [loopScript, a]));
    const b = mkdtempSync(join(dir, "lab-"));
    labMs.push(await timed(process.execPath, ["dist/bin.js", "lab", "sweep", "--menu", fastMenu, "--dir", b, "--candidates", String(CANDIDATES), "--repeats", "0", "--", process.execPath, fake]));
  }
  const perCandidate = (median(labMs) - median(loopMs)) / CANDIDATES;
  row(`\`lab sweep\`, ${CANDIDATES} candidates of a 60-step stand-in trainer: windtunnel's overhead per candidate`, `${(median(labMs) / CANDIDATES).toFixed(1)} ms per candidate`, `the same trainer in a bash loop: ${(median(loopMs) / CANDIDATES).toFixed(1)} ms`, median(labMs) / median(loopMs), `overhead ${perCandidate.toFixed(1)} ms < 50`, perCandidate < 50);

  const cpuMenu = join(dir, "cpu-menu.yaml");
  writeFileSync(cpuMenu, "steps: 60\nknobs:\n  lr: [0.001, 0.002, 0.003, 0.004, 0.005, 0.006]\nbaseline:\n  lr: 0.001\nfixed:\n  d_hidden: 128\n  n_layer: 2\n  batch: 128\n");
  const trainer = join(ROOT, "dist/trainer.js");
  const slotMs = async (k: number): Promise<number> => timed(process.execPath, ["dist/bin.js", "lab", "sweep", "--menu", cpuMenu, "--dir", mkdtempSync(join(dir, `p${k}-`)), "--candidates", "6", "--repeats", "0", "--parallel", String(k), "--", process.execPath, trainer]);
  const one: number[] = [];
  const two: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    one.push(await slotMs(1));
    two.push(await slotMs(2));
  }
  const speed = median(two) / median(one);
  row("`lab sweep --parallel 2` vs `--parallel 1`: 6 CPU-bound candidates of the reference trainer, wall time", `${(median(two) / 1000).toFixed(2)} s`, `${(median(one) / 1000).toFixed(2)} s`, speed, "≤ 0.6", speed <= 0.6);

  // 5. `windtunnel plan`: the Pulumi program offline under the mock runtime, on the sample evidence
  //    (100-candidate trajectory, three 1,000-step curves), against `gate` on the same evidence.
  const stackFile = writeBenchStack(join(dir, "Pulumi.bench.yaml"));
  const sample = SAMPLE;
  const planMs: number[] = [];
  const planGateMs: number[] = [];
  const planArgs = ["src/cli/bin.ts", "plan", "--stack-file", stackFile];
  const sampleGate = ["src/cli/bin.ts", "gate", join(sample, "trajectory.jsonl"), join(sample, "curves/c078.jsonl"), join(sample, "curves/c023.jsonl"), join(sample, "curves/c086.jsonl"), join(sample, "campaign.yaml")];
  await wall(planArgs);
  for (let i = 0; i < 5; i++) {
    planGateMs.push(await wall(sampleGate));
    planMs.push(await wall(planArgs));
  }
  row("`windtunnel plan` (from source): the Pulumi program under the mock runtime, 29 resources in 4 components, sample evidence; whole process", `${(median(planMs) / 1000).toFixed(2)} s`, `\`windtunnel gate\` on the same evidence: ${(median(planGateMs) / 1000).toFixed(2)} s`, median(planMs) / median(planGateMs), "< 3 s", median(planMs) < 3000);

  // 7. The report: a 100-candidate sweep, three 1,000-step curves and a 100K-point cloud curve over
  //    its envelope, drawn into one HTML file, as a whole process, against `gate` on the same files.
  const cloud = join(dir, "cloud.metrics.jsonl");
  // A validation loss every 50 steps, like a real run: the envelope (fitted to c078's val_loss) judges it.
  const lossAt = (i: number): number => 2.9 + 8 / Math.sqrt(i + 20) + (i === 77_777 ? 1.5 : 0);
  writeFileSync(cloud, Array.from({ length: 100_000 }, (_, i) => `{"step": ${i + 1}, "loss": ${lossAt(i).toFixed(5)}, ${(i + 1) % 50 === 0 ? `"val_loss": ${(lossAt(i) + 0.03).toFixed(5)}, ` : ""}"tokens": ${(i + 1) * 65536}}`).join("\n") + "\n");
  const envFile = join(dir, "envelope.json");
  await execa(process.execPath, ["src/cli/bin.ts", "forecast", join(sample, "curves/c078.jsonl"), "--out", envFile], { cwd: ROOT });
  const reportArgs = ["src/cli/bin.ts", "report", "--out", join(dir, "report.html"), "--envelope", envFile, "--cloud", cloud, join(sample, "trajectory.jsonl"), join(sample, "curves/c078.jsonl"), join(sample, "curves/c023.jsonl"), join(sample, "curves/c086.jsonl"), join(sample, "campaign.yaml")];
  const reportMs: number[] = [];
  const reportGateMs: number[] = [];
  await wall(reportArgs);
  for (let i = 0; i < 3; i++) {
    reportGateMs.push(await wall(sampleGate));
    reportMs.push(await wall(reportArgs));
  }
  const html = readFileSync(join(dir, "report.html"), "utf8");
  row("`windtunnel report`: 100-candidate sweep, three 1,000-step curves, a 100,000-point cloud curve (min–max downsampled, its one spike kept), HTML; whole process", `${(median(reportMs) / 1000).toFixed(2)} s, ${(html.length / 1024).toFixed(0)} KiB`, `\`windtunnel gate\` on the same evidence: ${(median(reportGateMs) / 1000).toFixed(2)} s`, median(reportMs) / median(reportGateMs), "< 2 s", median(reportMs) < 2000);

  // 6. The watchdog (bench/watchdog.ts).
  for (const r of await watchdogRows(ROOT, REPEATS)) row(r.measure, r.ours, r.base, r.ratio, r.target, r.ok);

  // 8. The rehearsal (windtunnel rehearse) of a bench stack: a healthy sanity day of the reference
  //    trainer, wall time against `plan` (which it runs first); and on the fail scenario, the node's
  //    own time from the failing command's end to its power-off call, against the watchdog's
  //    failed-run grace plus one metrics upload (what a node may take before it is torn down anyway).
  for (const r of await rehearsalRows(dir, median(planMs))) row(r.measure, r.ours, r.base, r.ratio, r.target, r.ok);

  console.log(`node ${process.version} · median of ${REPEATS} runs (ingest, stress, lab) and ${STARTS} starts (gate), alternating with the baseline\n`);
  console.log("| measure | windtunnel | baseline (same run) | ratio | target |");
  console.log("|---|---|---|---|---|");
  for (const r of rows) console.log(r);
  console.log("\nPeak RSS includes V8 growing its young generation during the first second of any allocation-heavy run; the retained heap is what the code itself holds.");
  if (misses.length > 0) console.log(`\nmissed: ${misses.join("; ")}`);
  process.exitCode = misses.length > 0 ? 1 : 0;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
