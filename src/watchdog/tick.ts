// One watchdog tick, the I/O around decide(): read the state and only the bytes written since the
// last tick (ranged GETs from each object's cursor, complete lines only, so a torn last line is
// read whole next time), find the campaign's live nodes by tag, decide, act (alert, or terminate
// and cancel and record and notify), and write the state last. A tick that fails anywhere before
// that leaves the previous state in place: the next one re-reads the same bytes into the same
// monitors, so no point is lost or counted twice. AWS clients are injected (tests point them at
// moto_server); the SDK retries transient errors and throttling with backoff.
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { CancelSpotInstanceRequestsCommand, DescribeInstancesCommand, DescribeSpotInstanceRequestsCommand, TerminateInstancesCommand, type EC2Client } from "@aws-sdk/client-ec2";
import { PublishCommand, type SNSClient } from "@aws-sdk/client-sns";
import { Diagnostics } from "../evidence/problems.ts";
import { metricsMapper } from "../evidence/formats/metrics.ts";
import type { MetricPoint } from "../evidence/schemas.ts";
import { decodeState, encodeState } from "../gates/snapshot.ts";
import { CAMPAIGN_TAG } from "../infra/tags.ts";
import { decide, type Decision, type NodeEvent, type WatchdogConfig, type WatchdogState } from "./decide.ts";

export interface Clients {
  s3: S3Client;
  ec2: EC2Client;
  sns: SNSClient;
}

export interface TickTarget {
  bucket: string;
  /** The campaign's prefix in the bucket (the node writes <prefix>/<stage>/node-<rank>/…). */
  prefix: string;
  topicArn: string;
  config: WatchdogConfig;
}

export interface TickResult {
  decision: Decision;
  /** Bytes read from the bucket this tick (metrics and events). */
  bytesRead: number;
  terminated: string[];
  cancelledSpotRequests: string[];
  recordKey?: string;
  /** Lines that were not valid metrics (reported, never fatal). */
  problems: string[];
}

/** Where the watchdog keeps its own files: outside the node's prefix, which the node may write. */
export const stateKey = (t: TickTarget): string => `watchdog/${t.config.campaign}/${t.config.stage}/state.json`;

async function getBytes(s3: S3Client, bucket: string, key: string, range?: string): Promise<Uint8Array | undefined> {
  try {
    const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...(range ? { Range: range } : {}) }));
    return (await r.Body?.transformToByteArray()) ?? new Uint8Array();
  } catch (err) {
    if ((err as { name?: string }).name === "NoSuchKey") return undefined;
    throw err;
  }
}

async function listObjects(s3: S3Client, bucket: string, prefix: string): Promise<{ key: string; size: number }[]> {
  const out: { key: string; size: number }[] = [];
  let token: string | undefined;
  do {
    const r = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
    for (const o of r.Contents ?? []) if (o.Key && o.Size !== undefined) out.push({ key: o.Key, size: o.Size });
    token = r.IsTruncated ? r.NextContinuationToken : undefined;
  } while (token);
  return out;
}

/** The complete lines of what was appended since the cursor; the cursor moves past them only. */
async function readNew(s3: S3Client, bucket: string, key: string, size: number, cursor: { bytes: number; line: number }): Promise<{ lines: string[]; next: { bytes: number; line: number }; bytes: number } | undefined> {
  if (size <= cursor.bytes) return undefined;
  const bytes = await getBytes(s3, bucket, key, `bytes=${cursor.bytes}-${size - 1}`);
  if (bytes === undefined) return undefined;
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = buf.lastIndexOf(0x0a);
  if (end === -1) return { lines: [], next: cursor, bytes: buf.length };
  const complete = buf.subarray(0, end + 1).toString("utf-8");
  const lines = complete.split("\n").slice(0, -1).map((l) => l.replace(/\r$/, ""));
  return { lines, next: { bytes: cursor.bytes + end + 1, line: cursor.line + lines.length }, bytes: buf.length };
}

async function liveInstances(ec2: EC2Client, campaign: string): Promise<{ ids: string[]; launchedAt: Date | undefined }> {
  const ids: string[] = [];
  let launchedAt: Date | undefined;
  let token: string | undefined;
  do {
    const r = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: `tag:${CAMPAIGN_TAG}`, Values: [campaign] }, { Name: "instance-state-name", Values: ["pending", "running", "stopping", "stopped"] }], ...(token ? { NextToken: token } : {}) }));
    for (const res of r.Reservations ?? []) {
      for (const inst of res.Instances ?? []) {
        if (!inst.InstanceId) continue;
        ids.push(inst.InstanceId);
        if (inst.LaunchTime && (!launchedAt || inst.LaunchTime < launchedAt)) launchedAt = inst.LaunchTime;
      }
    }
    token = r.NextToken;
  } while (token);
  return { ids, launchedAt };
}

