// Which loss series and which x axis a forecast reads, decided once and for everyone: `forecast`
// chooses it for the curve it fits and writes it into the envelope; the verify gate, the
// watchdog, `watch` and the report read every later point through `readPoint` with that same
// choice. Validation loss is never silently replaced by training loss: a curve that logs
// validation loss is forecast from it or refused, whatever its count. Pure.

export type LossSeries = "loss" | "val_loss" | "val_bpb";
export type Axis = "step" | "tokens";

export interface Selection {
  series: LossSeries;
  axis: Axis;
}

/** The fields of a metrics point a forecast can read. */
export interface ReadablePoint {
  step: number;
  tokens?: number | undefined;
  loss?: number | undefined;
  val_loss?: number | null | undefined;
  val_bpb?: number | null | undefined;
  lr?: number | undefined;
}

export interface Reading {
  step: number;
  x: number;
  y: number;
}

/** The series an envelope reads: its own, else training loss (a hand-written envelope that names none). */
export const seriesOf = (env: { series?: LossSeries | undefined }): LossSeries => env.series ?? "loss";

export const SERIES_WORDS: Record<LossSeries, string> = { loss: "training loss", val_loss: "validation loss", val_bpb: "validation bits per byte" };

/** x on the selection's axis and y of its series; undefined when the point carries either not. */
export function readPoint(sel: { axis: Axis; series?: LossSeries | undefined }, p: ReadablePoint): Reading | undefined {
  const y = p[seriesOf(sel)];
  const x = sel.axis === "tokens" ? p.tokens : p.step;
  return typeof y === "number" && typeof x === "number" ? { step: p.step, x, y } : undefined;
}

const logs = (points: readonly ReadablePoint[], k: LossSeries): boolean => points.some((p) => typeof p[k] === "number");

/**
 * The series and axis to forecast a curve on. `auto` series: validation loss when the curve logs
 * any, else validation bits per byte, else training loss; the count of points never changes the
 * choice (too few of the chosen series is a refusal that says so). `auto` axis: tokens when the
 * curve logs them.
 */
export function chooseSelection(points: readonly ReadablePoint[], want: { series: "auto" | LossSeries; axis: "auto" | Axis }): { ok: true; selection: Selection } | { ok: false; reason: string } {
  const hasTokens = points.some((q) => q.tokens !== undefined);
  const axis: Axis = want.axis === "auto" ? (hasTokens ? "tokens" : "step") : want.axis;
  if (axis === "tokens" && !hasTokens) return { ok: false, reason: "axis tokens: the curve logs no tokens" };
  const series: LossSeries = want.series !== "auto" ? want.series : logs(points, "val_loss") ? "val_loss" : logs(points, "val_bpb") ? "val_bpb" : "loss";
  if (!logs(points, series)) return { ok: false, reason: `the policy's forecast.series is ${series}, but the curve logs no ${SERIES_WORDS[series]}` };
  return { ok: true, selection: { series, axis } };
}

/** "5 validation-loss points (steps 125, 250, …, 625)": what a refusal found. */
export function describeFound(sel: Selection, found: readonly Reading[], after: number): string {
  const steps = found.map((r) => r.step);
  const list = steps.length <= 8 ? steps.join(", ") : `${steps.slice(0, 3).join(", ")}, …, ${steps.slice(-2).join(", ")}`;
  const word = SERIES_WORDS[sel.series];
  return found.length === 0 ? `no finite ${word} point after step ${after}` : `${found.length} ${word} point${found.length === 1 ? "" : "s"} after step ${after} (step${found.length === 1 ? "" : "s"} ${list})`;
}
