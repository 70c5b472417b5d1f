// `windtunnel watch`: follow a cloud run from a laptop, optional for users (the watchdog in the
// account does not need it): the bucket's metrics as they arrive, the live curve against the
// envelope in the terminal, the watchdog's teardown records, and on request `pulumi destroy` for
// the stack through Pulumi's Automation API. Exit 0 while healthy, 1 once the watchdog tore it down.
import { S3Client } from "@aws-sdk/client-s3";
import * as asciichart from "asciichart";
import { UsageError } from "../../common/errors.ts";
import { bandAt, expectedAt, type Envelope } from "../../forecast/envelope.ts";
import { readPoint } from "../../forecast/reading.ts";
import { loadPolicy } from "../../policy/load.ts";
import { EnvelopeMonitor } from "../../gates/verify.ts";
import { fmt } from "../../common/format.ts";
import { readEnvelopeFile } from "../../judge/evidence.ts";
import { getBytes, listObjects, readUpdates, type Cursors } from "../../watchdog/bucket.ts";
import { parseJsonText } from "../../evidence/json.ts";
import { runIdOfKey, stagePrefix, teardownPrefix, watchdogConfigKey, watchdogStateKey } from "../../campaign/layout.ts";
import { parseWatchdogTarget } from "../../campaign/watchdog-config.ts";
import { continueRun, inAttemptOrder } from "../../campaign/attempts.ts";
import { decodeState } from "../../gates/snapshot.ts";
import { attemptsLedger, attemptsSummary } from "../../campaign/attempt-ledger.ts";
import type { WatchdogState } from "../../watchdog/decide.ts";
import type { Io } from "../io.ts";

export interface WatchFlags {
  bucket: string;
  campaign: string;
  stage: "sanity" | "full";
  envelope?: string;
  endpoint?: string;
  region?: string;
  intervalS: number;
  once: boolean;
  /** Run `pulumi destroy` for this stack (in `projectDir`) when the watchdog tears the run down. */
  destroyStack?: string;
  projectDir: string;
  width: number;
  height: number;
}

interface Curve {
  xs: number[];
  ys: number[];
  lastStep: number;
  /** The latest attempt drawn (a replacement after a spot interruption continues the curve). */
  attempt: number;
  /** The verify gate over every point so far (whole points: the envelope's own series rule reads them). */
  verify?: EnvelopeMonitor;
}

export interface Destroyer {
  (stack: string, dir: string, io: Io): Promise<void>;
}

/** `pulumi destroy` through the Automation API (it drives the Pulumi CLI, which must be installed). */
export const automationDestroy: Destroyer = async (stack, dir, io) => {
  const { LocalWorkspace } = await import("@pulumi/pulumi/automation/index.js");
  let s;
  try {
    s = await LocalWorkspace.selectStack({ stackName: stack, workDir: dir });
  } catch (err) {
    const why = /ENOENT/.test((err as Error).message) ? "the Pulumi CLI is not on PATH" : ((err as Error).message.split("\n").find((l) => l.trim().startsWith("stderr:")) ?? (err as Error).message.split("\n")[0] ?? "failed").trim();
    throw new UsageError(`pulumi destroy for stack ${stack} in ${dir}: ${why} (it needs the Pulumi CLI on PATH and a logged-in backend)`, { cause: err });
  }
  await s.destroy({ onOutput: (o) => io.out(o.trimEnd()) });
};

/**
 * The curve, and the envelope's ±5% band where the two overlap, resampled onto `width` columns of
 * x (asciichart draws series index by index and has no gaps, so only the shared range is drawn).
 * Each column shows the curve's highest loss in it: spikes stay visible when downsampled.
 */
