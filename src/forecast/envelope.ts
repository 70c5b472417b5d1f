// envelope.json: the loss the cloud run is expected to follow over its verification window, with
// a band. Made by `windtunnel forecast` from a Phase 2 curve (fit, then the proxy → target size
// shift), or written by hand: the verify gate reads only `points`, `band`, `axis` and `unit`.
import "../evidence/zod-setup.ts";
import * as z from "zod/mini";
import { described, lazy } from "../evidence/schemas.ts";
import type { ForecastPolicy } from "../policy/schema.ts";
import { evalPowerLaw, fitPowerLaw, type PowerLawFit } from "./fit.ts";
import { natsToBpb, SCALING_CONSTANTS, sizeShift } from "./scaling.ts";

export const envelopeSchema = lazy(() =>
  z.object({
    envelope_version: z.literal(1),
    axis: described(z.enum(["tokens", "step"]), "what x is: tokens consumed, or optimizer steps"),
    unit: described(z.enum(["nats", "bpb"]), "loss unit of expected: nats per token, or bits per byte"),
    series: z.optional(z.enum(["loss", "val_loss", "val_bpb"])),
    band: described(z.number().check(z.positive(), z.maximum(1)), "half-width of the forecast's own band, relative to expected"),
    points: described(
      z.array(z.object({ x: z.number().check(z.positive()), expected: z.number().check(z.positive()) })).check(z.minLength(2), z.refine((ps) => ps.every((p, i) => i === 0 || p.x > (ps[i - 1] as { x: number }).x), { error: "x must increase" })),
      "the expected loss along the window, x increasing; linear in log x between points",
    ),
  }).register(z.globalRegistry, { title: "windtunnel envelope" }),
);

export type Envelope = z.infer<ReturnType<typeof envelopeSchema>> & {
  fit?: PowerLawFit & { x_axis: string };
  projection?: { constants: string; source: string; n_proxy: number; n_target: number; shift_nats: number; shift: number } | null;
  source?: { curve: string; sha256?: string };
};

/** Expected loss at x: interpolated in log x; undefined outside the envelope's points. */
export function expectedAt(env: Pick<Envelope, "points">, x: number): number | undefined {
  const ps = env.points;
  const first = ps[0];
  const last = ps[ps.length - 1];
  if (!first || !last || x < first.x || x > last.x) return undefined;
  let lo = 0;
  let hi = ps.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if ((ps[mid] as { x: number }).x <= x) lo = mid;
    else hi = mid;
  }
  const a = ps[lo] as { x: number; expected: number };
  const b = ps[hi] as { x: number; expected: number };
  if (b.x === a.x) return a.expected;
  const t = (Math.log(x) - Math.log(a.x)) / (Math.log(b.x) - Math.log(a.x));
  return a.expected + t * (b.expected - a.expected);
}

export interface CurveSample {
  step: number;
  tokens?: number;
  loss?: number;
  val_loss?: number | null;
  val_bpb?: number | null;
}

export interface ForecastInput {
  points: readonly CurveSample[];
  policy: ForecastPolicy;
  /** Parameters of the proxy and the target: the size shift; omit both for no projection. */
  nProxy?: number;
  nTarget?: number;
  /** A calibrated size term (A, α) from the user's proxies; beats the policy's constants. */
  calibrated?: { A: number; alpha: number };
  /** Bytes per token of the proxy's tokenizer: needed to shift a curve logged in bits per byte. */
  bytesPerToken?: number;
  /** Window end on the x axis (default: horizon × the last fitted x). */
  until?: number;
  /** Points in the envelope. @default 200 */
  resolution?: number;
}

/** A refusal; `option` names the caller's input at fault (a usage error), else the curve is. */
export type ForecastOutcome = { ok: true; envelope: Envelope; fit: PowerLawFit; series: string; axis: "tokens" | "step" } | { ok: false; reason: string; option?: "until" | "bytesPerToken" };

export function forecast(i: ForecastInput): ForecastOutcome {
  const p = i.policy;
  const hasTokens = i.points.some((q) => q.tokens !== undefined);
  const axis = p.axis === "auto" ? (hasTokens ? "tokens" : "step") : p.axis;
  if (axis === "tokens" && !hasTokens) return { ok: false, reason: "axis tokens: the curve logs no tokens" };
  // auto: validation loss when it has enough points to fit, else the (denser) training loss.
  const fitted = (k: "loss" | "val_loss" | "val_bpb"): number => i.points.filter((q) => q.step > p.exclude_steps && typeof q[k] === "number" && Number.isFinite(q[k])).length;
  const series = p.series !== "auto" ? p.series : fitted("val_loss") >= p.min_points ? "val_loss" : fitted("val_bpb") >= p.min_points ? "val_bpb" : "loss";
  const unit = series === "val_bpb" ? "bpb" : "nats";
  const xy = i.points
    .filter((q) => q.step > p.exclude_steps)
    .map((q) => ({ x: axis === "tokens" ? (q.tokens ?? Number.NaN) : q.step, y: (series === "val_bpb" ? q.val_bpb : series === "val_loss" ? q.val_loss : q.loss) ?? Number.NaN }))
    .filter((q) => Number.isFinite(q.x) && Number.isFinite(q.y));
  const r = fitPowerLaw(xy, { minPoints: p.min_points, minR2: p.min_r2 });
  if (!r.ok) return { ok: false, reason: `${r.reason} (${series} against ${axis}, after step ${p.exclude_steps})` };
  const fit = r.fit;

  let projection: Envelope["projection"] = null;
  let shift = 0;
  if (i.nProxy !== undefined && i.nTarget !== undefined) {
    const k = i.calibrated ?? p.overrides ?? SCALING_CONSTANTS[p.constants];
    const shiftNats = sizeShift(i.nProxy, i.nTarget, k);
    if (unit === "bpb" && i.bytesPerToken === undefined) return { ok: false, option: "bytesPerToken", reason: "the curve is in bits per byte: the size shift (in nats per token) needs the tokenizer's bytes per token" };
    shift = unit === "bpb" ? natsToBpb(shiftNats, i.bytesPerToken as number) : shiftNats;
    const source = i.calibrated ? "calibrated from your proxies" : p.overrides ? "the policy's overrides" : SCALING_CONSTANTS[p.constants].source;
    projection = { constants: i.calibrated ? "calibrated" : p.overrides ? "overrides" : p.constants, source, n_proxy: i.nProxy, n_target: i.nTarget, shift_nats: shiftNats, shift };
  }
  const from = fit.xRange[1];
  const until = i.until ?? from * p.horizon;
  if (!(until > from)) return { ok: false, option: "until", reason: `${until} is not after the last fitted point (${axis} ${from}): the envelope's window runs from there to --until` };
  const n = i.resolution ?? 200;
  const points = Array.from({ length: n }, (_, k) => {
    const x = from * (until / from) ** (k / (n - 1));
    return { x: Number(x.toPrecision(8)), expected: Number((evalPowerLaw(fit, x) + shift).toPrecision(8)) };
  });
  if (points.some((q) => !(q.expected > 0))) return { ok: false, reason: "the projected loss is not positive over the window: the size shift is larger than the curve allows" };
  const band = Math.max(p.band.floor, p.band.sigmas * fit.sigmaRel);
  return {
    ok: true,
    fit,
    series,
    axis,
    envelope: { envelope_version: 1, axis, unit, series: series as "loss" | "val_loss" | "val_bpb", band, points, fit: { ...fit, x_axis: axis }, projection },
  };
}
