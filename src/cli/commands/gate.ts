// `windtunnel gate`: read the evidence, run the shared gate engine, print the verdict (table,
// json or markdown), optionally write verdict.json; exit 0 pass, 1 a gate failed, 2 bad input.
// `windtunnel gate --check verdict.json` re-hashes and refuses a verdict whose inputs changed.
import { existsSync } from "node:fs";
import { dirname, join, resolve, sep } from "node:path";
import { InputError, UsageError } from "../../evidence/errors.ts";
import type { ReadOptions } from "../../evidence/read.ts";
import { sha256File, writeFileAtomic } from "../../evidence/files.ts";
import { loadPolicy, policyRefAt } from "../../policy/load.ts";
import { ratesFromEnv } from "../../cost/rates.ts";
import { LOCAL_PHASES, PHASES, type Phase } from "../../gates/types.ts";
import { checkVerdict } from "../../gates/verdict.ts";
import { renderMarkdown, renderTable } from "../../gates/report.ts";
import { classifyEvidence, judge, readCampaignFile, readEnvelopeFile, readVerdictFile } from "../../judge/evaluate.ts";
import { FIGURE_IDS } from "../../report/figures.ts";
import type { Io } from "../io.ts";

export const OUTPUT_FORMATS = ["table", "json", "markdown"] as const;

export interface GateFlags extends Pick<ReadOptions, "statusMap" | "logPreset" | "logRegex"> {
  phase: string;
  policy?: string;
  campaign?: string;
  envelope?: string;
  /** Markdown: link the report's PNG figures found in this folder (windtunnel report --format png). */
  figures?: string;
  out?: string;
  format: (typeof OUTPUT_FORMATS)[number];
}

export function parsePhases(raw: string): Phase[] {
  if (raw === "all") return [...LOCAL_PHASES];
  const phases = raw.split(",").map((s) => s.trim());
  const bad = phases.filter((p) => !(PHASES as readonly string[]).includes(p));
  if (bad.length > 0 || phases.length === 0) throw new UsageError(`--phase: expected sweep, stress, spend, sanity, verify, a comma-separated list of them, or all (sweep, stress, spend); got ${JSON.stringify(raw)}`);
  return PHASES.filter((p) => phases.includes(p));
}

/** The reader's options from the gate's flags (whose --format is the output format, not evidence's). */
function readOptions(flags: GateFlags): ReadOptions {
  return { ...(flags.statusMap ? { statusMap: flags.statusMap } : {}), ...(flags.logPreset ? { logPreset: flags.logPreset } : {}), ...(flags.logRegex ? { logRegex: flags.logRegex } : {}) };
}

export async function gateCommand(files: readonly string[], flags: GateFlags, io: Io): Promise<number> {
  const phases = parsePhases(flags.phase);
  const read = readOptions(flags);
  const evidence = await classifyEvidence(files, read);
  if (flags.campaign !== undefined && evidence.campaignFile !== undefined) throw new UsageError(`two campaign plans given: ${flags.campaign} and ${evidence.campaignFile}`);
  const campaignFile = flags.campaign ?? evidence.campaignFile;
  const verdict = await judge({
    phases,
    policyRef: flags.policy ?? "default",
    curves: evidence.curves,
    ...(evidence.trajectory ? { trajectory: evidence.trajectory } : {}),
    ...(phases.includes("spend") && campaignFile !== undefined ? { campaign: await readCampaignFile(campaignFile) } : {}),
    ...(phases.includes("verify") && flags.envelope !== undefined ? { envelope: readEnvelopeFile(flags.envelope) } : {}),
    read,
    rates: ratesFromEnv(io.env),
    // Paths in a verdict are relative to the verdict file, so it can be checked from anywhere.
    base: flags.out !== undefined ? dirname(resolve(flags.out)) : process.cwd(),
  });
  if (flags.out !== undefined) await writeFileAtomic(flags.out, `${JSON.stringify(verdict, null, 2)}\n`);
  io.out(flags.format === "json" ? JSON.stringify(verdict, null, 2) : flags.format === "markdown" ? renderMarkdown(verdict) + figureLinks(flags.figures) : renderTable(verdict));
  return verdict.pass ? 0 : 1;
}

/** Markdown image links to the report's PNG figures present in `dir`, in the report's order. */
export function figureLinks(dir: string | undefined): string {
  if (dir === undefined) return "";
  const present = FIGURE_IDS.filter((f) => existsSync(join(dir, `${f}.png`)));
  if (present.length === 0) throw new UsageError(`--figures ${dir}: no figure PNGs there (windtunnel report --format png --out ${dir})`);
  return `\n\n${present.map((f) => `![${f}](${join(dir, `${f}.png`).split(sep).join("/")})`).join("\n")}\n`;
}

export async function checkCommand(verdictFile: string, io: Io): Promise<number> {
  const v = readVerdictFile(verdictFile);
  const base = dirname(resolve(verdictFile));
  const hashes = new Map<string, string | null>();
  for (const e of v.evidence) hashes.set(e.file, await sha256File(resolve(base, e.file)));
  let policySha: string | null = null;
  try {
    policySha = (await loadPolicy(policyRefAt(v.policy.ref, base))).sha256;
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
  }
  const problems = checkVerdict(v, { evidence: hashes, policySha256: policySha });
  for (const e of v.evidence) {
    const p = problems.find((x) => x.file === e.file);
    io.out(p ? `✗ ${e.file} (${e.role}): ${p.what}${p.actual ? ` (sha256 ${p.expected?.slice(0, 12)} → ${p.actual.slice(0, 12)})` : ""}` : `✓ ${e.file} (${e.role}): unchanged`);
  }
  const pp = problems.find((x) => x.what === "policy changed");
  io.out(pp ? `✗ policy ${v.policy.ref}: changed or unreadable (sha256 ${v.policy.sha256.slice(0, 12)} → ${pp.actual?.slice(0, 12) ?? "none"})` : `✓ policy ${v.policy.ref}: unchanged`);
  if (!v.pass) io.out(`✗ the verdict itself failed (${v.gates.filter((g) => g.status === "fail").length} gate(s))`);
  if (problems.length > 0) {
    io.err(`${verdictFile}: refused: ${problems.map((p) => (p.what === "verdict failed" ? "the gates failed" : `${p.file} ${p.what}`)).join("; ")}`);
    return 1;
  }
  io.out(`${verdictFile}: valid — evidence and policy unchanged since ${v.time}, all gates passed`);
  return 0;
}