export function chart(curve: Curve, env: Envelope | undefined, width: number, height: number, color = false, band = 0.05): string {
  if (curve.xs.length === 0) return "(no points yet)";
  const first = curve.xs[0] as number;
  const last = curve.xs[curve.xs.length - 1] as number;
  const overlap = env && (env.points.at(-1)?.x ?? 0) > first && (env.points[0]?.x ?? Infinity) < last;
  const lo = overlap && env ? Math.max(first, env.points[0]?.x ?? first) : first;
  const hi = overlap && env ? Math.min(last, env.points.at(-1)?.x ?? last) : last;
  const cols = Array.from({ length: width }, (_, i) => lo + ((hi - lo) * i) / Math.max(1, width - 1));
  const loss: number[] = [];
  let j = 0;
  while (j < curve.xs.length && (curve.xs[j] as number) < lo) j++;
  let held = curve.ys[Math.max(0, j - 1)] as number;
  cols.forEach((_x, i) => {
    const next = cols[i + 1] ?? Infinity;
    let worst = -Infinity;
    while (j < curve.xs.length && (curve.xs[j] as number) < next) worst = Math.max(worst, curve.ys[j++] as number);
    if (worst !== -Infinity) held = worst;
    loss.push(held);
  });
  const series = [loss];
  if (overlap && env) {
    // The band the verify gate allows: its own, or the forecast's where that is wider.
    const mid = cols.map((x) => ({ m: expectedAt(env, x) as number, b: Math.max(band, bandAt(env, x)) }));
    series.push(mid.map(({ m, b }) => m * (1 + b)), mid.map(({ m, b }) => m * (1 - b)));
  }
  const finite = series.flat().filter(Number.isFinite);
  if (finite.length !== series.flat().length) return "(the curve has non-finite values: see the gates below)";
  const label = overlap ? `${env?.axis} ${fmt(lo)}–${fmt(hi)}: the loss (highest per column) and the band the verify gate allows (±${fmt(band * 100)}%, or the forecast's own where wider)` : `${env ? `${env.axis} ` : ""}${fmt(lo)}–${fmt(hi)}: the loss (highest per column)${env ? "; not yet in the envelope's window" : ""}`;
  return `${asciichart.plot(series, { height, ...(color ? { colors: [undefined, asciichart.lightgreen, asciichart.lightgreen] } : {}), format: (v: number) => v.toFixed(3).padStart(8) })}\n${" ".repeat(10)}${label}`;
}

/**
 * An AWS or environment problem as the sentence a user can act on (exit 2), or undefined for
 * anything else (a bug). These were all reported as internal errors.
 */
export function awsProblem(err: unknown, flags: Pick<WatchFlags, "bucket" | "endpoint" | "region">): UsageError | undefined {
  const e = err as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number }; cause?: { code?: string } };
  const message = e.message ?? String(err);
  const where = flags.endpoint ?? "S3";
  const code = e.code ?? e.cause?.code;
  const say = (why: string): UsageError => new UsageError(`watch: ${why}`, { cause: err });
  if (e.name === "NoSuchBucket") return say(`no bucket ${flags.bucket}${flags.region ? ` in ${flags.region}` : ""} (pulumi stack output bucketName; the right --region?)`);
  if (/region is missing/i.test(message)) return say("no AWS region: pass --region, or set AWS_REGION (or a region in ~/.aws/config)");
  if (/region not accepted/i.test(message)) return say(`not a valid AWS region (${/region="[^"]*"/i.exec(message)?.[0] ?? "region"}): pass --region, e.g. us-east-1`);
  if (e.name === "CredentialsProviderError" || /could not load credentials/i.test(message)) return say("no AWS credentials found (AWS_ACCESS_KEY_ID / AWS_PROFILE / ~/.aws/credentials, or SSO: aws sso login)");
  if (e.name === "InvalidAccessKeyId" || e.name === "SignatureDoesNotMatch" || e.name === "ExpiredToken" || e.name === "ExpiredTokenException") return say(`AWS refused the credentials (${e.name}): check AWS_PROFILE or refresh them`);
  if (e.name === "AccessDenied" || e.$metadata?.httpStatusCode === 403) return say(`access denied to s3://${flags.bucket} (the credentials may read the campaign's bucket? ${e.name ?? ""})`.trim());
  if (code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "EAI_AGAIN" || code === "ETIMEDOUT" || code === "ECONNRESET" || e.name === "TimeoutError") return say(`cannot reach ${where} (${code ?? e.name}): is the endpoint right and up?`);
  if (e.$metadata !== undefined) return say(`S3 answered ${e.name ?? "an error"}: ${message.split("\n")[0]}`);
  return undefined;
}

