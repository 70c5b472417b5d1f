// The report's figures as Vega-Lite specs, from plain data: pure, so each figure is tested on its
// own and drawn the same way as SVG (the HTML report) or PNG (READMEs, pull requests). Colours
// are the Okabe–Ito palette (readable by colour-blind readers); series also differ by shape or
// dash, so the figures survive a black-and-white printer. Every axis names its unit.
import type { GateResult } from "../gates/types.ts";
import { pct } from "../common/format.ts";

/** The report's figures, in its order (PNG files are named after them). */
export const FIGURE_IDS = ["sweep", "stress", "forecast", "sanity", "money"] as const;

export const OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"] as const;
const DASHES = [[1, 0], [6, 3], [2, 2], [8, 3, 2, 3], [4, 4]];

export type Spec = Record<string, unknown>;

const base = (title: string, subtitle: string): Spec => ({
  $schema: "https://vega.github.io/schema/vega-lite/v6.json",
  title: { text: title, subtitle, anchor: "start", fontSize: 15, subtitleFontSize: 11, subtitleColor: "#444" },
  width: 640,
  height: 260,
  config: { font: "DejaVu Sans, Helvetica, Arial, sans-serif", view: { stroke: null }, axis: { labelFontSize: 11, titleFontSize: 12, grid: true, gridColor: "#e5e5e5" }, legend: { labelFontSize: 11, titleFontSize: 11, orient: "bottom", labelLimit: 320 } },
});

export interface SweepCandidate {
  id: string;
  label: string;
  mean: number;
  min: number;
  max: number;
  n: number;
  kind: "finalist" | "separable" | "other" | "baseline";
}

export interface SweepFigure {
  metric: string;
  candidates: SweepCandidate[];
  reference?: { label: string; value: number };
  /** A config must beat this line (reference − z·σ·√(1/1 + 1/n_ref)) to separate with one evaluation. */
  threshold?: number;
  sigma: number;
  z: number;
}

export function sweepSpec(f: SweepFigure): Spec {
  const kinds = ["finalist", "separable", "other", "baseline"];
  const rows = f.candidates.map((c, i) => ({ ...c, rank: i + 1 }));
  const layers: Spec[] = [
    { mark: { type: "rule", strokeWidth: 1.5 }, transform: [{ filter: "datum.n > 1" }], encoding: { x: { field: "rank", type: "quantitative" }, y: { field: "min", type: "quantitative" }, y2: { field: "max" }, color: { field: "kind", type: "nominal", scale: { domain: kinds, range: [OKABE_ITO[3], OKABE_ITO[0], "#999999", OKABE_ITO[7]] }, legend: null } } },
    {
      mark: { type: "point", filled: true, size: 55 },
      encoding: {
        x: { field: "rank", type: "quantitative", title: "candidate, ranked by mean (1 = best)" },
        y: { field: "mean", type: "quantitative", title: `${f.metric} (bits per byte, lower is better)`, scale: { zero: false } },
        color: { field: "kind", type: "nominal", title: null, scale: { domain: kinds, range: [OKABE_ITO[3], OKABE_ITO[0], "#999999", OKABE_ITO[7]] } },
        shape: { field: "kind", type: "nominal", title: null, scale: { domain: kinds, range: ["diamond", "circle", "circle", "square"] } },
        tooltip: [{ field: "id" }, { field: "label" }, { field: "mean", format: ".4f" }, { field: "n" }],
      },
    },
  ];
  if (f.reference) layers.push({ data: { values: [{ y: f.reference.value, what: `reference: ${f.reference.label}` }] }, mark: { type: "rule", strokeDash: [6, 3], color: "#000" }, encoding: { y: { field: "y", type: "quantitative" } } });
  if (f.threshold !== undefined) layers.push({ data: { values: [{ y: f.threshold }] }, mark: { type: "rule", strokeDash: [2, 2], color: OKABE_ITO[0] }, encoding: { y: { field: "y", type: "quantitative" } } });
  const repeats = f.candidates.reduce((s, c) => s + c.n - 1, 0);
  return {
    ...base(
      `Phase 1: ${f.candidates.length} distinct candidates`,
      `diamonds: finalists · blue: separable · grey: not separable · square: baseline; bars: spread of repeats (${repeats}); dashed: the reference; dotted: the line to beat (z ${f.z} × σ ${f.sigma.toPrecision(3)})`,
    ),
    data: { values: rows },
    layer: layers,
  };
}

