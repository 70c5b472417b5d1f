// How a verdict reads: aligned text for terminals and CI logs, Markdown for GitHub's job summary.
// Pure, so the CLI and the Pulumi program print the very same report. Plain string layout rather
// than a table library: a verdict has ~40 rows, and a boxed table with wrapped cells cost more to
// draw (~16 ms) than the whole gate run is allowed to take.
import { campaignFailures, type GateResult } from "./types.ts";
import type { Verdict } from "./verdict.ts";
import { maxOf } from "./stats.ts";
import { fmt, usd } from "../common/format.ts";

const MARK: Record<GateResult["status"], string> = { pass: "✓", fail: "✗", skip: "–" };
const WIDTH = 100;

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
  const failed = campaignFailures(v.gates).length;
  const rejected = v.stress?.curves.filter((c) => !c.survived).length ?? 0;
  const result = v.pass ? "PASS" : `FAIL (${failed} gate${failed === 1 ? "" : "s"})`;
  const curves = v.stress ? ` · ${rejected} of ${v.stress.curves.length} finalist curve${v.stress.curves.length === 1 ? "" : "s"} rejected` : "";
  return `windtunnel gate: ${result}${curves} · phases ${v.phases.join(", ")} · policy ${v.policy.ref} (sha256 ${v.policy.sha256.slice(0, 12)})`;
}

function clip(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}

/** Greedy word wrap to `width`, every line indented. */
export function wrap(text: string, width: number, indent: string): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && indent.length + line.length + 1 + word.length > width) {
      lines.push(indent + line);
      line = word;
    } else line = line === "" ? word : `${line} ${word}`;
  }
  if (line !== "") lines.push(indent + line);
  return lines;
}

function columns(rows: readonly (readonly string[])[], caps: readonly number[]): string[] {
  const widths = caps.map((cap, i) => Math.min(cap, maxOf(rows.map((r) => (r[i] ?? "").length))));
  return rows.map((r) => r.map((c, i) => clip(c, widths[i] as number).padEnd(widths[i] as number)).join("  ").trimEnd());
}

export function renderTable(v: Verdict): string {
  const head = ["", "gate", "subject", "measured", "threshold"];
  const rows = v.gates.map((g) => [MARK[g.status], g.id, g.subject, measured(g), threshold(g)]);
  const lined = columns([head, ...rows], [1, 26, 24, 14, 40]);
  const out = [headline(v), "", lined[0] as string];
  v.gates.forEach((g, i) => {
    out.push(lined[i + 1] as string);
    out.push(...wrap(g.step !== undefined && g.status === "fail" ? `step ${g.step}: ${g.message}` : g.message, WIDTH, "    "));
  });
  const ranking = v.sweep?.ranking ?? [];
  if (ranking.length > 0) {
    out.push("", `Ranking (top ${ranking.length} distinct configs by mean; * separable)`);
    out.push(...columns(ranking.map((g, i) => [`${i + 1}.`, `${g.separable ? "*" : " "} ${g.id}`, g.label, `n=${g.n}`, fmt(g.mean), g.z !== undefined ? `z ${fmt(g.z)}` : "reference"]), [3, 14, 48, 5, 10, 10]).map((l) => `  ${l}`));
  }
  const finalists = v.sweep?.finalists ?? [];
  if (finalists.length > 0) {
    out.push("", "Finalists");
    for (const x of finalists) {
      out.push(`  ${x.rank}. ${x.id}  ${x.label}  (n=${x.n}, mean ${fmt(x.mean)}${x.z !== undefined ? `, z ${fmt(x.z)}` : ""})`);
      if (x.projection) out.push(...wrap(`at the target: ${x.projection.notes.join("; ")}`, WIDTH, "       "));
    }
  }
  if (v.spend) out.push("", `Spend: forecast ${usd(v.spend.forecast_usd)}; the filter is worth ${usd(v.spend.expected_savings_usd)} in expectation.`);
  return out.join("\n");
}

const cell = (s: string): string => s.replaceAll("|", "\\|").replaceAll("\n", " ");

export function renderMarkdown(v: Verdict): string {
  const lines = [`### ${v.pass ? "✅" : "❌"} ${headline(v)}`, "", "| | gate | subject | measured | threshold | why |", "|---|---|---|---|---|---|"];
  for (const g of v.gates) lines.push(`| ${MARK[g.status]} | \`${g.id}\` | ${cell(g.subject)} | ${cell(measured(g))} | ${cell(threshold(g))} | ${cell(g.step !== undefined && g.status === "fail" ? `step ${g.step}: ${g.message}` : g.message)} |`);
  const ranking = v.sweep?.ranking ?? [];
  if (ranking.length > 0) {
    lines.push("", `<details><summary>Ranking: top ${ranking.length} distinct configs</summary>`, "", "| # | config | recipe | n | mean | z | separable |", "|---|---|---|---|---|---|---|");
    ranking.forEach((g, i) => lines.push(`| ${i + 1} | ${cell(g.id)} | ${cell(g.label)} | ${g.n} | ${fmt(g.mean)} | ${g.z !== undefined ? fmt(g.z) : "reference"} | ${g.separable ? "yes" : ""} |`));
    lines.push("", "</details>");
  }
  const finalists = v.sweep?.finalists ?? [];
  if (finalists.length > 0) {
    lines.push("", "**Finalists**", "", "| # | finalist | recipe | n | mean | z | at the target |", "|---|---|---|---|---|---|---|");
    for (const x of finalists) lines.push(`| ${x.rank} | ${cell(x.id)} | ${cell(x.label)} | ${x.n} | ${fmt(x.mean)} | ${x.z !== undefined ? fmt(x.z) : ""} | ${cell(x.projection?.notes.join("; ") ?? "")} |`);
  }
  if (v.spend) lines.push("", `Spend: forecast **${usd(v.spend.forecast_usd)}**; the filter is worth ${usd(v.spend.expected_savings_usd)} in expectation.`);
  lines.push("", `<sub>Evidence: ${v.evidence.map((e) => `\`${e.file}\` (${e.sha256.slice(0, 12)})`).join(", ")} · windtunnel ${v.windtunnel} · ${v.time}</sub>`);
  return lines.join("\n");
}
