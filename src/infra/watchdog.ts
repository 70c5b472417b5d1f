// Watchdog: the Lambda that guards the bill from inside the account, so teardown never depends on
// a laptop staying open. The handler (src/watchdog/handler.ts) is bundled with esbuild when the
// program runs, scheduled by EventBridge, and allowed to terminate only its campaign's instances.
import * as pulumi from "@pulumi/pulumi";
import { watchdogConfigKey } from "../campaign/layout.ts";
import { watchdogTargetSchema } from "../campaign/watchdog-config.ts";
import * as aws from "@pulumi/aws";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../common/package-root.ts";
import { trustPolicy, watchdogRolePolicy } from "./policies.ts";
import type { WatchdogConfig } from "../watchdog/decide.ts";
import type { RecoveryConfig } from "../campaign/watchdog-config.ts";

export const WATCHDOG = "windtunnel:infra:Watchdog";
const SOURCE = join(packageRoot(), "src", "watchdog", "handler.ts");
/** What `npm run build` writes for the published package, which ships no sources. */
export const PREBUILT = join(packageRoot(), "dist", "watchdog-handler.mjs");

/**
 * The handler and everything it imports in one ES module (the AWS SDK included: pinned, not the
 * runtime's), bundled from the sources in a checkout, read from the build in the package.
 */
export async function bundleHandler(): Promise<string> {
  if (!existsSync(SOURCE)) return readFileSync(PREBUILT, "utf8");
  const { build } = await import("esbuild");
  const r = await build({
    entryPoints: [SOURCE],
    bundle: true,
    platform: "node",
    target: "node22",
    format: "esm",
    minify: true,
    write: false,
    legalComments: "none",
    // CommonJS inside the SDK calls require(); give the ES module one.
    banner: { js: "import{createRequire as __wtRequire}from'node:module';const require=__wtRequire(import.meta.url);" },
    logLevel: "warning",
  });
  return r.outputFiles[0]?.text ?? "";
}

export interface WatchdogArgs {
  campaign: string;
  bucketName: pulumi.Input<string>;
  bucketArn: pulumi.Input<string>;
  prefix: string;
  topicArn: pulumi.Input<string>;
  config: WatchdogConfig;
  /** Spot recovery: what a relaunch needs (resolved at deploy time), and the node role it may pass. */
  recovery?: { config: pulumi.Input<RecoveryConfig>; launchTemplateArn: pulumi.Input<string>; onDemandLaunchTemplateArn?: pulumi.Input<string>; nodeRoleArn: pulumi.Input<string> };
  /** The bundled handler (bundleHandler()). */
  code: string;
  tags: Record<string, string>;
  /**
   * Minutes between ticks.
   * @default 2
   */
  everyMinutes?: number;
  /**
   * Days CloudWatch keeps the watchdog's logs.
   * @default 30
   */
  logRetentionDays?: number;
}

export class Watchdog extends pulumi.ComponentResource {
  public readonly functionName: pulumi.Output<string>;
  public readonly configKey: string;