export interface Series {
  name: string;
  points: { x: number; y: number }[];
}

export interface Failure {
  curve: string;
  x: number;
  y: number;
  gate: string;
  message: string;
}

function curveLayers(series: readonly Series[], yTitle: string, xTitle: string, logX = false): Spec[] {
  const names = series.map((s) => s.name);
  const values = series.flatMap((s) => s.points.map((p) => ({ curve: s.name, x: p.x, y: p.y })));
  return [
    {
      data: { values },
      mark: { type: "line", strokeWidth: 1.6, clip: true },
      encoding: {
        x: { field: "x", type: "quantitative", title: xTitle, ...(logX ? { scale: { type: "log" } } : {}) },
        y: { field: "y", type: "quantitative", title: yTitle, scale: { zero: false } },
        color: { field: "curve", type: "nominal", title: null, scale: { domain: names, range: OKABE_ITO.slice(0, Math.max(1, names.length)) } },
        strokeDash: { field: "curve", type: "nominal", title: null, scale: { domain: names, range: DASHES.slice(0, Math.max(1, names.length)) } },
      },
    },
  ];
}

export function stressSpec(series: readonly Series[], failures: readonly Failure[], xTitle: string): Spec {
  const layers = curveLayers(series, "loss (nats per token)", xTitle);
  if (failures.length > 0) {
    layers.push({ data: { values: failures }, mark: { type: "point", shape: "cross", size: 140, strokeWidth: 3, color: OKABE_ITO[3] }, encoding: { x: { field: "x", type: "quantitative" }, y: { field: "y", type: "quantitative" }, tooltip: [{ field: "curve" }, { field: "gate" }, { field: "message" }] } });
    layers.push({ data: { values: failures.map((f) => ({ ...f, label: `${f.curve}: ${f.gate} @ ${f.x}` })) }, mark: { type: "text", align: "left", dx: 8, dy: -8, fontSize: 10, color: OKABE_ITO[3] }, encoding: { x: { field: "x", type: "quantitative" }, y: { field: "y", type: "quantitative" }, text: { field: "label" } } });
  }
  return { ...base(`Phase 2: ${series.length} finalists, side by side`, failures.length > 0 ? `✕ marks where a stress gate failed (${failures.length}); each gate's sentence is under the figure` : "no stress gate failed"), layer: layers };
}

export interface ForecastFigure {
  axis: string;
  unit: string;
  /** The fitted law over the fitted range. */
  fitted?: Series;
  /** The points that were fitted: the series the forecast read (validation points when validation was fitted). */
  proxy?: Series;
  envelope: { x: number; expected: number; band?: number | undefined }[];
  /** The forecast's stated band (its half-width where the points carry none) and what it is calibrated to cover. */
  ownBand: number;
  coverage?: number | undefined;
  /** The verify gate's band. */
  band: number;
  cloud?: Series;
}

export function forecastSpec(f: ForecastFigure): Spec {
  const yTitle = f.unit === "bpb" ? "loss (bits per byte)" : "loss (nats per token)";
  const xTitle = f.axis === "tokens" ? "tokens" : "step";
  const band = f.envelope.map((p) => {
    const own = p.band ?? f.ownBand;
    return { x: p.x, lo: p.expected * (1 - f.band), hi: p.expected * (1 + f.band), ownLo: p.expected * (1 - own), ownHi: p.expected * (1 + own), expected: p.expected };
  });
  const layers: Spec[] = [
    { data: { values: band }, mark: { type: "area", opacity: 0.2, color: OKABE_ITO[2] }, encoding: { x: { field: "x", type: "quantitative", title: xTitle, scale: { type: "log", nice: false } }, y: { field: "lo", type: "quantitative", title: yTitle, scale: { zero: false } }, y2: { field: "hi" } } },
    { data: { values: band }, mark: { type: "line", strokeDash: [2, 2], color: OKABE_ITO[4] }, encoding: { x: { field: "x", type: "quantitative" }, y: { field: "ownLo", type: "quantitative" } } },
    { data: { values: band }, mark: { type: "line", strokeDash: [2, 2], color: OKABE_ITO[4] }, encoding: { x: { field: "x", type: "quantitative" }, y: { field: "ownHi", type: "quantitative" } } },
    { data: { values: band }, mark: { type: "line", strokeDash: [6, 3], color: OKABE_ITO[2] }, encoding: { x: { field: "x", type: "quantitative" }, y: { field: "expected", type: "quantitative" } } },
  ];
  const series = [f.proxy, f.fitted, f.cloud].filter((s): s is Series => s !== undefined);
  if (series.length > 0) layers.push(...curveLayers(series, yTitle, xTitle, true));
  const stated = `dotted: the forecast's own band${f.coverage !== undefined ? ` (calibrated to hold ${pct(f.coverage, 0)} of held-out points)` : ""}`;
  return { ...base("Forecast: the expected cloud curve", `green: the envelope (dashed) and the verify gate's ±${pct(f.band, 0)} band; ${stated}${f.cloud ? "; the cloud run over it" : "; the cloud curve appears here once it streams"}`), layer: layers };
}