/** What a teardown record says, read leniently: a record the watchdog did not write is shown as such. */
export function teardownRecord(key: string, bytes: Uint8Array): { reasons: string[]; at: string; cost: number | null } {
  const text = Buffer.from(bytes).toString("utf-8");
  const j = parseJsonText(text);
  if (!j.ok && j.problem !== "duplicate") return { reasons: [`(the record ${key} is not JSON)`], at: "?", cost: null };
  const r = j.ok ? j.value : undefined;
  if (r === undefined || r === null || typeof r !== "object" || Array.isArray(r)) return { reasons: [`(the record ${key} is not a teardown record)`], at: "?", cost: null };
  const o = r as Record<string, unknown>;
  // A string is one reason (it was printed letter by letter); anything else is not a reason.
  const reasons = typeof o["reasons"] === "string" ? [o["reasons"]] : Array.isArray(o["reasons"]) ? o["reasons"].map((x) => (typeof x === "string" ? x : JSON.stringify(x))) : ["(no reasons recorded)"];
  return { reasons, at: typeof o["at"] === "string" ? o["at"] : "?", cost: typeof o["cost_so_far_usd"] === "number" && Number.isFinite(o["cost_so_far_usd"]) ? o["cost_so_far_usd"] : null };
}

/** A run's name as watch shows it: its node and run (`node-1/train`), so two nodes never share one. */
export function runLabel(key: string, prefix: string): string {
  return (key.startsWith(prefix) ? key.slice(prefix.length) : key).replace(/\.metrics\.jsonl$|\.jsonl$/, "");
}

/** The envelope's value where the curve is, or where the curve is relative to its window. */
function envelopeNote(env: Envelope, x: number | undefined, band: number): string {
  if (x === undefined) return "";
  const e = expectedAt(env, x);
  if (e !== undefined) return ` (envelope ${fmt(e)} ± ${fmt(Math.max(band, bandAt(env, x)) * 100)}%)`;
  return x < (env.points[0]?.x ?? 0) ? " (before the envelope's window)" : " (past the envelope's window)";
}

export async function watchCommand(flags: WatchFlags, io: Io, destroy: Destroyer = automationDestroy): Promise<number> {
  try {
    return await watchLoop(flags, io, destroy);
  } catch (err) {
    const problem = awsProblem(err, flags);
    if (problem) throw problem;
    throw err;
  }
}

