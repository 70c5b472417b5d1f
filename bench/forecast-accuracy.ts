// npm run accuracy: how well `windtunnel forecast` predicts the rest of a real run from its early
// part, next to three simple forecasts computed in the same run from the same points:
//   flat      the last fitted value stays flat;
//   log-log   a straight line in log-log through the last half of the fitted points;
//   a+b·x^−c  unweighted least squares, the floor a unconstrained (the textbook fit).
// The curves (real public runs from ../shared/fixtures, never copied into the repo, plus the
// reference trainer's own, made here):
//   - the 48 GPT-2-small (124M) runs of modded-nanogpt track 3 (12 optimizer groups × 4 seeds),
//     validation loss every 125 steps, each group's learning-rate schedule from its script
//     (bench/fixture-schedules.json);
//   - 3 speedrun records of October 2024 (validation every 125 steps beside a training loss every step);
//   - the 60,000-step GPT-2-medium (350M) validation curve (its schedule is unknown: schedule-free laws);
//   - the reference trainer over 4,000 steps, 3 seeds each, constant after 100 warmup steps and cosine.
// Each curve is fitted up to a cut (10%, 25%, 40%, 60% of the run; and step 1000 for the 48) and
// forecast to its end. Errors are |predicted − actual| / actual at the held-out validation points.
//
//   node bench/forecast-accuracy.ts [fixtures-dir] [--markdown]     exit 1 when a target is missed
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { loadPolicy } from "../src/policy/load.ts";
import { bandAt, expectedAt, forecast } from "../src/forecast/envelope.ts";
import { logLogLine, type XY } from "../src/forecast/law-family.ts";
import { readPoint } from "../src/forecast/reading.ts";
import { scheduleSchema, type Schedule } from "../src/forecast/schedule.ts";
import { EnvelopeMonitor } from "../src/gates/verify.ts";
import { classifyEvidence, readMetricPoints } from "../src/judge/evidence.ts";
import type { LogPreset } from "../src/evidence/names.ts";
import type { MetricPoint } from "../src/evidence/schemas.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const loaded = (await loadPolicy("default")).policy;
const POLICY = { ...loaded.forecast, axis: "step" as const };
const SCHEDULES = JSON.parse(readFileSync(join(ROOT, "bench/fixture-schedules.json"), "utf8")) as Record<string, unknown>;

export interface Curve {
  set: string;
  name: string;
  points: MetricPoint[];
  schedule?: Schedule;
  end: number;
}

function scheduleOf(key: string): Schedule | undefined {
  const s = SCHEDULES[key];
  return s === undefined || typeof s === "string" ? undefined : scheduleSchema().parse(s);
}

async function readCurve(file: string, preset: LogPreset | undefined): Promise<MetricPoint[]> {
  const read = preset ? { logPreset: preset } : {};
  const ev = await classifyEvidence([file], read);
  return (await readMetricPoints(ev.curves[0] as NonNullable<(typeof ev.curves)[0]>, read)).points;
}

const lastStep = (ps: readonly MetricPoint[]): number => ps.reduce((m, p) => Math.max(m, p.step), 0);

/** The real public curves. */
export async function fixtureCurves(fixtures: string): Promise<Curve[]> {
  const out: Curve[] = [];
  const groups = join(fixtures, "curves/modded-nanogpt-optimizers");
  for (const g of readdirSync(groups).sort()) {
    for (const f of readdirSync(join(groups, g)).sort()) {
      const points = await readCurve(join(groups, g, f), "modded-nanogpt");
      const schedule = scheduleOf(g);
      out.push({ set: "GPT-2 small, 48 runs", name: `${g}/${f}`, points, ...(schedule ? { schedule } : {}), end: lastStep(points) });
    }
  }
  for (const g of ["2024-10-09_SOAP", "2024-10-10_Muon", "2024-10-14_ModernArch"]) {
    const points = await readCurve(join(fixtures, `curves/modded-nanogpt-speedrun/${g}.log`), "modded-nanogpt");
    const schedule = scheduleOf(g);
    out.push({ set: "speedrun 2024-10, 3 runs", name: g, points, ...(schedule ? { schedule } : {}), end: lastStep(points) });
  }
  const medium = await readCurve(join(fixtures, "curves/modded-nanogpt-speedrun/gpt2-medium-60k-val.log"), "tel");
  out.push({ set: "GPT-2 medium 60K (no schedule)", name: "gpt2-medium-60k", points: medium, end: lastStep(medium) });
  return out;
}