export function sanitySpec(series: readonly Series[], xTitle: string): Spec {
  return { ...base("Sanity day: the runs the gates compare", "each tag is one run: FP8 against BF16, each TP/PP layout against the reference"), layer: curveLayers(series, "loss (nats per token)", xTitle) };
}

export interface MoneyFigure {
  blindLossUsd: number;
  filterCostUsd: number;
  savingsUsd: number;
  phases: { phase: string; usd: number }[];
}

export function moneySpec(m: MoneyFigure): Spec {
  const steps = [
    { step: "1. expected loss of a blind booking", start: 0, end: m.blindLossUsd, kind: "loss" },
    { step: "2. minus what the filter still misses", start: m.blindLossUsd, end: m.savingsUsd + m.filterCostUsd, kind: "residual" },
    { step: "3. minus the lab's cost (Phase 1 + 2 + sanity day)", start: m.savingsUsd + m.filterCostUsd, end: m.savingsUsd, kind: "cost" },
    { step: "= expected savings", start: 0, end: m.savingsUsd, kind: "savings" },
  ];
  const kinds = ["loss", "residual", "cost", "savings"];
  return {
    ...base("The money: what the evidence is worth", "the seed's expected-value argument for this campaign (USD); below: what the campaign costs by phase"),
    vconcat: [
      {
        width: 640,
        height: 150,
        data: { values: steps },
        mark: { type: "bar", stroke: "#000", strokeWidth: 0.5 },
        encoding: {
          y: { field: "step", type: "nominal", sort: null, title: null, axis: { labelLimit: 330 } },
          x: { field: "start", type: "quantitative", title: "USD" },
          x2: { field: "end" },
          color: { field: "kind", type: "nominal", legend: null, scale: { domain: kinds, range: [OKABE_ITO[3], "#bbbbbb", OKABE_ITO[1], OKABE_ITO[2]] } },
          tooltip: [{ field: "step" }, { field: "start", format: ",.0f" }, { field: "end", format: ",.0f" }],
        },
      },
      {
        width: 640,
        height: 110,
        data: { values: m.phases },
        mark: { type: "bar", stroke: "#000", strokeWidth: 0.5 },
        encoding: {
          y: { field: "phase", type: "nominal", sort: null, title: null, axis: { labelLimit: 330 } },
          x: { field: "usd", type: "quantitative", title: "USD (campaign cost forecast)" },
          color: { value: OKABE_ITO[0] },
          tooltip: [{ field: "phase" }, { field: "usd", format: ",.2f" }],
        },
      },
    ],
  };
}

/** A failing curve gate as a mark on the stress figure (its step, and the loss there). */
export function failuresOf(gates: readonly GateResult[], series: readonly Series[]): Failure[] {
  return gates
    .filter((g) => g.phase === "stress" && g.status === "fail" && g.step !== undefined && g.id !== "stress.survivors")
    .flatMap((g) => {
      const s = series.find((x) => x.name === g.subject);
      if (!s || s.points.length === 0) return [];
      // The mark sits on the curve: at the nearest finite point (a NaN has no height of its own).
      const finite = s.points.filter((p) => Number.isFinite(p.y));
      if (finite.length === 0) return [];
      const at = finite.reduce((best, p) => (Math.abs(p.x - (g.step as number)) < Math.abs(best.x - (g.step as number)) ? p : best), finite[0] as { x: number; y: number });
      return [{ curve: g.subject, x: g.step as number, y: at.y, gate: g.id, message: g.message }];
    });
}
