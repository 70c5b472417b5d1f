// `windtunnel forecast`: fit the Phase 2 curve, project it to the target size, write envelope.json
// (the expected cloud curve with its band) for the verify gate. Exit 0 with a forecast, 1 when it
// refuses (too few points, no convergence, a poor fit), 2 for bad input.
import { basename } from "node:path";
import { GateRefusal, UsageError } from "../../common/errors.ts";
import { assertNotAnInput, writeFileAtomic } from "../../common/files.ts";
import { loadPolicy, policyFileOf } from "../../policy/load.ts";
import { forecast, type Envelope } from "../../forecast/envelope.ts";
import { calibrate, type Proxy } from "../../forecast/calibrate.ts";
import { SERIES_WORDS } from "../../forecast/reading.ts";
import type { Schedule } from "../../forecast/schedule.ts";
import { fmt, pct } from "../../common/format.ts";
import { classifyEvidence, readMetricPoints } from "../../judge/evidence.ts";
import type { ReadOptions } from "../../evidence/read.ts";
import type { Io } from "../io.ts";

export interface ForecastFlags {
  policy: string;
  out?: string;
  proxyParams?: number;
  targetParams?: number;
  bytesPerToken?: number;
  until?: number;
  /** `params=curve` pairs: proxies at ≥ 3 sizes to calibrate the size term. */
  calibrate: string[];
  /** Fit only the points up to this step (forecast the rest of a curve you already have). */
  fitToStep?: number;
  /** The target run's learning-rate schedule (--schedule total=…,warmup=…,shape=…). */
  schedule?: Schedule;
  /** A stack file whose windtunnel:schedule names it instead (--stack). */
  stack?: string;
  format: "table" | "json";
  read: ReadOptions;
}

async function curvePoints(file: string, read: ReadOptions) {
  const ev = await classifyEvidence([file], read);
  const c = ev.curves[0];
  if (!c) throw new UsageError(`${file}: expected a loss curve (metrics JSONL or a training log), not a trajectory or plan`);
  return (await readMetricPoints(c, read)).points;
}

export async function forecastCommand(file: string, flags: ForecastFlags, io: Io): Promise<number> {
  if ((flags.proxyParams === undefined) !== (flags.targetParams === undefined)) throw new UsageError("--proxy-params and --target-params go together (or neither: no size shift)");
  if (flags.out !== undefined) assertNotAnInput("--out", [flags.out], [file, ...[policyFileOf(flags.policy), flags.stack].filter((f): f is string => f !== undefined), ...flags.calibrate.map((pair) => pair.replace(/^[^=]*=/, ""))]);
  const policy = (await loadPolicy(flags.policy)).policy;
  let schedule = flags.schedule;
  if (flags.stack !== undefined) {
    const { readStackFile } = await import("../../infra/stack-file.ts");
    schedule = (await readStackFile(flags.stack)).config.schedule;
    if (schedule === undefined) throw new UsageError(`--stack ${flags.stack}: the stack names no windtunnel:schedule (the target run's learning-rate schedule), so there is nothing to forecast for; add it, or give --schedule`);
  }
  let calibrated: { A: number; alpha: number } | undefined;
  if (flags.calibrate.length > 0) {
    const proxies: Proxy[] = [];
    for (const pair of flags.calibrate) {
      const m = /^([\d.eE+]+)=(.+)$/.exec(pair);
      if (!m) throw new UsageError(`--calibrate: expected params=curve, got ${JSON.stringify(pair)}`);
      proxies.push({ name: m[2] as string, params: Number(m[1]), points: await curvePoints(m[2] as string, flags.read) });
    }
    const c = calibrate(proxies, policy.forecast);
    if (!c.ok) throw new GateRefusal(c.reason);
    calibrated = { A: c.A, alpha: c.alpha };
    io.out(`calibrated size term from ${c.proxies} proxies at x = ${fmt(c.x)}: A = ${fmt(c.A)}, α = ${fmt(c.alpha)} (R² ${c.r2.toFixed(3)})`);
  }
  const points = (await curvePoints(file, flags.read)).filter((p) => flags.fitToStep === undefined || p.step <= (flags.fitToStep as number));
  const r = forecast({
    points,
    policy: policy.forecast,
    ...(flags.proxyParams !== undefined ? { nProxy: flags.proxyParams } : {}),
    ...(flags.targetParams !== undefined ? { nTarget: flags.targetParams } : {}),
    ...(flags.bytesPerToken !== undefined ? { bytesPerToken: flags.bytesPerToken } : {}),
    ...(flags.until !== undefined ? { until: flags.until } : {}),
    ...(schedule !== undefined ? { schedule } : {}),
    ...(calibrated ? { calibrated } : {}),
  });
  if (!r.ok && r.option !== undefined) throw new UsageError(`--${r.option === "bytesPerToken" ? "bytes-per-token" : r.option}: ${r.reason}`);
  if (!r.ok) throw new GateRefusal(`${file}: no forecast: ${r.reason}`);
  const env: Envelope = { ...r.envelope, source: { curve: basename(file) } };
  if (flags.out !== undefined) await writeFileAtomic(flags.out, `${JSON.stringify(env, null, 2)}\n`);
  if (flags.format === "json") {
    io.out(JSON.stringify(env, null, 2));
    return 0;
  }
  for (const line of describeForecast(env, policy.verify.band, policy.forecast.exclude_steps)) io.out(line);
  if (flags.out !== undefined) io.out(`  wrote ${flags.out}`);
  return 0;
}


