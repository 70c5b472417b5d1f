// `windtunnel forecast`: fit the Phase 2 curve, project it to the target size, write envelope.json
// (the expected cloud curve with its band) for the verify gate. Exit 0 with a forecast, 1 when it
// refuses (too few points, no convergence, a poor fit), 2 for bad input.
import { basename } from "node:path";
import { GateRefusal, UsageError } from "../../evidence/errors.ts";
import { assertNotAnInput, writeFileAtomic } from "../../evidence/files.ts";
import { loadPolicy, policyFileOf } from "../../policy/load.ts";
import { forecast, type Envelope } from "../../forecast/envelope.ts";
import { evalPowerLaw, fitPowerLaw } from "../../forecast/fit.ts";
import { calibrateSizeTerm } from "../../forecast/scaling.ts";
import { fmt, minOf } from "../../gates/stats.ts";
import { classifyEvidence, readMetricPoints } from "../../judge/evaluate.ts";
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
  if (flags.out !== undefined) assertNotAnInput("--out", [flags.out], [file, ...[policyFileOf(flags.policy)].filter((f): f is string => f !== undefined), ...flags.calibrate.map((pair) => pair.replace(/^[^=]*=/, ""))]);
  const policy = (await loadPolicy(flags.policy)).policy;
  let calibrated: { A: number; alpha: number } | undefined;
  if (flags.calibrate.length > 0) {
    // Each proxy's own fit, read at the x all of them reached: the size term's data points.
    const proxies = [];
    for (const pair of flags.calibrate) {
      const m = /^([\d.eE+]+)=(.+)$/.exec(pair);
      if (!m) throw new UsageError(`--calibrate: expected params=curve, got ${JSON.stringify(pair)}`);
      const points = (await curvePoints(m[2] as string, flags.read)).filter((p) => p.step > policy.forecast.exclude_steps);
      const xy = points.map((p) => ({ x: p.tokens ?? p.step, y: (p.val_loss ?? p.loss) as number }));
      const f = fitPowerLaw(xy, { minPoints: policy.forecast.min_points, minR2: policy.forecast.min_r2 });
      if (!f.ok) throw new GateRefusal(`cannot calibrate from ${m[2]}: ${f.reason}`);
      proxies.push({ params: Number(m[1]), fit: f.fit });
    }
    const x = minOf(proxies.map((p) => p.fit.xRange[1]));
    const c = calibrateSizeTerm(proxies.map((p) => ({ params: p.params, loss: evalPowerLaw(p.fit, x) })));
    if (!c.ok) throw new GateRefusal(`cannot calibrate the size term: ${c.reason}`);
    calibrated = { A: c.fit.b, alpha: c.fit.c };
    io.out(`calibrated size term from ${proxies.length} proxies at x = ${fmt(x)}: A = ${fmt(calibrated.A)}, α = ${fmt(calibrated.alpha)} (R² ${c.fit.r2.toFixed(3)})`);
  }
  const points = (await curvePoints(file, flags.read)).filter((p) => flags.fitToStep === undefined || p.step <= flags.fitToStep);
  const r = forecast({
    points: points.map((p) => ({ step: p.step, ...(p.tokens !== undefined ? { tokens: p.tokens } : {}), ...(p.loss !== undefined ? { loss: p.loss } : {}), val_loss: p.val_loss ?? null, val_bpb: p.val_bpb ?? null })),
    policy: policy.forecast,
    ...(flags.proxyParams !== undefined ? { nProxy: flags.proxyParams } : {}),
    ...(flags.targetParams !== undefined ? { nTarget: flags.targetParams } : {}),
    ...(flags.bytesPerToken !== undefined ? { bytesPerToken: flags.bytesPerToken } : {}),
    ...(flags.until !== undefined ? { until: flags.until } : {}),
    ...(calibrated ? { calibrated } : {}),
  });
  if (!r.ok && r.option !== undefined) throw new UsageError(`--${r.option === "until" ? "until" : "bytes-per-token"}: ${r.reason}`);
  if (!r.ok) throw new GateRefusal(`${file}: no forecast: ${r.reason}`);
  const env: Envelope = { ...r.envelope, source: { curve: basename(file) } };
  if (flags.out !== undefined) await writeFileAtomic(flags.out, `${JSON.stringify(env, null, 2)}\n`);
  if (flags.format === "json") {
    io.out(JSON.stringify(env, null, 2));
    return 0;
  }
  const f = r.fit;
  const first = env.points[0];
  const last = env.points[env.points.length - 1];
  io.out(`windtunnel forecast: ${basename(file)} · ${r.series} against ${r.axis} · after step ${policy.forecast.exclude_steps}`);
  io.out(`  fit      L(x) = ${fmt(f.a)} + ${fmt(f.b)} · x^−${fmt(f.c)}   over ${f.n} points, x ${fmt(f.xRange[0])}–${fmt(f.xRange[1])}`);
  io.out(`  quality  R² ${f.r2.toFixed(4)} · residuals σ ${(f.sigmaRel * 100).toFixed(3)}% (robust), worst ${(f.maxRel * 100).toFixed(2)}%`);
  io.out(env.projection ? `  target   ${fmt(env.projection.n_proxy)} → ${fmt(env.projection.n_target)} params: ${env.projection.shift > 0 ? "+" : ""}${fmt(env.projection.shift)} ${env.unit} (${env.projection.constants}: ${env.projection.source})` : "  target   no size shift (give --proxy-params and --target-params)");
  io.out(`  envelope ${fmt(first?.expected ?? 0)} at ${r.axis} ${fmt(first?.x ?? 0)} → ${fmt(last?.expected ?? 0)} at ${fmt(last?.x ?? 0)}, band ±${(env.band * 100).toFixed(2)}% (the verify gate allows ±${(policy.verify.band * 100).toFixed(0)}%)`);
  if (flags.out !== undefined) io.out(`  wrote ${flags.out}`);
  return 0;
}
