// The Pulumi program: read the stack's config once, judge the evidence, and only then create the
// campaign's resources. A failing gate, changed evidence or a bad config stops it before a single
// resource is registered. `pulumi up` runs it through index.ts; `windtunnel plan` runs it offline.
import * as pulumi from "@pulumi/pulumi";
import { isDeepStrictEqual } from "node:util";
import { scheduleSchema, type Schedule } from "../forecast/schedule.ts";
import { assumptionOf, type Envelope } from "../forecast/envelope.ts";
import * as aws from "@pulumi/aws";
import { GateRefusal, InputError, InternalError, UsageError, WindtunnelError } from "../common/errors.ts";
import { formatProblem } from "../common/problems.ts";
import { show } from "../evidence/issues.ts";
import { regionProblem, regionSetting } from "./instance-types.ts";
import { decodeConfig, instanceTypeOf, NAMESPACE, parseStackConfig, type StackConfig } from "./config.ts";
import { hardStopHours, hardStopMinutes, stageRuns } from "./stage-script.ts";
import { judgeCampaign, type CampaignJudgement } from "./judge-campaign.ts";
import { campaignPrefix, campaignTags } from "../campaign/layout.ts";
import { ArtifactStore } from "./artifact-store.ts";
import { SpendGuard } from "./spend-guard.ts";
import { TrainingNode } from "./training-node.ts";
import { restartOverhead } from "../cost/campaign-plan.ts";
import { onDemandHourlyUsd } from "../cost/on-demand.ts";
import type { Policy } from "../policy/schema.ts";
import { bundleHandler, Watchdog } from "./watchdog.ts";
import { readEnvelopeFile } from "../judge/evidence.ts";
import type { JudgedPrice } from "../cost/live-price.ts";
import { resolve } from "node:path";

export interface ProgramContext {
  baseDir: string;
  configName: string;
  env: Readonly<Record<string, string | undefined>>;
  /** Called with the gates' judgement before any resource exists (plan prints its table). */
  onJudged?: (j: CampaignJudgement) => void;
  /** `plan --live`: a spot quote the spend gates judge instead of node.hourlyUsd (pulumi up judges the typed price). */
  price?: JudgedPrice;
}

export interface CampaignOutputs {
  campaign: string;
  stage: string;
  verdictDigest: string;
  forecastUsd: number;
  gates: string;
  bucketName?: pulumi.Output<string>;
  alertTopicArn?: pulumi.Output<string>;
  instanceIds?: pulumi.Output<string[]>;
  hardStopHours?: number;
  watchdogFunction?: pulumi.Output<string>;
  /** Whether the watchdog holds the run to an envelope (stage full with windtunnel:envelope). */
  verifyGate?: "on" | "off";
}

/**
 * `pulumi.Config` read once, validated by the schema the CLI uses, and the region checked against
 * the instance type; every problem at once.
 */
export function readStackConfig(configName: string, env: ProgramContext["env"]): { config: StackConfig; region?: string } {
  const cfg = new pulumi.Config(NAMESPACE);
  const { raw, problems } = decodeConfig((key) => cfg.get(key));
  const parsed = parseStackConfig(raw);
  const all = [...problems, ...("problems" in parsed ? parsed.problems : [])];
  const where = regionSetting(new pulumi.Config("aws").get("region"), env);
  if (where !== undefined) {
    const type = "config" in parsed ? parsed.config.node.instanceType : instanceTypeOf(raw);
    const problem = regionProblem(type, where.region);
    if (problem !== undefined) all.push({ key: where.key, message: `${problem}, got ${show(where.region)}` });
  }
  if (all.length > 0 || !("config" in parsed)) throw new InputError(all.map((p) => ({ file: configName, line: 0, field: p.key, message: p.message, kind: "error" as const })));
  return { config: parsed.config, ...(where ? { region: where.region } : {}) };
}