  constructor(name: string, args: WatchdogArgs, opts?: pulumi.ComponentResourceOptions) {
    super(WATCHDOG, name, {}, opts);
    const child = { parent: this };
    const fnName = `wt-${args.campaign}-watchdog`;
    this.configKey = watchdogConfigKey(args.campaign, args.config.stage);
    const logs = new aws.cloudwatch.LogGroup(`${name}-logs`, { name: `/aws/lambda/${fnName}`, retentionInDays: args.logRetentionDays ?? 30, tags: args.tags }, child);
    const role = new aws.iam.Role(`${name}-role`, { namePrefix: `wt-${args.campaign}-watchdog-`, assumeRolePolicy: JSON.stringify(trustPolicy("lambda.amazonaws.com")), tags: args.tags }, child);
    new aws.iam.RolePolicy(`${name}-role-policy`, {
      role: role.id,
      policy: pulumi.all([args.bucketArn, args.topicArn, logs.arn, args.recovery?.launchTemplateArn, args.recovery?.onDemandLaunchTemplateArn, args.recovery?.nodeRoleArn]).apply(([bucketArn, topicArn, logGroupArn, launchTemplateArn, onDemandLaunchTemplateArn, nodeRoleArn]) =>
        JSON.stringify(watchdogRolePolicy({ bucketArn, campaign: args.campaign, topicArn, logGroupArn, ...(launchTemplateArn !== undefined && nodeRoleArn !== undefined ? { relaunch: { launchTemplateArn, nodeRoleArn, ...(onDemandLaunchTemplateArn !== undefined ? { onDemandLaunchTemplateArn } : {}) } } : {}) })),
      ),
    }, child);
    const config = new aws.s3.BucketObjectv2(`${name}-config`, {
      bucket: args.bucketName,
      key: this.configKey,
      contentType: "application/json",
      // Checked with the schema the handler reads it with: a config it would refuse is never deployed.
      content: pulumi.all([args.bucketName, args.topicArn, args.recovery?.config]).apply(([bucket, topicArn, recovery]) => JSON.stringify(watchdogTargetSchema().parse({ bucket, prefix: args.prefix, topicArn, config: { ...args.config, ...(recovery ? { recovery } : {}) } }))),
      tags: args.tags,
    }, child);
    const bundleKiB = Math.round(Buffer.byteLength(args.code) / 1024);
    const fn = new aws.lambda.Function(`${name}-function`, {
      name: fnName,
      // What is deployed, readable in the console (and in `windtunnel plan`).
      description: `windtunnel watchdog for ${args.campaign} (${args.config.stage}): bundle ${bundleKiB} KiB, sha256 ${createHash("sha256").update(args.code).digest("hex").slice(0, 16)}`,
      role: role.arn,
      runtime: "nodejs22.x",
      architectures: ["arm64"],
      handler: "index.handler",
      code: new pulumi.asset.AssetArchive({ "index.mjs": new pulumi.asset.StringAsset(args.code) }),
      timeout: 60,
      memorySize: 512,
      // One tick at a time: two would race on the state object.
      reservedConcurrentExecutions: 1,
      environment: { variables: { WINDTUNNEL_BUCKET: args.bucketName, WINDTUNNEL_WATCHDOG_CONFIG: this.configKey } },
      tags: args.tags,
    }, { ...child, dependsOn: [logs, config] });
    const rule = new aws.cloudwatch.EventRule(`${name}-schedule`, { description: `windtunnel ${args.campaign}: watchdog tick`, scheduleExpression: `rate(${args.everyMinutes ?? 2} minutes)`, tags: args.tags }, child);
    new aws.lambda.Permission(`${name}-invoke`, { action: "lambda:InvokeFunction", function: fn.name, principal: "events.amazonaws.com", sourceArn: rule.arn }, child);
    new aws.cloudwatch.EventTarget(`${name}-target`, { rule: rule.name, arn: fn.arn }, child);
    if (args.recovery) {
      // The two-minute warning, at once, instead of after the node's next upload and the next
      // tick: the pattern cannot filter by tag, so the tick acts only on this campaign's instances.
      const warning = new aws.cloudwatch.EventRule(`${name}-spot-warning`, { description: `windtunnel ${args.campaign}: spot interruption warning, for recovery`, eventPattern: JSON.stringify({ source: ["aws.ec2"], "detail-type": ["EC2 Spot Instance Interruption Warning"] }), tags: args.tags }, child);
      new aws.lambda.Permission(`${name}-invoke-warning`, { action: "lambda:InvokeFunction", function: fn.name, principal: "events.amazonaws.com", sourceArn: warning.arn }, child);
      new aws.cloudwatch.EventTarget(`${name}-warning-target`, { rule: warning.name, arn: fn.arn }, child);
    }
    this.functionName = fn.name;
    this.registerOutputs({ functionName: this.functionName, configKey: this.configKey });
  }
}