async function watchLoop(flags: WatchFlags, io: Io, destroy: Destroyer): Promise<number> {
  if (flags.endpoint !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(flags.endpoint);
    } catch {
      url = undefined;
    }
    if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:")) throw new UsageError(`--endpoint ${JSON.stringify(flags.endpoint)}: expected an http:// or https:// URL, e.g. http://127.0.0.1:5000`);
  }
  const s3 = new S3Client({ ...(flags.region ? { region: flags.region } : {}), ...(flags.endpoint ? { endpoint: flags.endpoint, forcePathStyle: true } : {}), maxAttempts: 5 });
  const env = flags.envelope !== undefined ? readEnvelopeFile(flags.envelope).envelope : undefined;
  const policy = (await loadPolicy("default")).policy;
  const curves = new Map<string, Curve>();
  let cursors: Cursors = {};
  const seenRecords = new Set<string>();
  const tty = process.stdout.isTTY === true;
  const prefix = stagePrefix(flags.campaign, flags.stage);
  for (;;) {
    const u = await readUpdates(s3, flags.bucket, prefix, cursors);
    cursors = u.cursors;
    for (const b of inAttemptOrder(u.batches)) {
      // One curve per run across its attempts, each step once (the watchdog's rule).
      const known = curves.get(runIdOfKey(b.key));
      const { id, attempt, points } = continueRun(known ? { attempt: known.attempt, last: { step: known.lastStep } } : undefined, b.key, b.points);
      const c: Curve = known ?? { xs: [], ys: [], lastStep: 0, attempt, ...(env ? { verify: new EnvelopeMonitor(runLabel(id, prefix), env, policy.verify) } : {}) };
      c.attempt = attempt;
      for (const p of points) {
        c.verify?.push(p);
        // Drawn on the envelope's series and axis; without one, the training loss (else validation loss) by step.
        const r = readPoint(env ?? { axis: "step", series: p.loss !== undefined ? "loss" : "val_loss" }, p);
        if (r === undefined) continue;
        c.xs.push(r.x);
        c.ys.push(r.y);
        c.lastStep = p.step;
      }
      curves.set(id, c);
    }
    const records: { key: string; reasons: string[]; at: string; cost?: number | null }[] = [];
    for (const o of await listObjects(s3, flags.bucket, teardownPrefix(flags.campaign, flags.stage))) {
      const bytes = await getBytes(s3, flags.bucket, o.key);
      if (!bytes) continue;
      records.push({ key: o.key, ...teardownRecord(o.key, bytes) });
    }

    const lines: string[] = [];
    lines.push(`windtunnel watch: s3://${flags.bucket}/${flags.campaign}/${flags.stage}/ · ${new Date().toISOString()}`);
    if (curves.size === 0) lines.push("no metrics yet");
    for (const [key, c] of curves) {
      const lastY = c.ys[c.ys.length - 1];
      lines.push("");
      const label = runLabel(key, prefix);
      lines.push(`${label}: ${c.xs.length} points, step ${c.lastStep}, loss ${lastY !== undefined ? fmt(lastY) : "—"}${env ? envelopeNote(env, c.xs[c.xs.length - 1], policy.verify.band) : ""}`);
      lines.push(chart(c, env, flags.width, flags.height, tty, policy.verify.band));
      if (c.verify) {
        const g = c.verify.finish();
        lines.push(`verify: ${g.status} — ${g.message}`);
      }
    }
    for (const r of records) {
      if (seenRecords.has(r.key)) continue;
      lines.push("");
      lines.push(`✗ the watchdog tore the run down at ${r.at}${typeof r.cost === "number" ? ` (cost so far $${r.cost})` : ""}:`);
      for (const why of r.reasons) lines.push(`  - ${why}`);
    }
    const attempts = await attemptLines(s3, flags);
    if (attempts.length > 0) lines.push("", ...attempts);
    if (u.problems.length > 0) lines.push(`(${u.problems.length} unreadable metrics line(s), e.g. ${u.problems[0]})`);
    if (tty && !flags.once) io.out("\x1b[2J\x1b[H");
    io.out(lines.join("\n"));
    for (const r of records) seenRecords.add(r.key);

    if (records.length > 0) {
      if (flags.destroyStack !== undefined) {
        io.out(`running pulumi destroy for stack ${flags.destroyStack} …`);
        await destroy(flags.destroyStack, flags.projectDir, io);
      }
      return 1;
    }
    if (flags.once) return 0;
    await new Promise((r) => setTimeout(r, flags.intervalS * 1000));
  }
}

/** The node's attempts as the watchdog keeps them (its state in the bucket): none before a first interruption. */
async function attemptLines(s3: S3Client, flags: Pick<WatchFlags, "bucket" | "campaign" | "stage">): Promise<string[]> {
  const bytes = await getBytes(s3, flags.bucket, watchdogStateKey(flags.campaign, flags.stage));
  if (!bytes) return [];
  let state: WatchdogState;
  try {
    state = decodeState<WatchdogState>(Buffer.from(bytes).toString("utf8"));
  } catch {
    return [];
  }
  if (!state.recovery) return [];
  // Each attempt records its price; a state from before that is priced at the stack's, from the watchdog's config.
  const config = await getBytes(s3, flags.bucket, watchdogConfigKey(flags.campaign, flags.stage));
  const parsed = config ? parseWatchdogTarget(Buffer.from(config).toString("utf8")) : undefined;
  return attemptsSummary(attemptsLedger({ recovery: state.recovery, teardown: state.teardown, now: new Date(), hourlyUsd: parsed?.ok ? parsed.target.config.hourlyUsd * parsed.target.config.nodes : undefined }));
}