/** The reference trainer's own curves: 4,000 steps, constant after warmup and cosine, 3 seeds each. */
export async function trainerCurves(seeds = 3): Promise<Curve[]> {
  const dir = mkdtempSync(join(tmpdir(), "wt-accuracy-"));
  const out: Curve[] = [];
  try {
    for (const shape of ["constant", "cosine"] as const) {
      for (let seed = 0; seed < seeds; seed++) {
        const file = join(dir, `${shape}-${seed}.jsonl`);
        const r = spawnSync(process.execPath, [join(ROOT, "examples/trainer/train.ts")], { env: { ...process.env, WINDTUNNEL_CONFIG: JSON.stringify({ warmup: 100, schedule: shape }), WINDTUNNEL_STEPS: "4000", WINDTUNNEL_SEED: String(seed), WINDTUNNEL_LOG_EVERY: "10", WINDTUNNEL_METRICS: file }, encoding: "utf8" });
        if (r.status !== 0) throw new Error(`the reference trainer failed: ${r.stderr}`);
        const points = await readCurve(file, undefined);
        const schedule = scheduleSchema().parse(shape === "constant" ? { total_steps: 4000, warmup_steps: 100, shape, cooldown_frac: 0, final_frac: 1 } : { total_steps: 4000, warmup_steps: 100, shape, cooldown_frac: 1, final_frac: 0.1 });
        out.push({ set: `reference trainer, ${shape === "constant" ? "constant LR" : "cosine"}, 3 seeds`, name: `${shape}-${seed}`, points, schedule, end: lastStep(points) });
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

type Predict = (x: number) => number;

/** The three simple forecasts, from the same fitted points as the forecast. */
export function baselines(pts: readonly XY[]): Record<string, Predict | undefined> {
  const last = pts[pts.length - 1];
  const half = pts.slice(-Math.max(2, Math.ceil(pts.length / 2)));
  const line = half.length >= 2 ? logLogLine(half) : undefined;
  return {
    flat: last ? () => last.y : undefined,
    "log-log": line ? (x) => Math.exp(line.lnB + line.slope * Math.log(x)) : undefined,
    "a+b·x^−c": pts.length >= 3 ? unweightedSaturating(pts) : undefined,
  };
}

/** a + b·x^−c by plain least squares, a unconstrained, c on a log grid. */
function unweightedSaturating(pts: readonly XY[]): Predict {
  let best = { rss: Infinity, a: 0, b: 0, c: 1 };
  for (let i = 0; i < 60; i++) {
    const c = Math.exp(Math.log(0.02) + (i * (Math.log(3) - Math.log(0.02))) / 59);
    let su = 0, suu = 0, sy = 0, suy = 0;
    for (const q of pts) {
      const u = q.x ** -c;
      su += u; suu += u * u; sy += q.y; suy += u * q.y;
    }
    const n = pts.length;
    const d = n * suu - su * su;
    if (!(Math.abs(d) > 1e-300)) continue;
    const b = (n * suy - su * sy) / d;
    const a = (sy - b * su) / n;
    const rss = pts.reduce((s, q) => s + (a + b * q.x ** -c - q.y) ** 2, 0);
    if (rss < best.rss) best = { rss, a, b, c };
  }
  return (x) => best.a + best.b * x ** -best.c;
}

export const METHODS = ["windtunnel", "flat", "log-log", "a+b·x^−c"] as const;
type Method = (typeof METHODS)[number];

export interface Case {
  set: string;
  name: string;
  cut: string;
  refused?: string;
  /** Points of the forecast series after warmup in the fitted part. */
  found: number;
  /** Per method: relative errors at 2×, 4× the last fitted step and at the end, and at every held-out point. */
  errors: Partial<Record<Method, { at2: number; at4: number; end: number; all: number[] }>>;
  /** Held-out points inside the forecast's own band. */
  inBand?: number[];
  /** The two-sided verify gate at ±5% over the held-out points, from this forecast. */
  verify?: string;
}

export function evaluateCase(c: Curve, cut: string): Case | undefined {
  const xc = cut === "1000" ? 1000 : Number(cut) * c.end;
  const fitted = c.points.filter((p) => p.step <= xc);
  const base: Case = { set: c.set, name: c.name, cut, errors: {}, found: 0 };
  const r = forecast({ points: fitted, policy: POLICY, until: c.end, ...(c.schedule ? { schedule: c.schedule } : {}) });
  // Held out: the later points of the series the forecast reads (validation loss on every curve here).
  const sel = r.ok ? r.envelope : { axis: "step" as const, series: "val_loss" as const };
  const held = c.points.filter((p) => p.step > xc).map((p) => readPoint(sel, p)).filter((q) => q !== undefined);
  if (held.length === 0) return undefined;
  const warm = Math.max(POLICY.exclude_steps, c.schedule?.warmup_steps ?? 0);
  const pts = fitted.filter((p) => p.step > warm).map((p) => readPoint(sel, p)).filter((q) => q !== undefined).map((q) => ({ x: q.x, y: q.y }));
  const xl = pts[pts.length - 1]?.x ?? xc;
  base.found = pts.length;
  const predictors: Partial<Record<Method, Predict | undefined>> = { ...baselines(pts) };
  if (r.ok) predictors.windtunnel = (x) => expectedAt(r.envelope, Math.min(x, c.end)) as number;
  else base.refused = r.reason;
  for (const m of METHODS) {
    const f = predictors[m];
    if (!f) continue;
    const all = held.map((q) => Math.abs(f(q.x) / q.y - 1));
    const near = (k: number): number => {
      let best = -1;
      held.forEach((q, i) => {
        if (best < 0 || Math.abs(q.x - k * xl) < Math.abs((held[best] as { x: number }).x - k * xl)) best = i;
      });
      return best >= 0 && Math.abs((held[best] as { x: number }).x - k * xl) <= 0.15 * k * xl ? (all[best] as number) : Number.NaN;
    };
    base.errors[m] = { at2: near(2), at4: near(4), end: all[all.length - 1] as number, all };
  }
  if (r.ok) {
    base.inBand = held.map((q) => (Math.abs((expectedAt(r.envelope, q.x) as number) / q.y - 1) <= bandAt(r.envelope, q.x) ? 1 : 0));
    const m = new EnvelopeMonitor(c.name, r.envelope, loaded.verify);
    for (const p of c.points.filter((q) => q.step > xc)) m.push(p);
    const g = m.finish(true);
    base.verify = g.status === "fail" ? g.message : "";
  }
  return base;
}

export const CUTS = ["0.1", "0.25", "0.4", "0.6", "1000"] as const;

export function evaluateAll(curves: readonly Curve[]): Case[] {
  const out: Case[] = [];
  for (const c of curves) for (const cut of CUTS) {
    if (cut === "1000" && !c.set.startsWith("GPT-2 small")) continue;
    const r = evaluateCase(c, cut);
    if (r) out.push(r);
  }
  return out;
}

const median = (xs: readonly number[]): number => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const worst = (xs: readonly number[]): number => {
  const s = xs.filter(Number.isFinite);
  return s.length > 0 ? Math.max(...s) : Number.NaN;
};
const pct = (x: number): string => (Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : "—");

export interface Summary {
  /** Runs at step 1000 where windtunnel's end error ≤ the best baseline's. */
  wins: number;
  of: number;
  median1000: number;
  worst1000: number;
  /** Lowest band coverage of any set (all cuts together). */
  coverage: { set: string; share: number }[];
  /** Refusals of curves with ≥ 5 validation points after warmup. */
  wrongRefusals: string[];
  verifyFailures: string[];
}

export function summarise(cases: readonly Case[]): Summary {
  const at1000 = cases.filter((c) => c.cut === "1000");
  const ends = at1000.map((c) => c.errors.windtunnel?.end ?? Number.NaN);
  const wins = at1000.filter((c) => {
    const w = c.errors.windtunnel?.end;
    const best = Math.min(...METHODS.slice(1).map((m) => c.errors[m]?.end ?? Infinity));
    return w !== undefined && w <= best + 1e-12;
  }).length;
  const sets = [...new Set(cases.map((c) => c.set))];
  const coverage = sets.map((set) => {
    const ib = cases.filter((c) => c.set === set).flatMap((c) => c.inBand ?? []);
    return { set, share: ib.length > 0 ? ib.reduce((a, b) => a + b, 0) / ib.length : Number.NaN };
  });
  const wrongRefusals = cases.filter((c) => c.refused !== undefined && c.found >= 5).map((c) => `${c.name} @ ${c.cut}: ${c.refused}`);
  const verifyFailures = at1000.filter((c) => c.verify).map((c) => `${c.name}: ${c.verify}`);
  return { wins, of: at1000.length, median1000: median(ends), worst1000: worst(ends), coverage, wrongRefusals, verifyFailures };
}

export function table(cases: readonly Case[]): string[] {
  const lines = ["| curves | cut | method | refused | error at 2×: median / worst | at 4× | at the end | held-out points within ±5% | within its own band |", "|---|---|---|---|---|---|---|---|---|"];
  const sets = [...new Set(cases.map((c) => c.set))];
  for (const set of sets) for (const cut of CUTS) {
    const cs = cases.filter((c) => c.set === set && c.cut === cut);
    if (cs.length === 0) continue;
    for (const m of METHODS) {
      const e = cs.map((c) => c.errors[m]).filter((x) => x !== undefined);
      if (e.length === 0 && m !== "windtunnel") continue;
      const all = e.flatMap((x) => x.all);
      const ib = m === "windtunnel" ? cs.flatMap((c) => c.inBand ?? []) : [];
      const refused = m === "windtunnel" ? `${cs.filter((c) => c.refused).length}/${cs.length}` : "";
      const cell = (k: "at2" | "at4" | "end") => (e.length > 0 ? `${pct(median(e.map((x) => x[k])))} / ${pct(worst(e.map((x) => x[k])))}` : "—");
      const name = m === "windtunnel" ? "**windtunnel**" : m;
      lines.push(`| ${m === "windtunnel" ? set : ""} | ${m === "windtunnel" ? (cut === "1000" ? "step 1000" : `${Number(cut) * 100}%`) : ""} | ${name} | ${refused} | ${cell("at2")} | ${cell("at4")} | ${cell("end")} | ${all.length > 0 ? pct(all.filter((x) => x <= 0.05).length / all.length) : "—"} | ${m === "windtunnel" && ib.length > 0 ? pct(ib.reduce((a, b) => a + b, 0) / ib.length) : ""} |`);
    }
  }
  return lines;
}

if (import.meta.main) {
  const fixtures = process.argv.slice(2).find((a) => !a.startsWith("--")) ?? process.env["WINDTUNNEL_FIXTURES"] ?? resolve(ROOT, "../shared/fixtures");
  if (!existsSync(join(fixtures, "curves"))) {
    console.error(`npm run accuracy needs the real curves in ${fixtures} (../shared/fixtures); set WINDTUNNEL_FIXTURES or give the folder as the first argument`);
    process.exit(2);
  }
  const t0 = performance.now();
  const curves = [...(await fixtureCurves(fixtures)), ...(await trainerCurves())];
  const cases = evaluateAll(curves);
  for (const l of table(cases)) console.log(l);
  const s = summarise(cases);
  const refusals = cases.filter((c) => c.refused);
  console.log(`\nrefusals (${refusals.length}):${refusals.length === 0 ? " none" : ""}`);
  const byReason = new Map<string, string[]>();
  for (const c of refusals) {
    const k = `${c.set} @ ${c.cut === "1000" ? "step 1000" : `${Number(c.cut) * 100}%`}`;
    byReason.set(k, [...(byReason.get(k) ?? []), c.refused as string]);
  }
  for (const [k, rs] of byReason) console.log(`- ${k}: ${rs.length} × e.g. "${rs[0]}"`);
  const targets = [
    { what: "GPT-2 small from step 1000: median end error ≤ 2.5%", ok: s.median1000 <= 0.025, got: pct(s.median1000) },
    { what: "GPT-2 small from step 1000: worst end error ≤ 4%", ok: s.worst1000 <= 0.04, got: pct(s.worst1000) },
    { what: "GPT-2 small from step 1000: at least as accurate at the end as the best baseline on ≥ 40 of 48", ok: s.wins >= 40, got: `${s.wins} of ${s.of}` },
    { what: "no refusal of a curve with ≥ 5 validation points after warmup", ok: s.wrongRefusals.length === 0, got: s.wrongRefusals.length === 0 ? "none" : s.wrongRefusals.join("; ") },
    { what: "the stated band holds ≥ 85% of held-out points on every set", ok: s.coverage.every((c) => c.share >= 0.85), got: s.coverage.map((c) => `${c.set} ${pct(c.share)}`).join(", ") },
    { what: "the two-sided verify gate at ±5% fails no healthy GPT-2-small run from its step-1000 forecast", ok: s.verifyFailures.length === 0, got: s.verifyFailures.length === 0 ? "0 failed" : s.verifyFailures.join("; ") },
  ];
  console.log("\ntargets:");
  for (const t of targets) console.log(`${t.ok ? "✓" : "✗"} ${t.what}: ${t.got}`);
  console.log(`\n${cases.length} forecasts of ${curves.length} curves in ${((performance.now() - t0) / 1000).toFixed(1)} s (the trainer's 6 curves made here)`);
  process.exitCode = targets.every((t) => t.ok) ? 0 : 1;
}
