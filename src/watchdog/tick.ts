// One watchdog tick, the I/O around decide(): read the state and only the bytes written since the
// last tick (ranged GETs from each object's cursor, complete lines only, so a torn last line is
// read whole next time), find the campaign's live nodes by tag, decide, act (alert, or terminate
// and cancel and record and notify), and write the state last. A tick that fails anywhere before
// that leaves the previous state in place: the next one re-reads the same bytes into the same
// monitors, so no point is lost or counted twice. AWS clients are injected (tests point them at
// moto_server); the SDK retries transient errors and throttling with backoff.
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { CancelSpotInstanceRequestsCommand, DescribeInstancesCommand, DescribeSpotInstanceRequestsCommand, TerminateInstancesCommand, type EC2Client } from "@aws-sdk/client-ec2";
import { PublishCommand, type SNSClient } from "@aws-sdk/client-sns";
import { decodeState, encodeState } from "../gates/snapshot.ts";
import { ATTEMPT_TAG, CAMPAIGN_TAG, MARKET_TAG, STAGE_TAG, stagePrefix, teardownKey, watchdogStateKey } from "../campaign/layout.ts";
import { decide, type Decision, type WatchdogConfig, type WatchdogState } from "./decide.ts";
import { relaunch, type Relaunched } from "./relaunch.ts";
import type { InstanceFact } from "./recovery.ts";
import { ATTEMPT_MARKETS, type AttemptMarket } from "../campaign/attempt-ledger.ts";
import { getBytes, readUpdates } from "./bucket.ts";
import { resumeRuns } from "./resume.ts";

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
  /** The replacement launched this tick after a spot interruption, or AWS's refusal of it. */
  relaunched?: Relaunched;
  /** Lines that were not valid metrics (reported, never fatal). */
  problems: string[];
}

/** Where the watchdog keeps its own files: outside the node's prefix, which the node may write. */
export const stateKey = (t: TickTarget): string => watchdogStateKey(t.config.campaign, t.config.stage);

const LIVE = new Set(["pending", "running", "stopping", "stopped"]);

/** The campaign's instances by tag, live and recently gone: the live ones and the earliest live launch, and every one as a fact for recovery. */
async function campaignInstances(ec2: EC2Client, campaign: string, stage: string): Promise<{ ids: string[]; launchedAt: Date | undefined; facts: InstanceFact[] }> {
  const ids: string[] = [];
  const facts: InstanceFact[] = [];
  let launchedAt: Date | undefined;
  let token: string | undefined;
  do {
    const r = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: `tag:${CAMPAIGN_TAG}`, Values: [campaign] }], ...(token ? { NextToken: token } : {}) }));
    for (const res of r.Reservations ?? []) {
      for (const inst of res.Instances ?? []) {
        if (!inst.InstanceId) continue;
        const state = inst.State?.Name ?? "unknown";
        // The other stage's nodes (the sanity day's, gone) are not attempts of this one.
        const ofStage = inst.Tags?.find((t) => t.Key === STAGE_TAG)?.Value === stage;
        const attempt = Number(inst.Tags?.find((t) => t.Key === ATTEMPT_TAG)?.Value ?? 1);
        const market = marketOf(inst.Tags?.find((t) => t.Key === MARKET_TAG)?.Value, inst.InstanceLifecycle);
        if (ofStage) facts.push({ instanceId: inst.InstanceId, state, launchedAt: (inst.LaunchTime ?? new Date(0)).toISOString(), attempt: Number.isInteger(attempt) && attempt > 0 ? attempt : 1, reclaimed: inst.StateReason?.Code === "Server.SpotInstanceTermination", ...(inst.SubnetId ? { subnet: inst.SubnetId } : {}), ...(market ? { market } : {}) });
        if (!LIVE.has(state)) continue;
        ids.push(inst.InstanceId);
        if (inst.LaunchTime && (!launchedAt || inst.LaunchTime < launchedAt)) launchedAt = inst.LaunchTime;
      }
    }
    token = r.NextToken;
  } while (token);
  return { ids, launchedAt, facts };
}

