// The watchdog's tick against moto_server when the state.json it saved cannot be resumed (written
// by another version: the monitor snapshots carry no version): the tick neither throws (a watchdog
// that fails every tick is a dead-man switch that never fires) nor tears a healthy run down. It
// reads that run's whole object again, judges it on its whole curve, says so by SNS, and saves
// state this version resumes on the next tick.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeEach, expect, it } from "vitest";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { EC2Client, RunInstancesCommand } from "@aws-sdk/client-ec2";
import { CreateTopicCommand, SNSClient, SubscribeCommand } from "@aws-sdk/client-sns";
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { tick, stateKey, type TickTarget } from "../../src/watchdog/tick.ts";
import type { WatchdogState } from "../../src/watchdog/decide.ts";
import { decodeState, encodeState } from "../../src/gates/snapshot.ts";
import { DEFAULT_POLICY } from "../helpers/policy.ts";
import { REPO } from "../helpers/shared.ts";
import { describeWithMoto, type Moto } from "../helpers/moto.ts";

const POLICY = { stress: DEFAULT_POLICY.stress, verify: DEFAULT_POLICY.verify, sanity: DEFAULT_POLICY.sanity, health: DEFAULT_POLICY.health };
const lines = readFileSync(join(REPO, "test/fixtures/stress/healthy.jsonl"), "utf8").trimEnd().split("\n");
const key = "camp/full/node-0/train.metrics.jsonl";

describeWithMoto("watchdog: a saved state this version cannot resume", (moto: () => Moto) => {
  let aws: { s3: S3Client; ec2: EC2Client; sns: SNSClient; sqs: SQSClient };

  beforeEach(async () => {
    await moto().reset();
    const cfg = { endpoint: moto().endpoint, region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" }, maxAttempts: 3 };
    aws = { s3: new S3Client({ ...cfg, forcePathStyle: true }), ec2: new EC2Client(cfg), sns: new SNSClient(cfg), sqs: new SQSClient(cfg) };
  });

  async function setup(): Promise<{ target: TickTarget; queueUrl: string }> {
    const bucket = "wt-camp-artifacts";
    await aws.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const topic = await aws.sns.send(new CreateTopicCommand({ Name: "wt-camp-alerts" }));
    const queue = await aws.sqs.send(new CreateQueueCommand({ QueueName: "inbox" }));
    const queueArn = (await aws.sqs.send(new GetQueueAttributesCommand({ QueueUrl: queue.QueueUrl, AttributeNames: ["QueueArn"] }))).Attributes?.["QueueArn"];
    await aws.sns.send(new SubscribeCommand({ TopicArn: topic.TopicArn, Protocol: "sqs", Endpoint: queueArn, Attributes: { RawMessageDelivery: "true" } }));
    await aws.ec2.send(new RunInstancesCommand({ ImageId: "ami-12c6146b", MinCount: 1, MaxCount: 1, InstanceType: "p5.48xlarge", TagSpecifications: [{ ResourceType: "instance", Tags: [{ Key: "windtunnel:campaign", Value: "camp" }] }] }));
    const target: TickTarget = { bucket, prefix: "camp", topicArn: topic.TopicArn as string, config: { campaign: "camp", stage: "full", hoursCap: 24, hourlyUsd: 98.32, nodes: 1, policy: POLICY } };
    return { target, queueUrl: queue.QueueUrl as string };
  }

  const put = (t: TickTarget, k: string, body: string) => aws.s3.send(new PutObjectCommand({ Bucket: t.bucket, Key: k, Body: body }));
  const text = async (t: TickTarget, k: string) => (await (await aws.s3.send(new GetObjectCommand({ Bucket: t.bucket, Key: k }))).Body?.transformToString()) ?? "";
  const inbox = async (queueUrl: string) => ((await aws.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }))).Messages ?? []).map((m) => m.Body ?? "");

  it("replays the run from its first line, alerts once, keeps the node, and the next tick resumes normally", async () => {
    const { target, queueUrl } = await setup();
    await put(target, key, `${lines.slice(0, 40).join("\n")}\n`);
    expect((await tick(aws, target)).decision.action).toBe("continue");

    // The state as an older watchdog wrote it: the same monitor state, without a version.
    const state = decodeState<WatchdogState>(await text(target, stateKey(target)));
    const run = state.runs[key];
    if (!run) throw new Error("no run saved");
    delete (run.monitor as Partial<typeof run.monitor>).version;
    await put(target, stateKey(target), encodeState(state));
    await put(target, key, `${lines.slice(0, 70).join("\n")}\n`);

    const r = await tick(aws, target);
    expect(r.decision.action).toBe("alert");
    expect(r.terminated).toEqual([]);
    expect(r.bytesRead).toBe(Buffer.byteLength(`${lines.slice(0, 70).join("\n")}\n`));
    expect(r.decision.state.runs[key]?.points).toBe(70);
    expect(r.decision.state.runs[key]?.last?.step).toBe(JSON.parse(lines[69] as string).step);
    expect(await inbox(queueUrl)).toEqual([expect.stringMatching(/^train: its saved monitor state was refused \(the stress monitor's snapshot: version: missing \(this version reads version 1\)\); its monitors start afresh from the whole curve in the bucket/)]);

    const resaved = decodeState<WatchdogState>(await text(target, stateKey(target)));
    expect(resaved.runs[key]?.monitor.version).toBe(1);
    expect(resaved.cursors[key]?.line).toBe(71);

    await put(target, key, `${lines.slice(0, 80).join("\n")}\n`);
    const next = await tick(aws, target);
    expect(next.decision.action).toBe("continue");
    expect(next.decision.state.runs[key]?.points).toBe(80);
    expect(await inbox(queueUrl)).toEqual([]);
  });
});
