// The evidence a judgement reads, as files: which file is which (a trajectory, curves, a campaign
// plan), and the readers of our own small files (campaign plans, envelopes, verdicts), each hashed
// from the bytes read so a verdict binds exactly what was judged.
import { createHash } from "node:crypto";
import { basename, extname } from "node:path";
import { InputError, UsageError } from "../common/errors.ts";
import { readInputFile } from "../common/files.ts";
import { detectFormat, openEvidence, TRAJECTORY_FORMATS, type Detected, type ReadOptions } from "../evidence/read.ts";
import { parseYaml, validateYaml } from "../evidence/yaml.ts";
import { readJsonFile } from "../evidence/json-file.ts";
import { campaignPlanSchema, plainCampaignPlan, type CampaignPlan } from "../cost/campaign-plan.ts";
import type { JudgedPrice } from "../cost/live-price.ts";
import { verdictSchema, type Verdict } from "../gates/verdict.ts";
import { envelopeSchema, type Envelope } from "../forecast/envelope.ts";
import type { MetricPoint } from "../evidence/schemas.ts";

export interface EvidenceFile {
  file: string;
  detected: Detected;
}

export interface ClassifiedEvidence {
  trajectory?: EvidenceFile;
  curves: EvidenceFile[];
  /** A campaign plan YAML named among the evidence files. */
  campaignFile?: string;
}

/** Sort evidence files by what they hold: one trajectory, loss curves, at most one campaign plan. */
export async function classifyEvidence(files: readonly string[], read: ReadOptions): Promise<ClassifiedEvidence> {
  const out: ClassifiedEvidence = { curves: [] };
  for (const file of files) {
    if ([".yaml", ".yml"].includes(extname(file))) {
      if (out.campaignFile !== undefined) throw new UsageError(`two campaign plans given: ${out.campaignFile} and ${file}`);
      out.campaignFile = file;
      continue;
    }
    const detected = await detectFormat(file, read);
    if ((TRAJECTORY_FORMATS as readonly string[]).includes(detected.format)) {
      if (out.trajectory !== undefined) throw new UsageError(`two trajectories given: ${out.trajectory.file} and ${file}; gate one sweep at a time`);
      out.trajectory = { file, detected };
    } else {
      out.curves.push({ file, detected });
    }
  }
  return out;
}

export interface Campaign {
  /** Where the plan came from, as the gate table names it (a file name, or the stack). */
  subject: string;
  plan: CampaignPlan;
  sha256: string;
  /** Set when the plan is a file, so the verdict can bind it by path. */
  file?: string;
  /** A price to judge instead of the plan's node_hourly_usd (`plan --live`'s spot quote). */
  price?: JudgedPrice;
}

/** A campaign plan YAML file, validated, hashed from the bytes that were read. */
export async function readCampaignFile(file: string): Promise<Campaign> {
  const bytes = readInputFile(file);
  const y = parseYaml(file, bytes.toString("utf8"));
  const plan = plainCampaignPlan(y.value) ?? (await validateYaml(y, campaignPlanSchema()));
  return { subject: basename(file), plan, sha256: createHash("sha256").update(bytes).digest("hex"), file };
}

/** A plan that lives in memory (the Pulumi stack's config): hashed as canonical JSON, as typed. */
export function campaignFromPlan(subject: string, plan: CampaignPlan, price?: JudgedPrice): Campaign {
  const canonical = JSON.stringify(Object.fromEntries(Object.entries(plan).sort(([a], [b]) => a.localeCompare(b))));
  return { subject, plan, sha256: createHash("sha256").update(canonical).digest("hex"), ...(price ? { price } : {}) };
}

/** Curve names: file names (without the extension), or paths when two curves share a name. */
export function curveNames(files: readonly string[], extension = false): string[] {
  const names = files.map((f) => (extension ? basename(f) : basename(f).replace(/\.(jsonl|log|txt)$/, "")));
  return names.map((n, i) => (names.indexOf(n) !== names.lastIndexOf(n) ? (files[i] as string) : n));
}

/** Every point of a metrics file (sanity runs and cloud curves are small), hashed as read. */
export async function readMetricPoints(f: EvidenceFile, read: ReadOptions): Promise<{ points: MetricPoint[]; sha256: string }> {
  const hash = createHash("sha256");
  const ev = await openEvidence(f.file, { ...read, detected: f.detected, hash });
  if (ev.kind !== "metrics") throw InputError.at(f.file, 1, "format", "expected metrics (JSON lines or a training log)");
  const points: MetricPoint[] = [];
  for await (const b of ev.points) for (const p of b) points.push(p);
  if (!ev.diag.ok) throw new InputError(ev.diag.problems.filter((p) => p.kind === "error"));
  return { points, sha256: hash.digest("hex") };
}


/** An envelope.json, validated (bad input names the file and the field). */
export function readEnvelopeFile(file: string): { file: string; envelope: Envelope; sha256: string } {
  const { value, sha256 } = readJsonFile(file, envelopeSchema(), "envelope");
  return { file, envelope: value as Envelope, sha256 };
}

/** A verdict.json, checked to be one (bad input names the file and the field). */
export function readVerdictFile(file: string): Verdict {
  return readJsonFile(file, verdictSchema(), "verdict").value as unknown as Verdict;
}