async function openSpotRequests(ec2: EC2Client, campaign: string): Promise<string[]> {
  const r = await ec2.send(new DescribeSpotInstanceRequestsCommand({ Filters: [{ Name: `tag:${CAMPAIGN_TAG}`, Values: [campaign] }, { Name: "state", Values: ["open", "active"] }] }));
  return (r.SpotInstanceRequests ?? []).map((s) => s.SpotInstanceRequestId).filter((x): x is string => x !== undefined);
}

export async function tick(c: Clients, t: TickTarget, now: Date = new Date()): Promise<TickResult> {
  const raw = await getBytes(c.s3, t.bucket, stateKey(t));
  const state = raw === undefined ? undefined : decodeState<WatchdogState>(Buffer.from(raw).toString("utf-8"));
  const cursors = { ...(state?.cursors ?? {}) };
  const objects = await listObjects(c.s3, t.bucket, `${t.prefix}/${t.config.stage}/`);
  const batches: { key: string; points: MetricPoint[] }[] = [];
  const events: NodeEvent[] = [];
  const problems: string[] = [];
  let bytesRead = 0;
  for (const o of objects) {
    const isMetrics = o.key.endsWith(".metrics.jsonl");
    const isEvents = o.key.endsWith("/events.jsonl");
    if (!isMetrics && !isEvents) continue;
    const cursor = cursors[o.key] ?? { bytes: 0, line: 1 };
    const got = await readNew(c.s3, t.bucket, o.key, o.size, cursor);
    if (!got) continue;
    bytesRead += got.bytes;
    cursors[o.key] = got.next;
    if (isEvents) {
      for (const l of got.lines) {
        try {
          const e = JSON.parse(l) as NodeEvent;
          if (typeof e.event === "string") events.push(e);
        } catch {
          problems.push(`${o.key}: an events line that is not JSON`);
        }
      }
      continue;
    }
    const diag = new Diagnostics(o.key, 20);
    const points = metricsMapper(diag)({ first: cursor.line, lines: got.lines });
    for (const p of diag.problems) problems.push(`${p.file}:${p.line}: ${p.field}: ${p.message}`);
    batches.push({ key: o.key, points });
  }
  const live = await liveInstances(c.ec2, t.config.campaign);
  const decision = decide({ config: t.config, state, now, launchedAt: live.launchedAt, batches, events });
  decision.state.cursors = cursors;

  const result: TickResult = { decision, bytesRead, terminated: [], cancelledSpotRequests: [], problems };
  const subject = (what: string): string => `windtunnel ${t.config.campaign} (${t.config.stage}): ${what}`.slice(0, 99);
  if (decision.action === "teardown") {
    // Terminate first (it is what stops the bill), then cancel, record, notify: each idempotent.
    if (live.ids.length > 0) {
      await c.ec2.send(new TerminateInstancesCommand({ InstanceIds: live.ids }));
      result.terminated = live.ids;
    }
    const spot = await openSpotRequests(c.ec2, t.config.campaign);
    if (spot.length > 0) {
      await c.ec2.send(new CancelSpotInstanceRequestsCommand({ SpotInstanceRequestIds: spot }));
      result.cancelledSpotRequests = spot;
    }
    const record = {
      record: "windtunnel-teardown",
      campaign: t.config.campaign,
      stage: t.config.stage,
      at: now.toISOString(),
      reasons: decision.reasons,
      gates: decision.failed,
      terminated: result.terminated,
      cancelled_spot_requests: result.cancelledSpotRequests,
      launched_at: live.launchedAt?.toISOString() ?? null,
      cost_so_far_usd: decision.costSoFarUsd,
      last_metrics: Object.fromEntries(Object.entries(decision.state.runs).map(([k, r]) => [k, r.last ?? null])),
    };
    result.recordKey = `watchdog/${t.config.campaign}/${t.config.stage}/teardown-${now.toISOString().replace(/[:.]/g, "-")}.json`;
    await c.s3.send(new PutObjectCommand({ Bucket: t.bucket, Key: result.recordKey, Body: encodeState(record), ContentType: "application/json" }));
    await c.sns.send(new PublishCommand({ TopicArn: t.topicArn, Subject: subject("torn down"), Message: [`Torn down at ${record.at}.`, ...decision.reasons.map((r) => `- ${r}`), `Terminated: ${result.terminated.join(", ") || "nothing was running"}.`, `Cost so far: ${record.cost_so_far_usd === null ? "unknown" : `$${record.cost_so_far_usd}`}.`, `Record: s3://${t.bucket}/${result.recordKey}`].join("\n") }));
  }
  for (const a of decision.alerts) await c.sns.send(new PublishCommand({ TopicArn: t.topicArn, Subject: subject("alert"), Message: a }));
  // Last: only a tick that did everything above moves the cursors.
  await c.s3.send(new PutObjectCommand({ Bucket: t.bucket, Key: stateKey(t), Body: encodeState(decision.state), ContentType: "application/json" }));
  return result;
}
