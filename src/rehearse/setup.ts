// What the rehearsal runs, from the stack: the stack's own program renders each node's user data
// (as `windtunnel plan` does, with the commands wrapped by the fault injector), and moto_server
// plays the AWS the stack would make (bucket, topic, the watchdog's config, one tagged instance per node).
import { join, relative, resolve } from "node:path";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { EC2Client, RunInstancesCommand, type _InstanceType } from "@aws-sdk/client-ec2";
import { CreateTopicCommand, SNSClient } from "@aws-sdk/client-sns";
import { readStackFile, type StackFile } from "../infra/stack-file.ts";
import { planProgram, type Plan, type PlannedResource } from "../infra/preview.ts";
import { renderUserData, shq } from "../infra/user-data.ts";
import type { RenderOptions, UserDataInput } from "../infra/user-data-input.ts";
import type { StackConfig } from "../infra/config.ts";
import { hardStopMinutes, stageRuns } from "../infra/stage-script.ts";
import { efaCards } from "../infra/instance-types.ts";
import { campaignPrefix, campaignTags, watchdogConfigKey } from "../campaign/layout.ts";
import { loadTarget } from "../watchdog/handler.ts";
import type { Clients, TickTarget } from "../watchdog/tick.ts";
import type { RehearseOptions } from "./rehearse.ts";
import { standInsDir } from "./stand-ins.ts";
import { InternalError, UsageError } from "../common/errors.ts";

export interface RehearsalPlan {
  stack: StackFile;
  stage: "sanity" | "full";
  /** Each node's user data input, and the script the program rendered from it. */
  nodes: { input: UserDataInput; rendered: string }[];
  /** The watchdog config object the program writes. */
  watchdogObject: PlannedResource;
}

/** The stack's commands wrapped by the fault injector, for the program to render. */
function wrappedContainer(c: StackConfig, command: string | undefined): Record<string, unknown> {
  const wrap = (cmd: string): string => `${shq(join(standInsDir(), "rehearse-run"))} ${shq(command ?? cmd)}`;
  return { ...c.container, command: wrap(c.container.command), sanityCommands: c.container.sanityCommands.map((r) => ({ ...r, command: wrap(r.command) })) };
}

/** Each node's user data input, as TrainingNode builds it; checked against what the program rendered. */
function nodeInputs(s: StackFile, plan: Plan): { input: UserDataInput; rendered: string }[] {
  const c = s.config;
  const stage = c.stage as "sanity" | "full";
  const instances = plan.resources.filter((r) => r.type === "aws:ec2/instance:Instance").sort((a, b) => a.name.localeCompare(b.name, "en", { numeric: true }));
  const bucket = plan.outputs.bucketName;
  const region = s.encoded["aws:region"] ?? "us-east-1";
  if (bucket === undefined || instances.length !== c.node.count) throw new InternalError(`the program rendered ${instances.length} instances for ${c.node.count} nodes`);
  return instances.map((r, rank) => {
    const rendered = String(r.inputs["userData"] ?? "");
    const master = rank > 0 ? /^MASTER_ADDR='([^']*)'$/m.exec(rendered)?.[1] : undefined;
    const input: UserDataInput = {
      campaign: c.campaign, stage, bucket, prefix: campaignPrefix(c.campaign), region, image: c.container.image, runs: stageRuns(c),
      hardStopMinutes: hardStopMinutes(c), metricsIntervalS: c.metricsIntervalS, rank, nodes: c.node.count, efa: c.node.count > 1 && efaCards(c.node.instanceType) > 0,
      target: c.target, verdictDigest: plan.outputs.verdictDigest, ...(master !== undefined ? { masterAddr: master } : {}),
    };
    // The rehearsal runs the stack's script: if our inputs do not reproduce it byte for byte, stop.
    if (renderUserData(input) !== rendered) throw new InternalError(`the user data of ${r.name} is not what the rehearsal reproduces from the stack; src/rehearse/setup.ts must follow TrainingNode`);
    return { input, rendered };
  });
}

