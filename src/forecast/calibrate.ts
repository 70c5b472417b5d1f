// Calibrating the size term from proxies at several sizes (`forecast --calibrate`), instead of
// published constants: each proxy's own fit, read at the x all of them reached, gives one
// (params, loss) point; the size term is fitted through those points. Pure: the CLI reads the files.
import type { MetricPoint } from "../evidence/schemas.ts";
import type { ForecastPolicy } from "../policy/schema.ts";
import { minOf } from "../gates/stats.ts";
import { evalPowerLaw, fitPowerLaw } from "./fit.ts";
import { chooseSelection, readPoint } from "./reading.ts";
import { calibrateSizeTerm } from "./scaling.ts";

export interface Proxy {
  /** What the curve is called in a refusal (its file). */
  name: string;
  params: number;
  points: readonly MetricPoint[];
}

export type Calibration =
  | { ok: true; A: number; alpha: number; x: number; r2: number; proxies: number }
  | { ok: false; reason: string };

export function calibrate(proxies: readonly Proxy[], policy: ForecastPolicy): Calibration {
  const fitted = [];
  for (const p of proxies) {
    // The same series rule as the forecast itself: validation loss when the proxy logs it.
    const sel = chooseSelection(p.points, policy);
    if (!sel.ok) return { ok: false, reason: `cannot calibrate from ${p.name}: ${sel.reason}` };
    const xy = p.points.filter((q) => q.step > policy.exclude_steps).map((q) => readPoint(sel.selection, q)).filter((r) => r !== undefined).map((r) => ({ x: r.x, y: r.y }));
    const f = fitPowerLaw(xy, { minPoints: policy.min_points });
    if (!f.ok) return { ok: false, reason: `cannot calibrate from ${p.name}: ${f.reason}` };
    fitted.push({ params: p.params, fit: f.fit });
  }
  const x = minOf(fitted.map((p) => p.fit.xRange[1]));
  const c = calibrateSizeTerm(fitted.map((p) => ({ params: p.params, loss: evalPowerLaw(p.fit, x) })));
  if (!c.ok) return { ok: false, reason: `cannot calibrate the size term: ${c.reason}` };
  return { ok: true, A: c.fit.b, alpha: c.fit.c, x, r2: c.fit.r2, proxies: fitted.length };
}
