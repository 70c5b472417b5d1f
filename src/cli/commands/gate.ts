// `windtunnel gate`: read the evidence, run the shared gate engine, print the verdict (table,
// json or markdown), optionally write verdict.json; exit 0 pass, 1 a gate failed, 2 bad input.
// `windtunnel gate --check verdict.json` re-hashes and refuses a verdict whose inputs changed.
import { existsSync } from "node:fs";
import { dirname, join, resolve, sep } from "node:path";
import { InputError, UsageError } from "../../common/errors.ts";
import type { ReadOptions } from "../../evidence/read.ts";
import { assertNotAnInput, sha256File, unreadableReason, writeFileAtomic } from "../../common/files.ts";
import { loadPolicy, policyFileOf, policyRefAt, type LoadedPolicy } from "../../policy/load.ts";
import pkg from "../../../package.json" with { type: "json" };
import { ratesFromEnv } from "../../cost/rates.ts";
import { isPhase, LOCAL_PHASES, PHASES, type Phase } from "../../gates/phases.ts";
import { checkVerdict, coverageProblems, outcomeDifferences } from "../../gates/verdict.ts";
import { renderMarkdown, renderTable } from "../../gates/table.ts";
import { judge, rejudge } from "../../judge/evaluate.ts";
import { classifyEvidence, readCampaignFile, readEnvelopeFile, readVerdictFile } from "../../judge/evidence.ts";
import { FIGURE_IDS } from "../../report/figures.ts";
import type { Io } from "../io.ts";
import type { OUTPUT_FORMATS } from "./gate.flags.ts";


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
  const bad = phases.filter((p) => !isPhase(p));
  if (bad.length > 0 || phases.length === 0) throw new UsageError(`--phase: expected ${PHASES.join(", ")}, a comma-separated list of them, or all (${LOCAL_PHASES.join(", ")}); got ${JSON.stringify(raw)}`);
  return PHASES.filter((p) => phases.includes(p));
}

/** The reader's options from the gate's flags (whose --format is the output format, not evidence's). */
function readOptions(flags: GateFlags): ReadOptions {
  return { ...(flags.statusMap ? { statusMap: flags.statusMap } : {}), ...(flags.logPreset ? { logPreset: flags.logPreset } : {}), ...(flags.logRegex ? { logRegex: flags.logRegex } : {}) };
}

export async function gateCommand(files: readonly string[], flags: GateFlags, io: Io): Promise<number> {
  const phases = parsePhases(flags.phase);
  if (flags.out !== undefined) assertNotAnInput("--out", [flags.out], [...files, ...[flags.campaign, flags.envelope, policyFileOf(flags.policy ?? "default")].filter((f): f is string => f !== undefined)]);
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

/**
 * Re-verify a verdict: its evidence covers its phases, every file still hashes as recorded, the
 * policy is unchanged, and the gates, re-run on those files with that policy, give exactly the
 * recorded outcome, which must pass. Anything else refuses (exit 1).
 */
export async function checkCommand(verdictFile: string, io: Io, confirmed: { logRegex?: string } = {}): Promise<number> {
  const v = readVerdictFile(verdictFile);
  const base = dirname(resolve(verdictFile));
  const refuse = (why: string): number => {
    io.err(`${verdictFile}: refused: ${why}`);
    return 1;
  };
  // A regular expression runs only from the user's own command line, never from a file: a
  // verdict's recorded --log-regex could be written to take forever (catastrophic backtracking).
  const recorded = v.read?.logRegex;
  if (recorded !== undefined && recorded !== confirmed.logRegex) {
    return refuse(`its curves were read with --log-regex ${JSON.stringify(recorded)}; windtunnel runs a regex only from your own command line, so review it and pass it again: windtunnel gate --check ${verdictFile} --log-regex '${recorded.replaceAll("'", "'\\''")}'${confirmed.logRegex !== undefined ? " (the one given differs)" : ""}`);
  }
  const uncovered = coverageProblems(v);
  if (uncovered.length > 0) {
    for (const p of uncovered) io.out(`✗ ${p}`);
    return refuse(`its evidence does not cover its phases (${uncovered.join("; ")})`);
  }
  const hashes = new Map<string, string | null>();
  for (const e of v.evidence) hashes.set(e.file, await sha256File(resolve(base, e.file)));
  const policyRef = policyRefAt(v.policy.ref, base);
  let policy: LoadedPolicy | undefined;
  try {
    policy = await loadPolicy(policyRef);
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
  }
  const problems = checkVerdict(v, { evidence: hashes, policySha256: policy?.sha256 ?? null }).filter((p) => p.what !== "verdict failed");
  for (const e of v.evidence) {
    const p = problems.find((x) => x.file === e.file);
    const why = p?.what === "missing" ? unreadableReason(resolve(base, e.file)) : undefined;
    io.out(p ? `✗ ${e.file} (${e.role}): ${why !== undefined && why !== "no such file" ? `unreadable: ${why}` : p.what}${p.actual ? ` (sha256 ${p.expected?.slice(0, 12)} → ${p.actual.slice(0, 12)})` : ""}` : `✓ ${e.file} (${e.role}): unchanged`);
  }
  const pp = problems.find((x) => x.what === "policy changed");
  io.out(pp ? `✗ policy ${v.policy.ref}: changed or unreadable (sha256 ${v.policy.sha256.slice(0, 12)} → ${pp.actual?.slice(0, 12) ?? "none"})` : `✓ policy ${v.policy.ref}: unchanged`);
  if (problems.length > 0 || policy === undefined) return refuse(problems.map((p) => `${p.file} ${p.what}`).join("; "));

  // The files are the ones recorded: judge them again, as they were judged.
  let now;
  try {
    now = await rejudge(v, base, policyRef, policy, io.env);
  } catch (err) {
    if (!(err instanceof InputError || err instanceof UsageError)) throw err;
    io.out(`✗ the gates could not be re-run on the verdict's evidence`);
    return refuse(`its evidence is not what it claims to be: ${err.message.split("\n").join("; ")}`);
  }
  const listed = (x: typeof v): string => x.evidence.map((e) => `${e.role}:${e.file}:${e.sha256}`).sort().join("\n");
  const diffs = [...(listed(now) !== listed(v) ? ["the gates read other evidence than the verdict lists"] : []), ...outcomeDifferences(v, now)];
  if (diffs.length > 0) {
    io.out(`✗ the gates, re-run, give another outcome (windtunnel ${pkg.version} now, ${v.windtunnel} then):`);
    for (const d of diffs.slice(0, 10)) io.out(`    ${d}`);
    if (diffs.length > 10) io.out(`    … and ${diffs.length - 10} more`);
    return refuse(`its recorded outcome is not what the gates give (${diffs.length} difference${diffs.length === 1 ? "" : "s"})`);
  }
  io.out(`✓ the gates, re-run on this evidence, give the recorded outcome (${v.gates.length} results)`);
  if (!v.pass) {
    io.out(`✗ the verdict itself failed (${v.gates.filter((g) => g.status === "fail" && g.scope !== "candidate").length} gate(s))`);
    return refuse("the gates failed");
  }
  io.out(`${verdictFile}: valid — evidence and policy unchanged since ${v.time}, the gates re-run to the same outcome, all passed`);
  return 0;
}