/** The stack with the rehearsal's overrides, the program's plan for it, and what each node runs. */
export async function planRehearsal(o: RehearseOptions): Promise<RehearsalPlan> {
  const over = { ...(o.overrides ?? {}), ...(o.stage !== undefined ? { "windtunnel:stage": o.stage } : {}) };
  const first = await readStackFile(o.stackFile, over);
  const s = await readStackFile(o.stackFile, { ...over, "windtunnel:container": wrappedContainer(first.config, o.command) });
  const c = s.config;
  if (c.stage === "plan") throw new UsageError(`${o.stackFile}: windtunnel:stage is plan, which boots no node; give --stage sanity or --stage full`);
  const stage = c.stage;
  const configName = relative(o.cwd, resolve(o.stackFile)) || o.stackFile;
  const plan = await planProgram({ stack: s.stack, config: s.encoded, baseDir: s.projectDir, configName, env: o.env });
  const nodes = nodeInputs(s, plan);
  const watchdogObject = plan.resources.find((r) => r.type === "aws:s3/bucketObjectv2:BucketObjectv2" && r.inputs["key"] === watchdogConfigKey(c.campaign, stage));
  if (!watchdogObject) throw new InternalError("the program wrote no watchdog config");
  return { stack: s, stage, nodes, watchdogObject };
}

/**
 * How a rehearsed node's script waits: short retries and timeouts against moto, and uploads
 * every metricsIntervalS simulated seconds, but no faster than the aws CLI can.
 */
export function nodeRenderOptions(metricsIntervalS: number, minutesPerSecond: number, dir: string): RenderOptions {
  return {
    spotPollS: 0.2, retryWaitsS: [0.1, 0.2, 0.4], awsConnectTimeoutS: 2, awsReadTimeoutS: 5, awsMaxAttempts: 2,
    metricsIntervalS: Math.max(0.5, metricsIntervalS / (60 * minutesPerSecond)),
    logFile: join(dir, "windtunnel.log"), outDir: join(dir, "out"),
  };
}

export interface PlayedAws {
  clients: Clients;
  bucket: string;
  /** The watchdog's config, read back from the bucket as the Lambda reads it. */
  target: TickTarget;
  /** Each node's instance id, by rank. */
  ids: string[];
}

/** moto_server, made into the AWS the stack would have created. */
export async function playAws(endpoint: string, p: RehearsalPlan): Promise<PlayedAws> {
  const c = p.stack.config;
  const aws = { endpoint, region: "us-east-1", credentials: { accessKeyId: "testing", secretAccessKey: "testing" } };
  const clients: Clients = { s3: new S3Client({ ...aws, forcePathStyle: true }), ec2: new EC2Client(aws), sns: new SNSClient(aws) };
  const bucket = p.nodes[0]?.input.bucket ?? "";
  await clients.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const topic = await clients.sns.send(new CreateTopicCommand({ Name: `wt-${c.campaign}-alerts` }));
  // The config the stack writes, with the topic moto made.
  const content = JSON.parse(String(p.watchdogObject.inputs["content"])) as Record<string, unknown>;
  const configKey = watchdogConfigKey(c.campaign, p.stage);
  await clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: configKey, Body: JSON.stringify({ ...content, topicArn: topic.TopicArn }) }));
  const target = await loadTarget(clients.s3, bucket, configKey);
  const ids: string[] = [];
  for (let rank = 0; rank < p.nodes.length; rank++) {
    const tags = { ...campaignTags(c.campaign, p.stage), "windtunnel:node-rank": String(rank) };
    const r = await clients.ec2.send(new RunInstancesCommand({ ImageId: "ami-12c6146b", MinCount: 1, MaxCount: 1, InstanceType: c.node.instanceType as _InstanceType, TagSpecifications: [{ ResourceType: "instance", Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }] }));
    const id = r.Instances?.[0]?.InstanceId;
    if (id === undefined) throw new InternalError(`rehearse: moto_server launched no instance for node ${rank}`);
    ids.push(id);
  }
  return { clients, bucket, target, ids };
}