/** A replacement's market tag, else what AWS says of the instance (its lifecycle is spot, or absent). */
function marketOf(tag: string | undefined, lifecycle: string | undefined): AttemptMarket | undefined {
  const tagged = ATTEMPT_MARKETS.find((m) => m === tag);
  return tagged ?? (lifecycle === "spot" ? "spot" : undefined);
}

async function openSpotRequests(ec2: EC2Client, campaign: string): Promise<string[]> {
  const r = await ec2.send(new DescribeSpotInstanceRequestsCommand({ Filters: [{ Name: `tag:${CAMPAIGN_TAG}`, Values: [campaign] }, { Name: "state", Values: ["open", "active"] }] }));
  return (r.SpotInstanceRequests ?? []).map((s) => s.SpotInstanceRequestId).filter((x): x is string => x !== undefined);
}

/**
 * One tick. `warnings`: spot interruption warnings EventBridge delivered with this invocation;
 * the instance's own notice in the bucket says the same, later (after the node's next upload).
 */
export async function tick(c: Clients, t: TickTarget, now: Date = new Date(), warnings: readonly { instanceId: string; at: string }[] = []): Promise<TickResult> {
  const raw = await getBytes(c.s3, t.bucket, stateKey(t));
  const saved = raw === undefined ? undefined : decodeState<WatchdogState>(Buffer.from(raw).toString("utf-8"));
  // A run whose saved monitors this version cannot resume loses its cursor here, so it is read
  // again from its first byte and judged on its whole curve (resume.ts says why).
  const resumed = saved === undefined ? undefined : resumeRuns(saved);
  const { cursors, batches, events, problems, bytesRead } = await readUpdates(c.s3, t.bucket, stagePrefix(t.prefix, t.config.stage), resumed?.state.cursors ?? {});
  const live = await campaignInstances(c.ec2, t.config.campaign, t.config.stage);
  // A warning names an instance: it counts only for one of this campaign's nodes.
  const mine = warnings.filter((w) => live.facts.some((f) => f.instanceId === w.instanceId)).map((w) => ({ event: "spot_interruption", instance_id: w.instanceId, time: w.at, source: "eventbridge" }));
  const decision = decide({ config: t.config, state: resumed?.state, now, launchedAt: live.launchedAt, batches, events: [...events, ...mine], replays: resumed?.replays ?? [], ...(t.config.recovery ? { instances: live.facts } : {}) });
  decision.state.cursors = cursors;

  const result: TickResult = { decision, bytesRead, terminated: [], cancelledSpotRequests: [], problems };
  if (decision.relaunch && t.config.recovery) {
    result.relaunched = await relaunch(c.ec2, t.config.recovery, decision, now);
    if (result.relaunched.refused !== undefined) decision.alerts.push(`relaunch refused by AWS: ${result.relaunched.refused}; the next try backs off`);
  }
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
    result.recordKey = teardownKey(t.config.campaign, t.config.stage, now);
    await c.s3.send(new PutObjectCommand({ Bucket: t.bucket, Key: result.recordKey, Body: encodeState(record), ContentType: "application/json" }));
    await c.sns.send(new PublishCommand({ TopicArn: t.topicArn, Subject: subject("torn down"), Message: [`Torn down at ${record.at}.`, ...decision.reasons.map((r) => `- ${r}`), `Terminated: ${result.terminated.join(", ") || "nothing was running"}.`, `Cost so far: ${record.cost_so_far_usd === null ? "unknown" : `$${record.cost_so_far_usd}`}.`, `Record: s3://${t.bucket}/${result.recordKey}`].join("\n") }));
  }
  for (const a of decision.alerts) await c.sns.send(new PublishCommand({ TopicArn: t.topicArn, Subject: subject("alert"), Message: a }));
  // Last: only a tick that did everything above moves the cursors.
  await c.s3.send(new PutObjectCommand({ Bucket: t.bucket, Key: stateKey(t), Body: encodeState(decision.state), ContentType: "application/json" }));
  return result;
}
