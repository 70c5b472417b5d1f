// How a verdict reads: a terminal table and a Markdown summary (GitHub job summary). Pure, so the
// CLI and the Pulumi program print the very same table.
import Table from "cli-table3";
import type { GateResult } from "./types.ts";
import type { Verdict } from "./verdict.ts";
import { fmt } from "./stats.ts";

const MARK: Record<GateResult["status"], string> = { pass: "✓", fail: "✗", skip: "–" };
const PLAIN = { head: [], border: [] };
const COMPACT = { mid: "", "left-mid": "", "mid-mid": "", "right-mid": "" };

function measured(r: GateResult): string {
  if (r.measured === null) return "—";
  return typeof r.measured === "number" ? fmt(r.measured) : r.measured;
}

function threshold(r: GateResult): string {
  if (r.threshold === null) return "";
  const t = typeof r.threshold === "number" ? fmt(r.threshold) : r.threshold;
  return r.op ? `${r.op} ${t}` : t;
}

function headline(v: Verdict): string {
  const failed = v.gates.filter((g) => g.status === "fail" && g.scope !== "candidate").length;
  const rejected = v.stress?.curves.filter((c) => !c.survived).length ?? 0;
  const result = v.pass ? "PASS" : `FAIL (${failed} gate${failed === 1 ? "" : "s"})`;
  const curves = v.stress ? ` · ${rejected} of ${v.stress.curves.length} finalist curve${v.stress.curves.length === 1 ? "" : "s"} rejected` : "";
  return `windtunnel gate: ${result}${curves} · phases ${v.phases.join(", ")} · policy ${v.policy.ref} (sha256 ${v.policy.sha256.slice(0, 12)})`;
}

export function renderTable(v: Verdict): string {
  const t = new Table({ head: ["", "gate", "subject", "measured", "threshold", "why"], style: PLAIN, chars: COMPACT, wordWrap: true, colWidths: [3, 26, 16, 12, 15, 56] });
  for (const g of v.gates) t.push([MARK[g.status], g.id, g.subject, measured(g), threshold(g), g.step !== undefined && g.status === "fail" ? `[step ${g.step}] ${g.message}` : g.message]);
  const out = [headline(v), t.toString()];
  const finalists = v.sweep?.finalists ?? [];
  if (finalists.length > 0) {
    const f = new Table({ head: ["#", "finalist", "recipe", "n", "mean", "z", "at the target"], style: PLAIN, chars: COMPACT, wordWrap: true, colWidths: [3, 12, 30, 4, 9, 7, 62] });
    for (const x of finalists) f.push([String(x.rank), x.id, x.label, String(x.n), fmt(x.mean), x.z !== undefined ? fmt(x.z) : "", x.projection ? x.projection.notes.join("; ") : ""]);
    out.push("Finalists", f.toString());
  }
  if (v.spend) out.push(`Spend: forecast ${usd(v.spend.forecast_usd)}; the filter is worth ${usd(v.spend.expected_savings_usd)} in expectation.`);
  return out.join("\n");
}

const usd = (x: number): string => `$${x.toLocaleString("en-US", { maximumFractionDigits: 2 })}`;
const cell = (s: string): string => s.replaceAll("|", "\\|").replaceAll("\n", " ");

export function renderMarkdown(v: Verdict): string {
  const lines = [`### ${v.pass ? "✅" : "❌"} ${headline(v).replace(/^windtunnel gate: /, "windtunnel gate: ")}`, "", "| | gate | subject | measured | threshold | why |", "|---|---|---|---|---|---|"];
  for (const g of v.gates) lines.push(`| ${MARK[g.status]} | \`${g.id}\` | ${cell(g.subject)} | ${cell(measured(g))} | ${cell(threshold(g))} | ${cell(g.step !== undefined && g.status === "fail" ? `step ${g.step}: ${g.message}` : g.message)} |`);
  const finalists = v.sweep?.finalists ?? [];
  if (finalists.length > 0) {
    lines.push("", "**Finalists**", "", "| # | finalist | recipe | n | mean | z | at the target |", "|---|---|---|---|---|---|---|");
    for (const x of finalists) lines.push(`| ${x.rank} | ${cell(x.id)} | ${cell(x.label)} | ${x.n} | ${fmt(x.mean)} | ${x.z !== undefined ? fmt(x.z) : ""} | ${cell(x.projection?.notes.join("; ") ?? "")} |`);
  }
  if (v.spend) lines.push("", `Spend: forecast **${usd(v.spend.forecast_usd)}**; the filter is worth ${usd(v.spend.expected_savings_usd)} in expectation.`);
  lines.push("", `<sub>Evidence: ${v.evidence.map((e) => `\`${e.file}\` (${e.sha256.slice(0, 12)})`).join(", ")} · windtunnel ${v.windtunnel} · ${v.time}</sub>`);
  return lines.join("\n");
}