/**
 * Ask AWS whether the region offers the node's instance type, before anything is created: the
 * table in instance-types.ts may be stale, and an account may not see every offering. Under
 * `windtunnel plan` the mocks answer from that table.
 */
async function checkOffered(instanceType: string, region: string, configName: string): Promise<void> {
  const offerings = await aws.ec2.getInstanceTypeOfferings({ locationType: "region", filters: [{ name: "instance-type", values: [instanceType] }] });
  if (offerings.instanceTypes.includes(instanceType)) return;
  throw InputError.at(configName, 0, "aws:region", `AWS reports no ${instanceType} offering in ${region} (DescribeInstanceTypeOfferings, location type region); choose a region that offers it: aws ec2 describe-instance-type-offerings --location-type region --filters Name=instance-type,Values=${instanceType} --region <region>`);
}

/** An envelope forecast for another learning-rate schedule than the stack's run would hold it to the wrong curve. */
export function checkEnvelopeSchedule(envelope: Envelope, schedule: Schedule | undefined, file: string): void {
  if (schedule === undefined) return;
  const same = envelope.schedule !== undefined && isDeepStrictEqual(scheduleSchema().parse(envelope.schedule), schedule);
  if (same) return;
  const had = envelope.schedule === undefined ? "no schedule" : JSON.stringify(envelope.schedule);
  throw new GateRefusal(`refused: ${file} was forecast for ${had}, but windtunnel:schedule is ${JSON.stringify(schedule)}; forecast for the run the stack creates (windtunnel forecast <curve> --stack <this stack file> --out ${file}); nothing was created.`);
}

export async function campaignProgram(ctx: ProgramContext): Promise<CampaignOutputs> {
  const { config: c, region: configuredRegion } = readStackConfig(ctx.configName, ctx.env);
  const judged: CampaignJudgement = await judgeCampaign(c, ctx);
  ctx.onJudged?.(judged);
  const base: CampaignOutputs = { campaign: c.campaign, stage: c.stage, verdictDigest: judged.digest, forecastUsd: judged.forecastUsd, gates: `${judged.verdict.gates.filter((g) => g.status === "pass").length} passed` };
  if (c.stage === "plan") return base;
  const stage = c.stage;

  const region = configuredRegion;
  if (region === undefined) throw new UsageError("aws:region is not set: pulumi config set aws:region us-east-1");
  const envelope = c.envelope !== undefined ? readEnvelopeFile(resolve(ctx.baseDir, c.envelope)).envelope : undefined;
  if (envelope && c.envelope !== undefined) checkEnvelopeSchedule(envelope, c.schedule, c.envelope);
  await checkOffered(c.node.instanceType, region, ctx.configName);
  const tags = campaignTags(c.campaign, stage, { "windtunnel:verdict": judged.digest.slice(0, 16) });
  const prefix = campaignPrefix(c.campaign);
  const name = `wt-${c.campaign}`;

  const store = new ArtifactStore(`${name}-store`, { campaign: c.campaign, prefix, tags, checkpointRetentionDays: c.checkpointRetentionDays });
  const guard = new SpendGuard(`${name}-spend`, { campaign: c.campaign, budgetUsd: c.budgetUsd, alertEmail: c.alertEmail, tags });
  const hours = hardStopHours(c);
  const node = new TrainingNode(`${name}-node`, {
    campaign: c.campaign,
    stage,
    node: c.node,
    bucketName: store.bucketName,
    bucketArn: store.bucketArn,
    prefix,
    region,
    image: c.container.image,
    runs: stageRuns(c),
    hardStopMinutes: hardStopMinutes(c),
    metricsIntervalS: c.metricsIntervalS,
    target: c.target,
    verdictDigest: judged.digest,
    tags,
    onDemandTemplate: recoverable(c) && c.recovery.fallbackAfter !== undefined,
  });
  const policy = judged.policy;
  const watchdog = new Watchdog(`${name}-watchdog`, {
    campaign: c.campaign,
    bucketName: store.bucketName,
    bucketArn: store.bucketArn,
    prefix,
    topicArn: guard.topicArn,
    config: {
      campaign: c.campaign,
      stage,
      hoursCap: hours,
      hourlyUsd: c.node.hourlyUsd,
      nodes: c.node.count,
      policy: { stress: policy.stress, verify: policy.verify, sanity: policy.sanity, health: policy.health },
      ...(envelope ? { envelope: { points: envelope.points, band: envelope.band, axis: envelope.axis, ...(envelope.series ? { series: envelope.series } : {}), ...(assumptionOf(envelope) ? { assumption: assumptionOf(envelope) } : {}) } } : {}),
    },
    ...(recoverable(c) ? { recovery: recoveryOf(c, node, tags, stage, policy) } : {}),
    code: await bundleHandler(),
    tags,
  });
  return { ...base, bucketName: store.bucketName, alertTopicArn: guard.topicArn, instanceIds: node.instanceIds, hardStopHours: hours, watchdogFunction: watchdog.functionName, verifyGate: envelope ? "on" : "off" };
}

