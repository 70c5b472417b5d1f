// The report as one self-contained HTML file: inline CSS, inline SVG figures, the gate table,
// no script, no font, no image fetched from anywhere at view time. Pure.
import type { Verdict } from "../gates/verdict.ts";
import { InternalError } from "../common/errors.ts";
import type { ReportTable } from "./attempts.ts";

export interface ReportFigure {
  id: string;
  title: string;
  caption: string;
  svg: string;
}

const esc = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
export const shown = (v: unknown): string => (v === null || v === undefined ? "—" : typeof v === "number" ? (Number.isInteger(v) ? String(v) : Number(v.toPrecision(4)).toString()) : String(v));

/** Vega's SVG names external namespaces only; anything that could load a resource is refused. */
export function assertSelfContained(svg: string): string {
  if (/<(image|script|foreignObject)\b|href="http|url\(http/i.test(svg)) throw new InternalError("a figure refers to an external resource");
  return svg;
}

export interface ReportInput {
  title: string;
  generated: string;
  verdict: Verdict;
  digest: string;
  figures: ReportFigure[];
  /** Sections that are tables, after the figures (the spot attempts). */
  tables?: ReportTable[];
  notes: string[];
}

const dataAttrs = (d: Record<string, string>): string => Object.entries(d).map(([k, v]) => ` data-${esc(k)}="${esc(v)}"`).join("");

function tableSection(t: ReportTable): string {
  const head = t.head.map((h) => `<th>${esc(h)}</th>`).join("");
  const rows = t.rows.map((r) => `<tr${dataAttrs(r.data)}>${r.cells.map((c) => `<td>${esc(c)}</td>`).join("")}</tr>`).join("\n");
  const foot = t.foot ? `<tfoot><tr>${t.foot.map((c) => `<th>${esc(c)}</th>`).join("")}</tr></tfoot>` : "";
  return `<section class="table" id="${esc(t.id)}"><h2>${esc(t.title)}</h2><p>${esc(t.caption)}</p>${t.rows.length > 0 ? `<table id="${esc(t.id)}-table"><thead><tr>${head}</tr></thead><tbody>\n${rows}\n</tbody>${foot}</table>` : ""}</section>`;
}

export function reportHtml(r: ReportInput): string {
  const failed = r.verdict.gates.filter((g) => g.status === "fail");
  const rows = r.verdict.gates.map((g) => `<tr class="${g.status}" data-gate="${esc(g.id)}" data-subject="${esc(g.subject)}" data-status="${g.status}"><td class="mark">${g.status === "pass" ? "✓" : g.status === "fail" ? "✗" : "–"}</td><td><code>${esc(g.id)}</code></td><td>${esc(g.subject)}</td><td class="num" data-measured="${esc(shown(g.measured))}">${esc(shown(g.measured))}</td><td class="num">${esc(g.op ?? "")} ${esc(shown(g.threshold))}</td><td>${g.step !== undefined ? `step ${g.step}: ` : ""}${esc(g.message)}</td></tr>`).join("\n");
  const figures = r.figures.map((f) => `<section class="figure" id="${esc(f.id)}"><h2>${esc(f.title)}</h2><p>${esc(f.caption)}</p><figure data-figure="${esc(f.id)}">${assertSelfContained(f.svg)}</figure></section>`).join("\n");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${esc(r.title)}</title>
<style>
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; color: #111; max-width: 980px; margin: 2em auto; padding: 0 1em; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
.verdict { font-size: 1.15em; padding: 0.6em 0.8em; border: 2px solid; display: inline-block; }
.verdict.pass { border-color: #009E73; } .verdict.fail { border-color: #D55E00; }
figure { margin: 0.5em 0 1.5em; } figure svg { max-width: 100%; height: auto; }
table { border-collapse: collapse; width: 100%; font-size: 0.85em; }
td, th { border-bottom: 1px solid #ddd; padding: 0.3em 0.5em; vertical-align: top; text-align: left; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
tr.fail td { background: #fbe9e2; } tr.fail td.mark { color: #D55E00; font-weight: bold; } tr.pass td.mark { color: #009E73; }
code { font-size: 0.95em; } .meta { color: #555; font-size: 0.85em; }
@media print { body { max-width: none; } section.figure { break-inside: avoid; } }
</style>
</head>
<body>
<h1>${esc(r.title)}</h1>
<p class="meta">${esc(r.generated)} · windtunnel ${esc(r.verdict.windtunnel)} · policy ${esc(r.verdict.policy.ref)} (sha256 ${esc(r.verdict.policy.sha256.slice(0, 12))})</p>
<p class="verdict ${r.verdict.pass ? "pass" : "fail"}">${r.verdict.pass ? "PASS: the evidence supports booking the campaign" : `FAIL: ${failed.length} gate(s) failed; nothing may be booked`}</p>
<p class="meta">Verdict digest <code id="digest">${esc(r.digest)}</code> (the Pulumi stack output <code>verdictDigest</code> and the node's <code>windtunnel:verdict</code> tag).</p>
${r.notes.map((n) => `<p class="meta">${esc(n)}</p>`).join("\n")}
${figures}
${(r.tables ?? []).map(tableSection).join("\n")}
<section id="gates"><h2>Gates</h2>
<table id="gate-table"><thead><tr><th></th><th>gate</th><th>subject</th><th>measured</th><th>threshold</th><th>why</th></tr></thead>
<tbody>
${rows}
</tbody></table></section>
<section id="evidence"><h2>Evidence</h2><table><thead><tr><th>file</th><th>role</th><th>sha256</th></tr></thead><tbody>
${r.verdict.evidence.map((e) => `<tr><td><code>${esc(e.file)}</code></td><td>${esc(e.role)}</td><td><code>${esc(e.sha256)}</code></td></tr>`).join("\n")}
</tbody></table></section>
</body>
</html>
`;
}
