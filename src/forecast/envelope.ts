// envelope.json: the loss the cloud run is expected to follow over its verification window, with
// a band that widens with the horizon. Made by `windtunnel forecast` from a Phase 2 curve (the
// laws of laws.ts, chosen by a backtest on the curve, then the proxy → target size shift), or
// written by hand: the verify gate reads only `points` (and their `band`), `band`, `axis` and
// `series`; `fit`, `projection` and `source` say where it came from and survive a read.
import { pct } from "../common/format.ts";
import "../common/zod-setup.ts";
import * as z from "zod/mini";
import { described, lazy } from "../evidence/schemas.ts";
import type { ForecastPolicy } from "../policy/schema.ts";
import { fitLaws, type Candidate } from "./laws.ts";
import { chooseSelection, describeFound, readPoint, type LossSeries, type ReadablePoint, type Reading } from "./reading.ts";
import { lrSeries, type Schedule } from "./schedule.ts";
import { natsToBpb, SCALING_CONSTANTS, sizeShift } from "./scaling.ts";
import { maxOf, minOf } from "../gates/stats.ts";

const positiveNumber = () => z.number().check(z.positive());
const relative = () => z.number().check(z.positive(), z.maximum(1));

export const envelopeSchema = lazy(() =>
  z.object({
    envelope_version: z.literal(1),
    axis: described(z.enum(["tokens", "step"]), "what x is: tokens consumed, or optimizer steps"),
    unit: described(z.enum(["nats", "bpb"]), "loss unit of expected: nats per token, or bits per byte"),
    series: described(z.optional(z.enum(["loss", "val_loss", "val_bpb"])), "the series expected forecasts and the verify gate reads; default loss (training loss)"),
    band: described(relative(), "half-width of the forecast's own band at the window's end, relative to expected"),
    coverage: described(z.optional(relative()), "the share of held-out points the band is calibrated to hold (e.g. 0.9)"),
    points: described(
      z.array(z.object({ x: positiveNumber(), expected: positiveNumber(), band: described(z.optional(relative()), "the band's half-width here (default: band)") })).check(z.minLength(2), z.refine((ps) => ps.every((p, i) => i === 0 || p.x > (ps[i - 1] as { x: number }).x), { error: "x must increase" })),
      "the expected loss along the window, x increasing; linear in log x between points",
    ),
    // What the envelope came from, kept through a read so the gate can say it (the verify gate
    // itself reads only points, band, axis and series).
    // Any object: an envelope written by an older windtunnel recorded another fit (a, b, c), and the gate needs none of it.
    fit: described(z.optional(z.looseObject({ law: z.optional(z.string()), formula: z.optional(z.string()), n: z.optional(z.number()) })), "the fitted law: its formula, the candidates and their backtest errors (windtunnel forecast)"),
    projection: described(z.optional(z.nullable(z.looseObject({ constants: z.string(), source: z.string(), n_proxy: positiveNumber(), n_target: positiveNumber(), shift_nats: z.number(), shift: z.number() }))), "the proxy → target size shift, or null for none"),
    source: described(z.optional(z.looseObject({ curve: z.string(), sha256: z.optional(z.string()) })), "the Phase 2 curve fitted"),
    schedule: described(z.optional(z.looseObject({})), "the target run's learning-rate schedule the forecast assumed"),
  }).register(z.globalRegistry, { title: "windtunnel envelope" }),
);

export type Envelope = Omit<z.infer<ReturnType<typeof envelopeSchema>>, "fit"> & { fit?: FitRecord };

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

/** Where an envelope came from, in words: its law and points, an older windtunnel's fit, or none (hand-written). */
export function describeFit(env: Pick<Envelope, "fit" | "source">): string {
  const f = env.fit as Partial<FitRecord> | undefined;
  if (!f) return "an envelope written by hand (no fit recorded)";
  if (typeof f.formula !== "string") return "a fit recorded by an older windtunnel (no formula; forecast again to see its law and band)";
  return `${f.formula}, fitted to ${f.n} points of ${env.source?.curve ?? "a Phase 2 curve"}${typeof f.r2 === "number" ? ` (R² ${f.r2.toFixed(3)})` : ""}`;
}

