// The learning-rate schedule of the run a forecast is for, as the envelope request names it:
// warmup, then flat at the peak, then a decay of some shape over the last `cooldown_frac` of the
// steps to `final_frac` of the peak. The schedule-aware law reads the learning rate from it
// (relative to the peak: the law's constants absorb the peak). A curve that logs `lr` is read
// from its own log instead. Pure.
import "../common/zod-setup.ts";
import * as z from "zod/mini";
import { described, lazy } from "../evidence/schemas.ts";
import { describeIssue } from "../evidence/issues.ts";

export const scheduleSchema = lazy(() =>
  z.strictObject({
    total_steps: described(z.int().check(z.positive()), "steps the schedule runs over (the run's length)"),
    warmup_steps: described(z.int().check(z.nonnegative()), "linear warmup from 0 to the peak"),
    shape: described(z.enum(["constant", "linear", "cosine", "power"]), "the decay: none, linear, half a cosine, or ((T − step)/(T − start))^power (PowerCool)"),
    cooldown_frac: described(z.number().check(z.nonnegative(), z.maximum(1)), "the share of the steps at the end over which the rate decays (1: from the first step after warmup)"),
    final_frac: described(z.number().check(z.nonnegative(), z.maximum(1)), "the rate at the last step, as a share of the peak"),
    power: described(z.optional(z.number().check(z.positive())), "shape power: the exponent (default 1)"),
  }).check(
    z.refine((s) => s.warmup_steps < s.total_steps, { error: "warmup_steps must be fewer than total_steps (no schedule would follow the warmup)", path: ["warmup_steps"] }),
    z.refine((s) => s.total_steps <= 5_000_000, { error: "at most 5,000,000 steps (the forecast follows the rate step by step)", path: ["total_steps"] }),
    z.refine((s) => s.power === undefined || s.shape === "power", { error: "power is the exponent of shape power only", path: ["power"] }),
  ),
);

export type Schedule = z.infer<ReturnType<typeof scheduleSchema>>;

/** The learning rate of each update 0 … n − 1, relative to the peak. */
export function lrSeries(s: Schedule, n: number): Float64Array {
  const lr = new Float64Array(Math.max(0, n));
  for (let k = 0; k < lr.length; k++) lr[k] = lrAt(s, k);
  return lr;
}

/** The learning rate at a step, relative to the peak (1). */
export function lrAt(s: Schedule, step: number): number {
  if (step < s.warmup_steps) return Math.max(0, step) / s.warmup_steps;
  if (s.shape === "constant") return 1;
  const start = Math.max(s.warmup_steps, s.total_steps * (1 - s.cooldown_frac));
  if (step <= start) return 1;
  const t = Math.min(1, (step - start) / Math.max(1, s.total_steps - start));
  const decay = s.shape === "linear" ? 1 - t : s.shape === "power" ? (1 - t) ** (s.power ?? 1) : 0.5 * (1 + Math.cos(Math.PI * t));
  return s.final_frac + (1 - s.final_frac) * decay;
}

/** `total=3325,warmup=0,shape=linear,cooldown=1,final=0` (the CLI's --schedule) as a schedule, or what is wrong with it. */
export function parseSchedule(text: string): { ok: true; schedule: Schedule } | { ok: false; reason: string } {
  const names: Record<string, keyof Schedule> = { total: "total_steps", warmup: "warmup_steps", shape: "shape", cooldown: "cooldown_frac", final: "final_frac", power: "power" };
  const raw: Record<string, unknown> = { warmup_steps: 0, cooldown_frac: 1, final_frac: 0 };
  const given = new Set<string>();
  for (const part of text.split(",").map((p) => p.trim())) {
    const m = /^([a-z_]+)=(.+)$/.exec(part);
    const key = m ? (names[m[1] as string] ?? (Object.values(names).includes(m[1] as keyof Schedule) ? (m[1] as keyof Schedule) : undefined)) : undefined;
    if (!m || key === undefined) return { ok: false, reason: `${JSON.stringify(part)}: expected key=value with key one of ${Object.keys(names).join(", ")}, e.g. total=4000,warmup=100,shape=cosine,cooldown=1,final=0.1` };
    if (given.has(key)) return { ok: false, reason: `${m[1]} is given twice` };
    given.add(key);
    const value = m[2] as string;
    if (key !== "shape" && !/^(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i.test(value)) return { ok: false, reason: `${m[1]}: expected a number, got ${JSON.stringify(value)}` };
    raw[key] = key === "shape" ? value : Number(value);
  }
  if (raw["shape"] === "constant" && !text.includes("cooldown")) raw["cooldown_frac"] = 0;
  const r = scheduleSchema().safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0] as z.core.$ZodIssue;
    const d = describeIssue(issue, raw);
    const short = Object.entries(names).find(([, v]) => v === issue.path[0])?.[0] ?? d.field;
    return { ok: false, reason: `${short}: ${d.message} (e.g. total=4000,warmup=100,shape=cosine,cooldown=1,final=0.1)` };
  }
  return { ok: true, schedule: r.data };
}
