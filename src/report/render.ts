// Draw a figure: Vega-Lite → Vega → SVG in Node (no browser, no network: Vega's headless view
// with the "none" renderer), and SVG → PNG with resvg (a Rust renderer shipped in its npm package).
import type { Spec } from "./figures.ts";

export async function toSvg(spec: Spec): Promise<string> {
  const [vega, vl] = await Promise.all([import("vega"), import("vega-lite")]);
  // The specs are plain data (figures.ts); Vega-Lite checks them as it compiles.
  const compiled = vl.compile(spec as unknown as Parameters<typeof vl.compile>[0]).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

export async function toPng(svg: string, scale = 2): Promise<Uint8Array> {
  const { Resvg } = await import("@resvg/resvg-js");
  return new Resvg(svg, { fitTo: { mode: "zoom", value: scale }, background: "white", font: { loadSystemFonts: true, defaultFontFamily: "DejaVu Sans" } }).render().asPng();
}