/**
 * What the forecast assumed of the run's learning rate, as the verify gate says it beside a
 * failure (a decay the forecast did not know of lowers the loss below it; a wrong schedule moves
 * it either way). Undefined for a hand-written envelope.
 */
export function assumptionOf(env: { fit?: { lr?: unknown } | undefined; schedule?: Record<string, unknown> | undefined }): string | undefined {
  const s = env.schedule;
  if (s && typeof s["total_steps"] === "number") {
    const decay = s["shape"] === "constant" ? "constant after warmup" : `${String(s["shape"])} decay over the last ${Math.round(Number(s["cooldown_frac"]) * 100)}% to ${Math.round(Number(s["final_frac"]) * 100)}% of the peak`;
    return `the forecast assumed the learning-rate schedule ${decay}, ${s["total_steps"]} steps, ${s["warmup_steps"]} of warmup (is that this run's?)`;
  }
  const lr = env.fit?.lr;
  if (lr === "none") return "the forecast knew no learning-rate schedule (a decay it did not know of lowers the loss below it: forecast with --schedule or --stack)";
  if (lr === "logged") return "the forecast held the proxy's last logged learning rate past its curve (name this run's schedule: forecast with --schedule or --stack)";
  return undefined;
}

/** The forecast's own band at x (relative half-width): the points' bands in log x, else the envelope's one band. */
export function bandAt(env: Pick<Envelope, "points" | "band">, x: number): number {
  const ps = env.points;
  if (!ps.some((p) => p.band !== undefined)) return env.band;
  let i = 0;
  while (i < ps.length - 1 && (ps[i + 1] as { x: number }).x <= x) i++;
  const a = ps[i] as { x: number; band?: number | undefined };
  const b = (ps[i + 1] ?? a) as { x: number; band?: number | undefined };
  const ba = a.band ?? env.band;
  const bb = b.band ?? env.band;
  if (b.x === a.x || x <= a.x) return ba;
  if (x >= b.x) return bb;
  return ba + ((Math.log(x) - Math.log(a.x)) / (Math.log(b.x) - Math.log(a.x))) * (bb - ba);
}

/** What the envelope records of its fit (kept through a read; the gate's forecast row shows it). */
export interface FitRecord {
  law: string;
  formula: string;
  n: number;
  x_axis: "tokens" | "step";
  x_range: [number, number];
  r2: number;
  /** Where the learning rate came from: the curve's own log, the named schedule, or none (schedule-free laws). */
  lr: "logged" | "schedule" | "logged, then the schedule" | "none";
  coverage: number;
  band: { per_log_horizon: number; floor: number; noise: number };
  candidates: Omit<Candidate, "predict">[];
  /** The fitted law over the fitted range, on the envelope's axis (for the report). */
  curve: { x: number; y: number }[];
  [k: string]: unknown;
}

export interface ForecastInput {
  points: readonly ReadablePoint[];
  policy: ForecastPolicy;
  /** Parameters of the proxy and the target: the size shift; omit both for no projection. */
  nProxy?: number;
  nTarget?: number;
  /** A calibrated size term (A, α) from the user's proxies; beats the policy's constants. */
  calibrated?: { A: number; alpha: number };
  /** Bytes per token of the proxy's tokenizer: needed to shift a curve logged in bits per byte. */
  bytesPerToken?: number;
  /** Window end on the x axis (default: the schedule's last step, else horizon × the last fitted x). */
  until?: number;
  /** The target run's learning-rate schedule (steps): turns on the annealing law, and sets the window's end. */
  schedule?: Schedule;
  /** Points in the envelope. @default 200 */
  resolution?: number;
}

/** A refusal; `option` names the caller's input at fault (a usage error), else the curve is. */
export type ForecastOutcome = { ok: true; envelope: Envelope & { fit: FitRecord }; series: LossSeries; axis: "tokens" | "step" } | { ok: false; reason: string; option?: "until" | "bytesPerToken" | "schedule" };

/** The most steps a forecast on the learning rate follows (its sums are per step). */
export const MAX_STEPS = 5_000_000;

/** Tokens per step of a curve (the median ratio), to put a step-based law on the tokens axis. */
function tokensPerStep(points: readonly ReadablePoint[]): number | undefined {
  const r = points.filter((p) => p.step > 0 && p.tokens !== undefined && p.tokens > 0).map((p) => (p.tokens as number) / p.step).sort((a, b) => a - b);
  return r.length > 0 ? (r[r.length >> 1] as number) : undefined;
}