/**
 * What Pulumi gets for an error: a refusal or bad input becomes a RunError, which Pulumi prints
 * without a stack trace; a bug (InternalError, or any other error) stays as it is, with the stack
 * a report needs.
 */
export function forPulumi(err: unknown): unknown {
  if (err instanceof InputError) return new pulumi.RunError(err.problems.map(formatProblem).join("\n"));
  if (err instanceof InternalError) return err;
  if (err instanceof WindtunnelError) return new pulumi.RunError(err.message);
  return err;
}

/** The entry Pulumi runs. */
export async function pulumiEntry(ctx: ProgramContext): Promise<CampaignOutputs> {
  try {
    return await campaignProgram(ctx);
  } catch (err) {
    throw forPulumi(err);
  }
}

/** Spot recovery applies to a single spot node with restarts allowed (see src/watchdog/recovery.ts). */
const recoverable = (c: StackConfig): boolean => c.node.market === "spot" && c.node.count === 1 && c.recovery.maxRestarts > 0;

function recoveryOf(c: StackConfig, node: TrainingNode, tags: Record<string, string>, stage: "sanity" | "full", policy: Policy) {
  const r = c.recovery;
  const od = node.onDemandLaunchTemplate;
  const odPrice = onDemandHourlyUsd(c.node.instanceType, r.onDemandHourlyUsd);
  if ((r.fallbackAfter !== undefined) !== (od !== undefined) || (od && odPrice === undefined)) throw new InternalError("recovery.fallbackAfter without its on-demand template or price (the config schema requires both)");
  return {
    launchTemplateArn: node.launchTemplate.arn,
    ...(od ? { onDemandLaunchTemplateArn: od.arn } : {}),
    nodeRoleArn: node.role.arn,
    config: pulumi.all([node.launchTemplate.id, node.launchTemplate.latestVersion, node.securityGroupId, node.userDataBase64, od?.id, od?.latestVersion]).apply(([launchTemplateId, version, sg, userData, odId, odVersion]) => ({
      launchTemplateId,
      launchTemplateVersion: String(version),
      securityGroupIds: [sg],
      userData,
      maxRestarts: r.maxRestarts,
      windowHours: r.windowHours,
      backoffMinutes: r.backoffMinutes,
      // One price of a restart: the spend gate's (policy spend.interruptions), not a second setting.
      restartOverheadMinutes: restartOverhead(policy.spend.interruptions),
      subnets: r.subnets,
      budgetUsd: c.budgetUsd,
      plannedHours: stage === "sanity" ? c.sanityHours : c.hours,
      tags: { ...tags, Name: `windtunnel-${c.campaign}-0`, "windtunnel:node-rank": "0" },
      ...(r.fallbackAfter !== undefined && odId !== undefined && odPrice !== undefined ? { fallback: { after: r.fallbackAfter, hourlyUsd: odPrice, launchTemplateId: odId, launchTemplateVersion: String(odVersion) } } : {}),
    })),
  };
}
