// npm run accuracy: how well `windtunnel forecast` predicts the later part of real runs from their
// early part, against the naive forecast "the last fitted value stays flat". Real public curves
// from ../shared/fixtures (never copied into the repo):
//  - the 48 GPT-2-small (124M) runs of modded-nanogpt track 3 (12 optimizer groups × 4 seeds),
//    val_loss every 125 steps: fit the first half of each run, predict the second half;
//  - the 60,000-step GPT-2-medium (350M) validation curve: fit steps ≤ 10,000, predict to 60,000.
// Errors are |predicted − actual| / actual over every point of the predicted window.
//
//   node bench/forecast-accuracy.ts [fixtures-dir]      (exit 1 if the forecast loses to the naive one)
import { existsSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { loadPolicy } from "../src/policy/load.ts";
import { forecast, expectedAt } from "../src/forecast/envelope.ts";
import { classifyEvidence, readMetricPoints } from "../src/judge/evaluate.ts";
import type { LogPreset } from "../src/evidence/names.ts";
import { maxOf } from "../src/gates/stats.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const FIXTURES = process.argv[2] ?? process.env["WINDTUNNEL_FIXTURES"] ?? resolve(ROOT, "../shared/fixtures");
const policy = { ...(await loadPolicy("default")).policy.forecast, axis: "step" as const, series: "val_loss" as const };

interface RunError { name: string; forecastMean: number; forecastMax: number; naiveMean: number; naiveMax: number; points: number }

export async function evaluate(file: string, preset: LogPreset, fitTo: (total: number) => number): Promise<RunError | { name: string; refused: string }> {
  const read = { logPreset: preset };
  const ev = await classifyEvidence([file], read);
  const points = (await readMetricPoints(ev.curves[0] as NonNullable<(typeof ev.curves)[0]>, read)).points.filter((p) => p.val_loss !== undefined);
  const total = maxOf(points.map((p) => p.step));
  const cut = fitTo(total);
  const fitPts = points.filter((p) => p.step <= cut);
  const window = points.filter((p) => p.step > cut);
  const r = forecast({ points: fitPts.map((p) => ({ step: p.step, val_loss: p.val_loss ?? null })), policy, until: total });
  if (!r.ok) return { name: file, refused: r.reason };
  const last = (fitPts.at(-1) as { val_loss: number }).val_loss;
  const fe = window.map((p) => Math.abs((expectedAt(r.envelope, p.step) as number) - (p.val_loss as number)) / (p.val_loss as number));
  const ne = window.map((p) => Math.abs(last - (p.val_loss as number)) / (p.val_loss as number));
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  return { name: file, forecastMean: mean(fe), forecastMax: maxOf(fe), naiveMean: mean(ne), naiveMax: maxOf(ne), points: window.length };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;

if (import.meta.main) {
  if (!existsSync(join(FIXTURES, "curves"))) {
    console.error(`npm run accuracy needs the real curves in ${FIXTURES} (../shared/fixtures); set WINDTUNNEL_FIXTURES or give the folder as the first argument`);
    process.exit(2);
  }
  const groups = join(FIXTURES, "curves/modded-nanogpt-optimizers");
  const small: RunError[] = [];
  const refused: string[] = [];
  for (const g of readdirSync(groups).sort()) {
    for (const f of readdirSync(join(groups, g)).sort()) {
      const r = await evaluate(join(groups, g, f), "modded-nanogpt", (t) => t / 2);
      if ("refused" in r) refused.push(`${g}/${f}: ${r.refused}`);
      else small.push(r);
    }
  }
  const medium = await evaluate(join(FIXTURES, "curves/modded-nanogpt-speedrun/gpt2-medium-60k-val.log"), "tel", () => 10_000);
  const rows: string[] = [];
  const row = (what: string, rs: RunError[]) => {
    rows.push(`| ${what} | ${pct(median(rs.map((r) => r.forecastMean)))} / ${pct(maxOf(rs.map((r) => r.forecastMean)))} | ${pct(median(rs.map((r) => r.naiveMean)))} / ${pct(maxOf(rs.map((r) => r.naiveMean)))} | ${pct(median(rs.map((r) => r.forecastMax)))} / ${pct(maxOf(rs.map((r) => r.forecastMax)))} | ${pct(median(rs.map((r) => r.naiveMax)))} / ${pct(maxOf(rs.map((r) => r.naiveMax)))} |`);
  };
  row(`modded-nanogpt track 3, ${small.length} runs of GPT-2 small: fit the first half, predict the second (${median(small.map((r) => r.points))} points each)`, small);
  if ("refused" in medium) refused.push(`gpt2-medium-60k: ${medium.refused}`);
  else row(`GPT-2 medium, 60,000 steps: fit steps 50–10,000, predict 10,000–60,000 (${medium.points} points)`, [medium]);
  console.log("| curves | forecast: mean error, median / worst run | naive (last value flat): mean error | forecast: largest error, median / worst run | naive: largest error |");
  console.log("|---|---|---|---|---|");
  for (const r of rows) console.log(r);
  if (refused.length > 0) console.log(`\nrefused (${refused.length}):\n${refused.join("\n")}`);
  const all = "refused" in medium ? small : [...small, medium];
  const beats = all.filter((r) => r.forecastMean < r.naiveMean).length;
  console.log(`\nThe forecast beats the naive one on ${beats} of ${all.length} runs (mean error).`);
  process.exitCode = median(all.map((r) => r.forecastMean)) < median(all.map((r) => r.naiveMean)) && refused.length === 0 ? 0 : 1;
}