/** The learning rate of every update 0 … n − 1 from the curve's logged `lr` (linear between logged steps, held past the last). */
function loggedLr(points: readonly ReadablePoint[], n: number): { lr: Float64Array; lastStep: number } | undefined {
  const logged = points.filter((p) => typeof p.lr === "number" && Number.isFinite(p.lr) && (p.lr as number) >= 0).map((p) => ({ step: p.step, lr: p.lr as number }));
  if (logged.length < 2) return undefined;
  const lr = new Float64Array(n);
  let j = 0;
  for (let k = 0; k < n; k++) {
    // The rate of update k is the one logged at step k + 1.
    const s = k + 1;
    while (j < logged.length - 1 && (logged[j + 1] as { step: number }).step <= s) j++;
    const a = logged[j] as { step: number; lr: number };
    const b = logged[j + 1];
    lr[k] = !b || s <= a.step ? a.lr : a.lr + ((s - a.step) / (b.step - a.step)) * (b.lr - a.lr);
  }
  return { lr, lastStep: (logged[logged.length - 1] as { step: number }).step };
}

const x0Of = (rs: readonly Reading[]): number => minOf(rs.map((r) => r.x));

export function forecast(i: ForecastInput): ForecastOutcome {
  const p = i.policy;
  const chosen = chooseSelection(i.points, p);
  if (!chosen.ok) return { ok: false, reason: chosen.reason };
  const sel = chosen.selection;
  const unit = sel.series === "val_bpb" ? "bpb" : "nats";
  const warm = Math.max(p.exclude_steps, i.schedule?.warmup_steps ?? 0);
  const read = i.points.filter((q) => q.step > warm).map((q) => readPoint(sel, q)).filter((r): r is Reading => r !== undefined && Number.isFinite(r.y) && Number.isFinite(r.x));
  const found = read.filter((r) => r.x > 0 && r.y > 0);
  if (found.length < p.min_points) {
    const zero = read.length - found.length;
    const why = zero > 0 ? ` (${zero} more with ${read.some((r) => !(r.x > 0)) ? `${sel.axis} ≤ 0${sel.axis === "tokens" ? ": tokens must count the tokens consumed" : ""}` : "a loss ≤ 0"})` : "";
    return { ok: false, reason: `too few points to forecast from: ${describeFound(sel, found, warm)}${why}; at least ${p.min_points} are needed (forecast.min_points)` };
  }
  const from = maxOf(found.map((r) => r.x));

  // The annealing law runs on steps: on the tokens axis, the curve's tokens per step converts.
  const tps = sel.axis === "tokens" ? tokensPerStep(i.points) : 1;
  if (tps === undefined) return { ok: false, reason: "axis tokens: the curve logs no tokens" };
  const until = i.until ?? (i.schedule ? i.schedule.total_steps * tps : from * p.horizon);
  const lastStep = maxOf(found.map((r) => r.step));
  if (!(until > from)) {
    if (i.until === undefined && i.schedule) return { ok: false, option: "schedule", reason: `total=${i.schedule.total_steps} is not after the last fitted step (${lastStep}): the window runs from there to the schedule's end; give the target run's total steps, or --until` };
    return { ok: false, option: "until", reason: `${until} is not after the last fitted point (${sel.axis} ${from}): the envelope's window runs from there to --until` };
  }
  if (i.schedule && until / tps > i.schedule.total_steps * 1.0001) return { ok: false, option: "schedule", reason: `the window runs to step ${Math.round(until / tps)}, past the schedule's total_steps ${i.schedule.total_steps}` };
  const steps = Math.ceil(until / tps) + 1;
  // The annealing sums are kept per step: bounded, so a mistyped total cannot take the machine's memory.
  if ((i.schedule || i.points.some((q) => q.lr !== undefined)) && steps > MAX_STEPS) return { ok: false, option: i.until === undefined && i.schedule ? "schedule" : "until", reason: `the window runs to step ${Math.round(until / tps)}: more than ${MAX_STEPS.toLocaleString("en-US")} steps, the most a forecast on the learning rate follows` };
  const own = loggedLr(i.points, steps);
  let lr: Float64Array | undefined;
  let lrFrom: FitRecord["lr"] = "none";
  if (i.schedule) {
    // The target's schedule beyond the curve; the curve's own log where it has one.
    lr = lrSeries(i.schedule, steps);
    if (own) {
      // The log is in the trainer's units, the schedule relative to its peak: the two meet at the
      // last logged step.
      const k = Math.min(own.lastStep, steps) - 1;
      const scale = k >= 0 && (lr[k] as number) > 0 && (own.lr[k] as number) > 0 ? (lr[k] as number) / (own.lr[k] as number) : 1 / maxOf([...own.lr]);
      for (let j = 0; j <= k; j++) lr[j] = (own.lr[j] as number) * scale;
    }
    lrFrom = own ? "logged, then the schedule" : "schedule";
  } else if (own && own.lr.some((v, k) => k > 0 && v !== own.lr[k - 1])) {
    // A logged rate with no named schedule is held at its last value: the forecast says so.
    lr = own.lr;
    lrFrom = "logged";
  }
  const r = fitLaws({ points: found.map((q) => ({ x: lr ? q.x / tps : q.x, y: q.y })), lr, until: lr ? until / tps : until, minPoints: p.min_points });
  if (!r.ok) return { ok: false, reason: `${r.reason}: ${describeFound(sel, found, warm)}` };
  const fit = r.fit;
  const toLaw = (x: number): number => (lr ? x / tps : x);
  const predict = (x: number): number => fit.predict(toLaw(x));
  // A curve that rises over its fitted range forecasts a divergence: nothing to hold a run to.
  if (!(predict(from) < predict(x0Of(found)))) return { ok: false, reason: `the curve does not fall over the fitted range (${describeFound(sel, found, warm)}): the fit rises from ${predict(x0Of(found)).toPrecision(4)} to ${predict(from).toPrecision(4)}, and a forecast would expect a divergence` };
  const band = (x: number): number => Math.min(1, Math.max(p.band.floor, fit.band(toLaw(x))));
  // R² is reported, not a reason to refuse: on a late, flat stretch the seed noise is most of the
  // variance and R² is low though the forecast is good; the band carries that noise instead.
  const mean = found.reduce((s, q) => s + q.y, 0) / found.length;
  const ssTot = found.reduce((s, q) => s + (q.y - mean) ** 2, 0);
  const ssRes = found.reduce((s, q) => s + (q.y - predict(q.x)) ** 2, 0);
  const r2 = ssTot > 0 ? 1 - ssRes / ssTot : 0;

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
  const n = i.resolution ?? 200;
  const sig = (v: number): number => Number(v.toPrecision(8));
  const points = Array.from({ length: n }, (_, k) => {
    const x = from * (until / from) ** (k / (n - 1));
    return { x: sig(x), expected: sig(predict(x) + shift), band: sig(band(x)) };
  });
  if (points.some((q) => !(q.expected > 0))) return { ok: false, reason: "the projected loss is not positive over the window: the size shift is larger than the curve allows" };
  const x0 = x0Of(found);
  const best = fit.candidates.reduce((a, b) => (b.weight > a.weight ? b : a));
  const record: FitRecord = {
    law: fit.chosen,
    formula: fit.candidates.length > 1 ? `${best.formula}, weight ${pct(best.weight, 0)} of ${fit.candidates.length} candidates` : best.formula,
    n: found.length,
    x_axis: sel.axis,
    x_range: [x0, from],
    r2: Number(r2.toFixed(6)),
    lr: lrFrom,
    coverage: fit.coverage,
    band: fit.bandParams,
    candidates: fit.candidates.map(({ predict: _p, ...c }) => c),
    curve: Array.from({ length: 40 }, (_, k) => {
      const x = x0 * (from / x0) ** (k / 39);
      return { x: sig(x), y: sig(predict(x)) };
    }),
  };
  const envelope = {
    envelope_version: 1 as const,
    axis: sel.axis,
    unit: unit as "nats" | "bpb",
    series: sel.series,
    band: (points[points.length - 1] as { band: number }).band,
    coverage: fit.coverage,
    points,
    fit: record,
    projection,
    ...(i.schedule ? { schedule: { ...i.schedule } } : {}),
  };
  return { ok: true, series: sel.series, axis: sel.axis, envelope };
}