/** What a forecast says, in lines: shared by `forecast` and the demo. */
export function describeForecast(env: Envelope, verifyBand: number, excluded: number): string[] {
  const f = env.fit;
  const first = env.points[0];
  const last = env.points[env.points.length - 1];
  const lines = [`windtunnel forecast: ${env.source?.curve ?? "a curve"} · ${SERIES_WORDS[env.series ?? "loss"]} against ${env.axis} · after step ${excluded}`];
  if (f) {
    lines.push(`  law      ${f.formula}   over ${f.n} points, ${env.axis} ${fmt(f.x_range[0])}–${fmt(f.x_range[1])} (R² ${f.r2.toFixed(4)})`);
    lines.push(`  lr       ${f.lr === "none" ? "not logged and no --schedule: schedule-free laws only (they cannot foresee a learning-rate decay)" : f.lr === "logged" ? "the curve's own, held at its last value past it (name the run's schedule with --schedule)" : f.lr}`);
    lines.push(`  chosen   by a rolling-origin backtest on the curve: ${f.candidates.map((c) => `${c.formula.replace(/^L = /, "")} → error ${c.backtest_error === null ? "—" : pct(c.backtest_error, 2)}, weight ${pct(c.weight, 0)}`).join("; ")}`);
  }
  lines.push(env.projection ? `  target   ${fmt(env.projection.n_proxy)} → ${fmt(env.projection.n_target)} params: ${env.projection.shift > 0 ? "+" : ""}${fmt(env.projection.shift)} ${env.unit} (${env.projection.constants}: ${env.projection.source})` : "  target   no size shift (give --proxy-params and --target-params)");
  const bandFirst = first?.band ?? env.band;
  lines.push(`  envelope ${fmt(first?.expected ?? 0)} at ${env.axis} ${fmt(first?.x ?? 0)} → ${fmt(last?.expected ?? 0)} at ${fmt(last?.x ?? 0)}; its own band ±${pct(bandFirst, 2)} → ±${pct(env.band, 2)}${env.coverage !== undefined ? `, calibrated to hold ${pct(env.coverage, 0)} of held-out points` : ""}`);
  const wide = env.points.find((q) => (q.band ?? env.band) > verifyBand);
  if (wide) lines.push(`  note     the band is wider than the verify gate's ±${pct(verifyBand, 2)} from ${env.axis} ${fmt(wide.x)} on: there the forecast is too uncertain to verify at ±${pct(verifyBand, 2)}, and the gate judges against the band instead (fit a longer Phase 2, or verify a shorter window)`);
  else lines.push(`  verify   the band stays within the verify gate's ±${pct(verifyBand, 2)} over the whole window`);
  return lines;
}
