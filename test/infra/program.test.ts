// The Pulumi program under Pulumi's mocks (the standard unit-test method): config and mocks are set
// before the program is imported, every newResource is recorded, and the test asserts the exact
// resources and the properties a careful AWS engineer would check.
import { copyFileSync, appendFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { pulumiConfig, SAMPLE, stackConfig } from "../helpers/stack.ts";
import { REPO } from "../helpers/shared.ts";

const CLOUD = join(REPO, "test/fixtures/cloud");
import { useTmpDir } from "../helpers/tmp.ts";

interface Recorded {
  type: string;
  name: string;
  custom: boolean;
  inputs: Record<string, any>;
}

let recorded: Recorded[] = [];
const calls: string[] = [];
/** What the mocked DescribeInstanceTypeOfferings was asked, and the types it answers with. */
const offeringQueries: Record<string, any>[] = [];
let offered = (types: string[]): string[] => types;

async function setMocks(): Promise<void> {
  await pulumi.runtime.setMocks(
    {
      newResource(a) {
        recorded.push({ type: a.type, name: a.name, custom: a.custom ?? true, inputs: a.inputs });
        const named = a.inputs.name ?? `${a.inputs.namePrefix ?? a.inputs.bucketPrefix ?? a.name}abc123`;
        return { id: `${a.name}-id`, state: { ...a.inputs, name: named, bucket: named, arn: `arn:aws:mock:::${named}`, latestVersion: 3, privateIp: `10.1.0.${recorded.length}` } };
      },
      call(a) {
        calls.push(a.token);
        if (a.token === "aws:index/getCallerIdentity:getCallerIdentity") return { accountId: "111122223333" };
        if (a.token === "aws:ec2/getVpc:getVpc") return { id: "vpc-0default" };
        if (a.token === "aws:ec2/getSubnet:getSubnet") return { id: a.inputs.id, vpcId: "vpc-0fromsubnet" };
        if (a.token === "aws:ssm/getParameter:getParameter") return { value: "ami-0dlami", name: a.inputs.name };
        if (a.token === "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings") {
          offeringQueries.push(a.inputs);
          return { instanceTypes: offered(a.inputs.filters.flatMap((f: { values: string[] }) => f.values)) };
        }
        throw new Error(`unexpected invoke ${a.token}`);
      },
    },
    "windtunnel",
    "test",
    false,
  );
}

type Program = typeof import("../../src/infra/program.ts");
let program: Program;

beforeAll(async () => {
  pulumi.runtime.setAllConfig(pulumiConfig(stackConfig()));
  await setMocks();
  program = await import("../../src/infra/program.ts");
});

const settle = <T>(o: pulumi.Output<T>): Promise<T> => new Promise((res) => o.apply((v) => res(v)));

/** Run the program with a config; resolve its outputs so every apply has run. */
async function run(config: Record<string, unknown>, baseDir = process.cwd(), region = "us-east-1"): Promise<{ outputs: Record<string, unknown>; error?: Error }> {
  recorded = [];
  pulumi.runtime.setAllConfig(pulumiConfig(config, region));
  await setMocks();
  let error: Error | undefined;
  const raw = (await pulumi.runtime.runInPulumiStack(async () => {
    try {
      return await program.campaignProgram({ baseDir, configName: "stacks/Pulumi.test.yaml", env: {} });
    } catch (err) {
      error = err as Error;
      return {};
    }
  })) as Record<string, unknown>;
  const outputs: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw ?? {})) outputs[k] = pulumi.Output.isInstance(v) ? await settle(v) : v;
  // Wait until every registration has reached the mocks, so none spills into the next run.
  await pulumi.runtime.disconnect();
  recorded = recorded.filter((r) => r.type !== "pulumi:pulumi:Stack");
  return { outputs, ...(error ? { error } : {}) };
}

const byType = (type: string) => recorded.filter((r) => r.type === type);
const named = (name: string): Recorded => {
  const found = recorded.find((r) => r.name === name);
  if (!found) throw new Error(`no resource named ${name}`);
  return found;
};
const one = (type: string): Recorded => {
  const found = byType(type);
  expect(found, type).toHaveLength(1);
  return found[0] as Recorded;
};

describe("passing evidence, one spot node (stage sanity)", () => {
  let outputs: Record<string, unknown>;
  beforeAll(async () => {
    const r = await run(stackConfig());
    expect(r.error).toBeUndefined();
    outputs = r.outputs;
  });

  it("registers exactly these resources, named after their component", () => {
    expect(recorded.map((r) => `${r.type} ${r.name}`).sort()).toEqual([
      "aws:budgets/budget:Budget wt-test-7b-spend-budget",
      "aws:cloudwatch/eventRule:EventRule wt-test-7b-watchdog-schedule",
      "aws:cloudwatch/eventRule:EventRule wt-test-7b-watchdog-spot-warning",
      "aws:cloudwatch/eventTarget:EventTarget wt-test-7b-watchdog-target",
      "aws:cloudwatch/eventTarget:EventTarget wt-test-7b-watchdog-warning-target",
      "aws:cloudwatch/logGroup:LogGroup wt-test-7b-watchdog-logs",
      "aws:ec2/instance:Instance wt-test-7b-node-0",
      "aws:ec2/launchTemplate:LaunchTemplate wt-test-7b-node-template",
      "aws:ec2/securityGroup:SecurityGroup wt-test-7b-node-sg",
      "aws:iam/instanceProfile:InstanceProfile wt-test-7b-node-profile",
      "aws:iam/role:Role wt-test-7b-node-role",
      "aws:iam/role:Role wt-test-7b-watchdog-role",
      "aws:iam/rolePolicy:RolePolicy wt-test-7b-node-role-policy",
      "aws:iam/rolePolicy:RolePolicy wt-test-7b-watchdog-role-policy",
      "aws:iam/rolePolicyAttachment:RolePolicyAttachment wt-test-7b-node-ssm",
      "aws:lambda/function:Function wt-test-7b-watchdog-function",
      "aws:lambda/permission:Permission wt-test-7b-watchdog-invoke",
      "aws:lambda/permission:Permission wt-test-7b-watchdog-invoke-warning",
      "aws:s3/bucket:Bucket wt-test-7b-store-bucket",
      "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration wt-test-7b-store-lifecycle",
      "aws:s3/bucketObjectv2:BucketObjectv2 wt-test-7b-watchdog-config",
      "aws:s3/bucketOwnershipControls:BucketOwnershipControls wt-test-7b-store-ownership",
      "aws:s3/bucketPolicy:BucketPolicy wt-test-7b-store-tls-only",
      "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock wt-test-7b-store-public-access",
      "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration wt-test-7b-store-encryption",
      "aws:s3/bucketVersioning:BucketVersioning wt-test-7b-store-versioning",
      "aws:sns/topic:Topic wt-test-7b-spend-alerts",
      "aws:sns/topicPolicy:TopicPolicy wt-test-7b-spend-alerts-policy",
      "aws:sns/topicSubscription:TopicSubscription wt-test-7b-spend-alerts-email",
      "windtunnel:infra:ArtifactStore wt-test-7b-store",
      "windtunnel:infra:SpendGuard wt-test-7b-spend",
      "windtunnel:infra:TrainingNode wt-test-7b-node",
      "windtunnel:infra:Watchdog wt-test-7b-watchdog",
    ]);
  });

  it("exports the verdict digest and the forecast cost", () => {
    expect(outputs["verdictDigest"]).toMatch(/^[0-9a-f]{64}$/);
    // a spot node: its node-hours and its expected restarts (0.2 a node-day × 8 days × 40 min at $28/h)
    expect(outputs["forecastUsd"]).toBeCloseTo(28 * (168 + 24) + 0.2 * 8 * (40 / 60) * 28, 9);
    expect(outputs["stage"]).toBe("sanity");
    expect(outputs["instanceIds"]).toEqual(["wt-test-7b-node-0-id"]);
  });

  it("the instance role may write only its campaign prefix and pull only its own image", () => {
    const policy = JSON.parse(named("wt-test-7b-node-role-policy").inputs.policy);
    const bucket = "arn:aws:mock:::wt-test-7b-abc123";
    const template = "arn:aws:mock:::wt-test-7b-abc123";
    const created = ["instance", "volume", "network-interface", "spot-instances-request"].map((t) => `arn:aws:ec2:*:*:${t}/*`);
    expect(policy).toEqual({
      Version: "2012-10-17",
      Statement: [
        { Sid: "ReadWriteOwnCampaignPrefix", Effect: "Allow", Action: ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"], Resource: `${bucket}/test-7b/*` },
        { Sid: "ListOwnCampaignPrefix", Effect: "Allow", Action: "s3:ListBucket", Resource: bucket, Condition: { StringLike: { "s3:prefix": ["test-7b/*", "test-7b"] } } },
        { Sid: "EcrLogin", Effect: "Allow", Action: "ecr:GetAuthorizationToken", Resource: "*" },
        { Sid: "PullOwnImage", Effect: "Allow", Action: ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"], Resource: "arn:aws:ecr:us-east-1:123456789012:repository/pretrain" },
      ],
    });
    expect(JSON.parse(named("wt-test-7b-node-role").inputs.assumeRolePolicy)).toEqual({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }] });
    expect(JSON.parse(named("wt-test-7b-watchdog-role").inputs.assumeRolePolicy).Statement[0].Principal).toEqual({ Service: "lambda.amazonaws.com" });
    expect(one("aws:iam/rolePolicyAttachment:RolePolicyAttachment").inputs.policyArn).toBe("arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore");
  });

  it("the security group has no inbound rule at all", () => {
    const sg = one("aws:ec2/securityGroup:SecurityGroup");
    expect(sg.inputs.ingress).toEqual([]);
    expect(sg.inputs.vpcId).toBe("vpc-0default");
    expect(byType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")).toHaveLength(0);
  });

  it("the launch template: IMDSv2 required, encrypted gp3, terminate on shutdown, one-time spot without a max price", () => {
    const lt = one("aws:ec2/launchTemplate:LaunchTemplate").inputs;
    expect(lt.instanceType).toBe("p5.48xlarge");
    expect(lt.imageId).toBe("ami-0dlami");
    expect(lt.metadataOptions).toEqual({ httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 2, instanceMetadataTags: "enabled" });
    expect(lt.blockDeviceMappings).toEqual([{ deviceName: "/dev/sda1", ebs: { volumeSize: 500, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" } }]);
    expect(lt.instanceInitiatedShutdownBehavior).toBe("terminate");
    expect(lt.instanceMarketOptions).toEqual({ marketType: "spot", spotOptions: { spotInstanceType: "one-time", instanceInterruptionBehavior: "terminate" } });
    expect(lt.capacityReservationSpecification).toBeUndefined();
    expect(lt.placement).toBeUndefined();
    expect(lt.networkInterfaces).toEqual([{ securityGroups: ["wt-test-7b-node-sg-id"], deleteOnTermination: "true", deviceIndex: 0 }]);
    expect(lt.tagSpecifications.map((t: { resourceType: string }) => t.resourceType)).toEqual(["instance", "volume", "network-interface", "spot-instances-request"]);
    expect(calls).toContain("aws:ssm/getParameter:getParameter");
    expect(calls).toContain("aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings");
  });

  it("the instance's user data schedules the hard stop at the sanity day and runs the sanity commands", () => {
    const inst = one("aws:ec2/instance:Instance").inputs;
    expect(inst.instanceInitiatedShutdownBehavior).toBe("terminate");
    expect(inst.launchTemplate).toEqual({ id: "wt-test-7b-node-template-id", version: "3" });
    const script: string = inst.userData;
    expect(script).toMatch(/^shutdown -P \+1440 "windtunnel: hours cap reached"$/m);
    // The hard stop comes before any command that could fail.
    expect(script.indexOf("shutdown -P +1440")).toBeLessThan(script.indexOf("mkdir -p"));
    expect(script).toContain("readonly BUCKET='wt-test-7b-abc123'");
    expect(script).toMatch(/^run_stage 'bf16' 'python train.py --precision bf16'$/m);
    expect(script).toMatch(/^run_stage 'fp8' 'python train.py --precision fp8'$/m);
    expect(script).toContain("spot/instance-action");
    expect(script).toContain("readonly METRICS_INTERVAL_S=60");
  });

  it("the bucket: versioned, encrypted, every public access blocked, TLS only, old checkpoints expire", () => {
    expect(one("aws:s3/bucketVersioning:BucketVersioning").inputs.versioningConfiguration).toEqual({ status: "Enabled" });
    expect(one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration").inputs.rules).toEqual([{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms" }, bucketKeyEnabled: true }]);
    const pab = one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs;
    expect([pab.blockPublicAcls, pab.blockPublicPolicy, pab.ignorePublicAcls, pab.restrictPublicBuckets]).toEqual([true, true, true, true]);
    const policy = JSON.parse(one("aws:s3/bucketPolicy:BucketPolicy").inputs.policy);
    expect(policy.Statement[0]).toEqual({ Sid: "DenyInsecureTransport", Effect: "Deny", Principal: "*", Action: "s3:*", Resource: ["arn:aws:mock:::wt-test-7b-abc123", "arn:aws:mock:::wt-test-7b-abc123/*"], Condition: { Bool: { "aws:SecureTransport": "false" } } });
    const rules = one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs.rules;
    expect(rules[0]).toEqual({ id: "expire-old-checkpoints", status: "Enabled", filter: { prefix: "test-7b/checkpoints/" }, expiration: { days: 30 } });
  });

  it("the budget filters on the campaign tag and alerts at 50/80/100% actual and forecast through SNS", () => {
    const b = one("aws:budgets/budget:Budget").inputs;
    expect(b.limitAmount).toBe("6000.00");
    expect(b.costFilters).toEqual([{ name: "TagKeyValue", values: ["user:windtunnel:campaign$test-7b"] }]);
    expect(b.notifications.map((n: { notificationType: string; threshold: number }) => `${n.notificationType} ${n.threshold}`)).toEqual(["ACTUAL 50", "ACTUAL 80", "ACTUAL 100", "FORECASTED 50", "FORECASTED 80", "FORECASTED 100"]);
    expect(b.notifications[0].subscriberSnsTopicArns).toEqual(["arn:aws:mock:::wt-test-7b-alerts-abc123"]);
    expect(one("aws:sns/topicSubscription:TopicSubscription").inputs).toMatchObject({ protocol: "email", endpoint: "lead@example.com" });
    const tp = JSON.parse(one("aws:sns/topicPolicy:TopicPolicy").inputs.policy);
    expect(tp.Statement[0].Condition.StringEquals).toEqual({ "aws:SourceAccount": "111122223333" });
  });

  it("the watchdog: every 2 minutes, one tick at a time, its bundle, and IAM that terminates only this campaign's nodes", () => {
    const rules = byType("aws:cloudwatch/eventRule:EventRule");
    expect(rules.find((r) => r.name.endsWith("-schedule"))?.inputs.scheduleExpression).toBe("rate(2 minutes)");
    // Spot recovery hears AWS's two-minute warning at once, not at the next tick.
    expect(JSON.parse(rules.find((r) => r.name.endsWith("-spot-warning"))?.inputs.eventPattern)).toEqual({ source: ["aws.ec2"], "detail-type": ["EC2 Spot Instance Interruption Warning"] });
    const fn = one("aws:lambda/function:Function").inputs;
    expect(fn).toMatchObject({ name: "wt-test-7b-watchdog", runtime: "nodejs22.x", architectures: ["arm64"], handler: "index.handler", reservedConcurrentExecutions: 1, timeout: 60 });
    expect(fn.environment.variables).toEqual({ WINDTUNNEL_BUCKET: "wt-test-7b-abc123", WINDTUNNEL_WATCHDOG_CONFIG: "watchdog/test-7b/sanity/config.json" });
    expect(fn.description).toMatch(/^windtunnel watchdog for test-7b \(sanity\): bundle \d+ KiB, sha256 [0-9a-f]{16}$/);
    expect(one("aws:cloudwatch/logGroup:LogGroup").inputs).toMatchObject({ name: "/aws/lambda/wt-test-7b-watchdog", retentionInDays: 30 });
    expect(byType("aws:lambda/permission:Permission").find((r) => r.name.endsWith("-invoke"))?.inputs).toMatchObject({ action: "lambda:InvokeFunction", principal: "events.amazonaws.com", sourceArn: "arn:aws:mock:::wt-test-7b-watchdog-schedule" + "abc123" });
    for (const t of byType("aws:cloudwatch/eventTarget:EventTarget")) expect(t.inputs.arn).toBe("arn:aws:mock:::wt-test-7b-watchdog");
    const roles = byType("aws:iam/rolePolicy:RolePolicy").map((r) => JSON.parse(r.inputs.policy));
    const policy = roles.find((p) => p.Statement.some((x: { Sid: string }) => x.Sid === "TerminateOnlyCampaignNodes"));
    const bucket = "arn:aws:mock:::wt-test-7b-abc123";
    const template = "arn:aws:mock:::wt-test-7b-abc123";
    const created = ["instance", "volume", "network-interface", "spot-instances-request"].map((t) => `arn:aws:ec2:*:*:${t}/*`);
    expect(policy).toEqual({
      Version: "2012-10-17",
      Statement: [
        { Sid: "ReadCampaignMetrics", Effect: "Allow", Action: "s3:GetObject", Resource: `${bucket}/test-7b/*` },
        { Sid: "KeepWatchdogState", Effect: "Allow", Action: ["s3:GetObject", "s3:PutObject"], Resource: `${bucket}/watchdog/test-7b/*` },
        { Sid: "ListCampaignPrefixes", Effect: "Allow", Action: "s3:ListBucket", Resource: bucket, Condition: { StringLike: { "s3:prefix": ["test-7b/*", "watchdog/test-7b/*"] } } },
        { Sid: "NotifyCampaignTopic", Effect: "Allow", Action: "sns:Publish", Resource: "arn:aws:mock:::wt-test-7b-alerts-abc123" },
        { Sid: "FindCampaignNodes", Effect: "Allow", Action: ["ec2:DescribeInstances", "ec2:DescribeSpotInstanceRequests"], Resource: "*" },
        { Sid: "TerminateOnlyCampaignNodes", Effect: "Allow", Action: "ec2:TerminateInstances", Resource: "arn:aws:ec2:*:*:instance/*", Condition: { StringEquals: { "aws:ResourceTag/windtunnel:campaign": "test-7b" } } },
        { Sid: "CancelOnlyCampaignSpotRequests", Effect: "Allow", Action: "ec2:CancelSpotInstanceRequests", Resource: "arn:aws:ec2:*:*:spot-instances-request/*", Condition: { StringEquals: { "aws:ResourceTag/windtunnel:campaign": "test-7b" } } },
        { Sid: "WriteOwnLogs", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: "arn:aws:mock:::/aws/lambda/wt-test-7b-watchdog:*" },
        // Spot recovery (issue 17): launch only from the campaign's template, create only what carries its tag, pass only the node's role.
        { Sid: "RelaunchCreatesOnlyCampaignTagged", Effect: "Allow", Action: "ec2:RunInstances", Resource: created, Condition: { ArnEquals: { "ec2:LaunchTemplate": template }, StringEquals: { "aws:RequestTag/windtunnel:campaign": "test-7b" } } },
        { Sid: "RelaunchUsesOnlyCampaignTemplate", Effect: "Allow", Action: "ec2:RunInstances", Resource: ["arn:aws:ec2:*:*:launch-template/*", "arn:aws:ec2:*:*:subnet/*", "arn:aws:ec2:*:*:security-group/*", "arn:aws:ec2:*:*:placement-group/*", "arn:aws:ec2:*:*:key-pair/*", "arn:aws:ec2:*::image/*"], Condition: { ArnEquals: { "ec2:LaunchTemplate": template } } },
        { Sid: "TagOnlyAtRelaunch", Effect: "Allow", Action: "ec2:CreateTags", Resource: created, Condition: { StringEquals: { "ec2:CreateAction": "RunInstances" } } },
        { Sid: "PassOnlyNodeRole", Effect: "Allow", Action: "iam:PassRole", Resource: "arn:aws:mock:::wt-test-7b-node-abc123", Condition: { StringEquals: { "iam:PassedToService": "ec2.amazonaws.com" } } },
      ],
    });
    const config = JSON.parse(one("aws:s3/bucketObjectv2:BucketObjectv2").inputs.content);
    // What a relaunch needs, resolved at deploy time: the template, rank 0's script, the policy, the budget.
    expect(config.config.recovery).toMatchObject({ launchTemplateId: expect.any(String), securityGroupIds: [expect.any(String)], maxRestarts: 2, windowHours: 12, subnets: [], budgetUsd: expect.any(Number), plannedHours: 24, tags: { "windtunnel:campaign": "test-7b", "windtunnel:stage": "sanity", "windtunnel:node-rank": "0" } });
    expect(Buffer.from(config.config.recovery.userData, "base64").toString("utf8")).toMatch(/^#!\/bin\/bash/);
    expect(config).toMatchObject({ bucket: "wt-test-7b-abc123", prefix: "test-7b", topicArn: "arn:aws:mock:::wt-test-7b-alerts-abc123", config: { campaign: "test-7b", stage: "sanity", hoursCap: 24, hourlyUsd: 28, nodes: 1 } });
    expect(config.config.policy.health).toEqual({ stale_after_minutes: 15, teardown_after_stale_minutes: 45, first_metrics_within_minutes: 60, hours_cap_grace_minutes: 10, failed_run_grace_minutes: 10 });
    expect(config.config.envelope).toBeUndefined();
  });

  it("tags every taggable resource with the campaign", () => {
    const taggable = recorded.filter((r) => r.custom && r.inputs.tags !== undefined);
    expect(taggable.length).toBeGreaterThanOrEqual(8);
    for (const r of taggable) expect(r.inputs.tags["windtunnel:campaign"], r.name).toBe("test-7b");
    const untagged = recorded.filter((r) => r.custom && r.inputs.tags === undefined).map((r) => r.type.split(":").pop());
    // These AWS resource types take no tags.
    expect(untagged.sort()).toEqual(["BucketLifecycleConfiguration", "BucketOwnershipControls", "BucketPolicy", "BucketPublicAccessBlock", "BucketServerSideEncryptionConfiguration", "BucketVersioning", "EventTarget", "EventTarget", "Permission", "Permission", "RolePolicy", "RolePolicy", "RolePolicyAttachment", "TopicPolicy", "TopicSubscription"]);
  });
});

describe("refusals: not one resource is registered", () => {
  const tmp = useTmpDir();

  it("failing evidence: the only curve ends in NaN, and the error names the gates", async () => {
    const r = await run(stackConfig({ evidence: { trajectory: join(SAMPLE, "trajectory.jsonl"), curves: [join(SAMPLE, "curves", "c086.jsonl")] } }));
    expect(recorded).toEqual([]);
    expect(r.error?.name).toBe("GateRefusal");
    expect(r.error?.message).toMatch(/^✗ +stress\.finite +c086 /m);
    expect(r.error?.message).toContain("refused: the evidence does not pass (stress.coverage (1 curve); stress.survivors (1 curve))");
    expect(r.error?.message).toMatch(/no curve for finalists c078, c023/);
    expect(r.error?.message).toContain("nothing was created");
    expect(r.error?.message).toContain("windtunnel gate: FAIL");
  });

  it("a spend limit: the plan costs more than the budget", async () => {
    const r = await run(stackConfig({ budgetUsd: 5000 }));
    expect(recorded).toEqual([]);
    expect(r.error?.message).toMatch(/refused: the evidence does not pass \(spend\.budget/);
  });

  // Red-team finding 25: a spot cap far below the price the forecast assumes was accepted.
  it("a spot max price below the forecast's hourly price: the spend gate refuses, with the table", async () => {
    const r = await run(stackConfig({ node: { market: "spot", hourlyUsd: 28, maxPriceUsd: 5 } }));
    expect(recorded).toEqual([]);
    expect(r.error?.name).toBe("GateRefusal");
    expect(r.error?.message).toMatch(/^✗ +spend\.max_price +windtunnel:test-7b +5 +≥ 28\n +max price \$5\/h is below the \$28\/h per node the forecast assumes/m);
    // The table wraps the sentence; the words are all there.
    expect(r.error?.message.replace(/\s+/g, " ")).toContain("a spot request capped below the price it must pay is never fulfilled, or is reclaimed at once; AWS recommends not setting a max price");
    expect(r.error?.message).toContain("refused: the evidence does not pass (spend.max_price); nothing was created.");
  });

  it("tampered evidence: a curve changed after the verdict was reviewed", async () => {
    const dir = tmp.dir();
    mkdirSync(join(dir, "curves"));
    copyFileSync(join(SAMPLE, "trajectory.jsonl"), join(dir, "trajectory.jsonl"));
    for (const f of ["c078", "c023", "c086"]) copyFileSync(join(SAMPLE, "curves", `${f}.jsonl`), join(dir, "curves", `${f}.jsonl`));
    const { judge } = await import("../../src/judge/evaluate.ts");
    const { classifyEvidence } = await import("../../src/judge/evidence.ts");
    const files = [join(dir, "trajectory.jsonl"), ...["c078", "c023", "c086"].map((f) => join(dir, "curves", `${f}.jsonl`))];
    const ev = await classifyEvidence(files, {});
    const verdict = await judge({ phases: ["sweep", "stress"], policyRef: "default", curves: ev.curves, ...(ev.trajectory ? { trajectory: ev.trajectory } : {}), read: {}, rates: (await import("../../src/cost/rates.ts")).ratesFromEnv({}), base: dir });
    expect(verdict.pass).toBe(true);
    writeFileSync(join(dir, "verdict.json"), JSON.stringify(verdict));
    const config = stackConfig({ evidence: { verdict: "verdict.json" } });

    const clean = await run(config, dir);
    expect(clean.error).toBeUndefined();
    expect(recorded.length).toBeGreaterThan(0);

    // Still a healthy curve, so the gates alone would pass it: only the hash catches the edit.
    appendFileSync(join(dir, "curves", "c023.jsonl"), '{"step":1010,"loss":2.1}\n');
    const r = await run(config, dir);
    expect(recorded).toEqual([]);
    expect(r.error?.name).toBe("GateRefusal");
    expect(r.error?.message).toMatch(/curves\/c023\.jsonl changed since the verdict \(sha256 [0-9a-f]{12} → [0-9a-f]{12}\)/);
  });

  it("a corrupt evidence file is bad input naming file, line and field", async () => {
    const dir = tmp.dir();
    copyFileSync(join(SAMPLE, "trajectory.jsonl"), join(dir, "trajectory.jsonl"));
    writeFileSync(join(dir, "c.jsonl"), '{"step":0,"loss":4.2}\n{"step":10,"loss":"1.2.3"}\n');
    const r = await run(stackConfig({ evidence: { trajectory: "trajectory.jsonl", curves: ["c.jsonl"] } }), dir);
    expect(recorded).toEqual([]);
    expect(r.error?.name).toBe("InputError");
    expect(r.error?.message).toMatch(/c\.jsonl:2: loss: /);
  });

  it("a bad config names every key path and what was expected", async () => {
    const r = await run(stackConfig({ node: { count: 0, market: "capacity-block", hourlyUsd: 28 }, alertEmail: "nobody" }));
    expect(recorded).toEqual([]);
    expect(r.error?.name).toBe("InputError");
    const lines = r.error?.message.split("\n") ?? [];
    expect(lines).toContain("stacks/Pulumi.test.yaml: windtunnel:node.count: expected a whole number ≥ 1, got 0");
    expect(lines).toContain('stacks/Pulumi.test.yaml: windtunnel:alertEmail: expected an e-mail address, got "nobody"');
    expect(lines.some((l) => l.startsWith("stacks/Pulumi.test.yaml: windtunnel:node.capacityReservationId: ") && l.includes("market capacity-block needs capacityReservationId"))).toBe(true);
    expect(lines).toHaveLength(3);
  });

  // Red-team finding 22: sanityHours 0 became `shutdown -P +0`, powering the node off at boot.
  it("a sanity day of 0 hours is a config error, before any resource", async () => {
    const r = await run(stackConfig({ sanityHours: 0 }));
    expect(recorded).toEqual([]);
    expect(r.error?.name).toBe("InputError");
    expect(r.error?.message).toBe("stacks/Pulumi.test.yaml: windtunnel:sanityHours: stage sanity needs sanityHours ≥ 0.5: the node powers itself off after the sanity day (0 would power it off at boot), got 0");
  });

  // Red-team finding 23: EC2 refuses user data over 16 KB at RunInstances, after the rest exists.
  it("a sanity command that makes the user data too big for EC2 is a config error, before any resource", async () => {
    const r = await run(stackConfig({ container: { image: "nvcr.io/nvidia/pytorch:25.01-py3", command: "c", sanityCommands: [{ name: "bf16", command: `python train.py ${"--flag ".repeat(2000)}` }] } }));
    expect(recorded).toEqual([]);
    expect(r.error?.name).toBe("InputError");
    expect(r.error?.message).toMatch(/^stacks\/Pulumi\.test\.yaml: windtunnel:container\.sanityCommands: expected the node's user data to fit EC2's limit of 16,384 bytes \(before base64\), but it would be 26,408 bytes .*put long commands in a script inside the image/);
  });

  // Red-team finding 24: the image became a `docker run` option; a NUL went into the script raw.
  it("an image named like an option and a NUL in a command are config errors, reported together", async () => {
    const r = await run(stackConfig({ container: { image: "--privileged", command: "c", sanityCommands: [{ name: "bf16", command: "python\u0000 train.py" }] } }));
    expect(recorded).toEqual([]);
    expect(r.error?.message.split("\n").sort()).toEqual([
      'stacks/Pulumi.test.yaml: windtunnel:container.image: expected a docker image reference, which cannot start with - (docker would read it as an option), got "--privileged"',
      'stacks/Pulumi.test.yaml: windtunnel:container.sanityCommands.0.command: expected no control characters but tab and newline (U+0000 at index 6), got "python\\u0000 train.py"',
    ]);
  });

  // Red-team finding 24: aws:region was never checked against the instance type.
  it("a region that does not offer the instance type is a config error naming both, before AWS is even asked", async () => {
    offeringQueries.length = 0;
    const r = await run(stackConfig(), process.cwd(), "eu-west-1");
    expect(recorded).toEqual([]);
    expect(r.error?.name).toBe("InputError");
    expect(r.error?.message).toMatch(/^stacks\/Pulumi\.test\.yaml: aws:region: expected a region that offers p5\.48xlarge \(windtunnel:node\.instanceType\): ap-northeast-1, .*us-east-1, us-east-2, .*us-west-2 \(as of 2026-08-26; .*\), got "eu-west-1"$/);
    expect(offeringQueries).toEqual([]);
  });

  it("a region AWS itself says does not offer the type is refused before any resource", async () => {
    offeringQueries.length = 0;
    offered = () => [];
    try {
      const r = await run(stackConfig());
      expect(recorded).toEqual([]);
      expect(r.error?.name).toBe("InputError");
      expect(r.error?.message).toContain("stacks/Pulumi.test.yaml: aws:region: AWS reports no p5.48xlarge offering in us-east-1 (DescribeInstanceTypeOfferings, location type region)");
      expect(offeringQueries).toEqual([{ locationType: "region", filters: [{ name: "instance-type", values: ["p5.48xlarge"] }] }]);
    } finally {
      offered = (types) => types;
    }
  });

  it("a region with a malformed name is refused by its form", async () => {
    const r = await run(stackConfig(), process.cwd(), "US-EAST-1");
    expect(recorded).toEqual([]);
    expect(r.error?.message).toBe('stacks/Pulumi.test.yaml: aws:region: expected an AWS region name such as us-east-1, got "US-EAST-1"');
  });

  it("stage full without the sanity day's metrics is refused as a config error", async () => {
    const r = await run(stackConfig({ stage: "full" }));
    expect(recorded).toEqual([]);
    expect(r.error?.message).toContain("windtunnel:sanity: required field is missing (stage full needs the sanity day's metrics");
  });

  it("stage full re-judges the sanity day from its metrics: another seed is not an equivalent run", async () => {
    const dir = tmp.dir();
    writeFileSync(join(dir, "policy.yaml"), "extends: default\nsanity:\n  fp8: {reference: fp64, candidate: seed2}\n  parallel: {reference: fp64, layouts: [shards2]}\n");
    const r = await run(stackConfig({ stage: "full", policy: join(dir, "policy.yaml"), sanity: { metrics: [join(CLOUD, "sanity-fp64.jsonl"), join(CLOUD, "sanity-seed2.jsonl"), join(CLOUD, "sanity-shards2.jsonl")] } }));
    expect(recorded).toEqual([]);
    expect(r.error?.name).toBe("GateRefusal");
    expect(r.error?.message).toMatch(/^✗ +sanity\.fp8\.gap +seed2 vs fp64/m);
    expect(r.error?.message).toContain("refused: the sanity day does not pass (sanity.fp8.gap (seed2 vs fp64)); the full run is not created.");
  });

  it("stage full judges each node's sanity day on its own: node-0's bad run is not rescued by node-1's", async () => {
    // The README's glob over two nodes (issue 13, finding 3): the runs used to be merged by tag.
    const dir = tmp.dir();
    writeFileSync(join(dir, "policy.yaml"), "extends: default\nsanity:\n  fp8: {reference: fp64, candidate: bf16}\n  parallel: {reference: fp64, layouts: [shards2]}\n");
    const retag = (from: string, tag: string): string => readFileSync(join(CLOUD, `sanity-${from}.jsonl`), "utf8").replaceAll(`"tag": "${from}"`, `"tag": "${tag}"`);
    for (const node of ["node-0", "node-1"]) {
      mkdirSync(join(dir, "sanity", node), { recursive: true });
      writeFileSync(join(dir, "sanity", node, "fp64.metrics.jsonl"), retag("fp64", "fp64"));
      writeFileSync(join(dir, "sanity", node, "bf16.metrics.jsonl"), node === "node-0" ? retag("seed2", "bf16") : retag("bf16", "bf16"));
      writeFileSync(join(dir, "sanity", node, "shards2.metrics.jsonl"), retag("shards2", "shards2"));
    }
    const r = await run(stackConfig({ stage: "full", policy: join(dir, "policy.yaml"), sanity: { metrics: ["sanity/node-*/*.metrics.jsonl"] } }), dir);
    expect(recorded).toEqual([]);
    expect(r.error?.name).toBe("GateRefusal");
    expect(r.error?.message).toMatch(/^✗ +sanity\.fp8\.gap +node-0: bf16 vs fp64/m);
    expect(r.error?.message).toMatch(/^✓ +sanity\.fp8\.gap +node-1: bf16 vs fp64/m);
    expect(r.error?.message).toContain("the full run is not created");
  });

  it("stage plan judges and exports, and creates nothing", async () => {
    const r = await run(stackConfig({ stage: "plan" }));
    expect(r.error).toBeUndefined();
    expect(recorded).toEqual([]);
    expect(r.outputs["verdictDigest"]).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe("stage full after a passing sanity day", () => {
  const tmp = useTmpDir();

  it("creates the node with the training command and the rest of the hours cap", async () => {
    const dir = tmp.dir();
    writeFileSync(join(dir, "policy.yaml"), "extends: default\nsanity:\n  fp8: {reference: fp64, candidate: bf16}\n  parallel: {reference: fp64, layouts: [shards2]}\n");
    const r = await run(stackConfig({ stage: "full", policy: join(dir, "policy.yaml"), sanity: { metrics: [join(CLOUD, "sanity-{fp64,bf16,shards2}.jsonl")] } }));
    expect(r.error).toBeUndefined();
    const script: string = one("aws:ec2/instance:Instance").inputs.userData;
    expect(script).toMatch(/^shutdown -P \+10560 /m);
    expect(script).toMatch(/^run_stage 'train' 'torchrun --nnodes=\$NNODES --node-rank=\$NODE_RANK train.py'$/m);
    expect(script).toContain("readonly STAGE='full'");
    expect(r.outputs["hardStopHours"]).toBe(176);
    expect(r.outputs["verifyGate"]).toBe("off");
  });

  it("with an envelope, the watchdog holds the training run to it (the verify gate is on)", async () => {
    const dir = tmp.dir();
    writeFileSync(join(dir, "policy.yaml"), "extends: default\nsanity:\n  fp8: {reference: fp64, candidate: bf16}\n  parallel: {reference: fp64, layouts: [shards2]}\n");
    const { forecast } = await import("../../src/forecast/envelope.ts");
    const { DEFAULT_POLICY } = await import("../helpers/policy.ts");
    const steady = readFileSync(join(CLOUD, "verify-steady.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { step: number; loss: number; tokens: number });
    const f = forecast({ points: steady.filter((p) => p.step <= 600), policy: DEFAULT_POLICY.forecast });
    if (!f.ok) throw new Error(f.reason);
    writeFileSync(join(dir, "envelope.json"), JSON.stringify(f.envelope));
    const r = await run(stackConfig({ stage: "full", policy: join(dir, "policy.yaml"), envelope: join(dir, "envelope.json"), sanity: { metrics: [join(CLOUD, "sanity-{fp64,bf16,shards2}.jsonl")] } }));
    expect(r.error).toBeUndefined();
    expect(r.outputs["verifyGate"]).toBe("on");
    const config = JSON.parse(one("aws:s3/bucketObjectv2:BucketObjectv2").inputs.content);
    expect(config.config).toMatchObject({ stage: "full", hoursCap: 176, envelope: { axis: "tokens", series: "loss", band: f.envelope.band } });
    expect(config.config.envelope.points).toHaveLength(200);
  });

  it("with windtunnel:schedule, an envelope forecast for another schedule (or none) is refused before anything is created; one made with --stack passes", async () => {
    const dir = tmp.dir();
    writeFileSync(join(dir, "policy.yaml"), "extends: default\nsanity:\n  fp8: {reference: fp64, candidate: bf16}\n  parallel: {reference: fp64, layouts: [shards2]}\n");
    const { forecast } = await import("../../src/forecast/envelope.ts");
    const { DEFAULT_POLICY } = await import("../helpers/policy.ts");
    const steady = readFileSync(join(CLOUD, "verify-steady.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { step: number; loss: number; tokens: number; lr: number });
    const schedule = { total_steps: 1500, warmup_steps: 50, shape: "cosine" as const, cooldown_frac: 1, final_frac: 0.1 };
    const plain = forecast({ points: steady.filter((p) => p.step <= 600), policy: DEFAULT_POLICY.forecast });
    const other = forecast({ points: steady.filter((p) => p.step <= 600), policy: DEFAULT_POLICY.forecast, schedule: { ...schedule, shape: "linear" } });
    const right = forecast({ points: steady.filter((p) => p.step <= 600), policy: DEFAULT_POLICY.forecast, schedule });
    if (!plain.ok || !other.ok || !right.ok) throw new Error("no forecast");
    const base = { stage: "full", policy: join(dir, "policy.yaml"), envelope: join(dir, "envelope.json"), schedule, sanity: { metrics: [join(CLOUD, "sanity-{fp64,bf16,shards2}.jsonl")] } };
    for (const [env, why] of [[plain.envelope, "was forecast for no schedule"], [other.envelope, 'was forecast for {"total_steps":1500,"warmup_steps":50,"shape":"linear"']] as const) {
      writeFileSync(join(dir, "envelope.json"), JSON.stringify(env));
      const r = await run(stackConfig(base));
      expect(r.error?.message).toContain(why);
      expect(r.error?.message).toContain("nothing was created");
      expect(recorded).toEqual([]);
    }
    writeFileSync(join(dir, "envelope.json"), JSON.stringify(right.envelope));
    const ok = await run(stackConfig(base));
    expect(ok.error).toBeUndefined();
    expect(ok.outputs["verifyGate"]).toBe("on");
  });

  it("the bundled handler is one ES module that exports the Lambda handler", async () => {
    const { bundleHandler } = await import("../../src/infra/watchdog.ts");
    const code = await bundleHandler();
    const file = join(tmp.dir(), "index.mjs");
    writeFileSync(file, code);
    const mod = (await import(file)) as { handler?: unknown };
    expect(typeof mod.handler).toBe("function");
    expect(code).not.toMatch(/from\s*"\.\.?\//);
  });
});

// Issue 17: after recovery.fallbackAfter interruptions the watchdog launches the replacement on
// demand, from the spot template's on-demand twin (RunInstances cannot override a spot template's
// market to on-demand), and its IAM allows that twin and nothing else.
describe("spot recovery's on-demand fallback (recovery.fallbackAfter)", () => {
  // These run the program two or three times (each bundles the watchdog's handler): on a shared
  // CPU that is more than vitest's 5 s default.
  const RUNS_TIMEOUT = 30_000;

  it("adds exactly one resource, the on-demand twin of the launch template: the same node without spot market options", async () => {
    const base = (await run(stackConfig()), recorded.map((r) => `${r.type} ${r.name}`));
    const spotTemplate = one("aws:ec2/launchTemplate:LaunchTemplate").inputs;
    const r = await run(stackConfig({ recovery: { fallbackAfter: 1 } }));
    expect(r.error).toBeUndefined();
    expect(recorded.map((x) => `${x.type} ${x.name}`).sort()).toEqual([...base, "aws:ec2/launchTemplate:LaunchTemplate wt-test-7b-node-template-on-demand"].sort());
    const spot = named("wt-test-7b-node-template").inputs;
    const od = named("wt-test-7b-node-template-on-demand").inputs;
    expect(spot).toEqual(spotTemplate);
    const { instanceMarketOptions, tagSpecifications, namePrefix, description, ...same } = spot;
    expect(instanceMarketOptions).toMatchObject({ marketType: "spot" });
    expect(od).toEqual({ ...same, namePrefix: "wt-test-7b-on-demand-", description: "windtunnel test-7b (sanity): the watchdog's on-demand fallback", tagSpecifications: tagSpecifications.filter((t: { resourceType: string }) => t.resourceType !== "spot-instances-request") });
    expect(od.instanceMarketOptions).toBeUndefined();
    // The stack's own node is still the spot one.
    expect(one("aws:ec2/instance:Instance").inputs.launchTemplate).toEqual({ id: "wt-test-7b-node-template-id", version: "3" });
  }, RUNS_TIMEOUT);

  it("the watchdog may launch from the twin as from the spot template, and from no other; its config names the twin and the on-demand price", async () => {
    const before = (await run(stackConfig()), JSON.parse(named("wt-test-7b-watchdog-role-policy").inputs.policy));
    await run(stackConfig({ recovery: { fallbackAfter: 2 } }));
    const policy = JSON.parse(named("wt-test-7b-watchdog-role-policy").inputs.policy);
    const both = ["arn:aws:mock:::wt-test-7b-abc123", "arn:aws:mock:::wt-test-7b-on-demand-abc123"];
    const widened = new Set(["RelaunchCreatesOnlyCampaignTagged", "RelaunchUsesOnlyCampaignTemplate"]);
    // Every statement as it was, but the two RunInstances ones, whose template condition lists both templates.
    expect(policy).toEqual({ ...before, Statement: before.Statement.map((st: { Sid: string; Condition?: object }) => (widened.has(st.Sid) ? { ...st, Condition: { ...st.Condition, ArnEquals: { "ec2:LaunchTemplate": both } } } : st)) });
    expect(policy.Statement.filter((st: { Action: string }) => st.Action === "ec2:RunInstances").map((st: { Condition: { ArnEquals: unknown } }) => st.Condition.ArnEquals)).toEqual([{ "ec2:LaunchTemplate": both }, { "ec2:LaunchTemplate": both }]);
    const config = JSON.parse(one("aws:s3/bucketObjectv2:BucketObjectv2").inputs.content);
    // p5.48xlarge on demand: the built-in $55.04/h, unless recovery.onDemandHourlyUsd says otherwise.
    expect(config.config.recovery.fallback).toEqual({ after: 2, hourlyUsd: 55.04, launchTemplateId: "wt-test-7b-node-template-on-demand-id", launchTemplateVersion: "3" });
    expect(config.config.recovery.launchTemplateId).toBe("wt-test-7b-node-template-id");
    await run(stackConfig({ recovery: { fallbackAfter: 1, onDemandHourlyUsd: 61.5 } }));
    expect(JSON.parse(one("aws:s3/bucketObjectv2:BucketObjectv2").inputs.content).config.recovery.fallback.hourlyUsd).toBe(61.5);
  }, RUNS_TIMEOUT);

  it.each([
    { name: "past maxRestarts", recovery: { maxRestarts: 1, fallbackAfter: 2 }, node: {}, line: "windtunnel:recovery.fallbackAfter: expected at most recovery.maxRestarts, 1 (a replacement after more interruptions than restarts is never launched, so the fallback would never happen), got 2" },
    { name: "an on-demand node", recovery: { fallbackAfter: 1 }, node: { market: "on-demand" }, line: "windtunnel:recovery.fallbackAfter: fallbackAfter is for a single spot node (node.market spot, node.count 1; here on-demand × 1): only such a node is relaunched, got 1" },
    { name: "a type without a built-in on-demand price", recovery: { fallbackAfter: 1 }, node: { instanceType: "p5en.48xlarge" }, line: "windtunnel:recovery.onDemandHourlyUsd: required field is missing (needed with recovery.fallbackAfter: windtunnel knows no on-demand price for p5en.48xlarge (only p5.48xlarge); give what one node costs per hour on demand)" },
    { name: "an on-demand price below the spot price", recovery: { fallbackAfter: 1, onDemandHourlyUsd: 20 }, node: {}, line: "windtunnel:recovery.onDemandHourlyUsd: expected at least node.hourlyUsd, $28/h (AWS caps spot at the on-demand price: a lower one is a typo, and would let the fallback's budget check pass too easily), got 20" },
    { name: "an on-demand price without the fallback", recovery: { onDemandHourlyUsd: 60 }, node: {}, line: "windtunnel:recovery.onDemandHourlyUsd: onDemandHourlyUsd is only for recovery.fallbackAfter (the on-demand replacement's price), got 60" },
  ])("refuses $name as a config error naming the key, creating nothing", async ({ recovery, node, line }) => {
    const r = await run(stackConfig({ recovery, node: { instanceType: "p5.48xlarge", count: 1, market: "spot", hourlyUsd: 28, ...node } }));
    expect(r.error?.message.split("\n")).toEqual([`stacks/Pulumi.test.yaml: ${line}`]);
    expect(recorded.filter((x) => x.custom)).toEqual([]);
  });
});

describe("markets and several nodes", () => {
  it("on-demand: no market options at all", async () => {
    await run(stackConfig({ node: { market: "on-demand", hourlyUsd: 28 } }));
    const lt = one("aws:ec2/launchTemplate:LaunchTemplate").inputs;
    expect(lt.instanceMarketOptions).toBeUndefined();
    expect(lt.capacityReservationSpecification).toBeUndefined();
    expect(lt.tagSpecifications.map((t: { resourceType: string }) => t.resourceType)).not.toContain("spot-instances-request");
  });

  it("spot with a configured max price", async () => {
    await run(stackConfig({ node: { market: "spot", hourlyUsd: 28, maxPriceUsd: 40 } }));
    expect(one("aws:ec2/launchTemplate:LaunchTemplate").inputs.instanceMarketOptions.spotOptions.maxPrice).toBe("40.0000");
  });

  it("capacity block: market type and the reservation", async () => {
    await run(stackConfig({ node: { market: "capacity-block", capacityReservationId: "cr-0123456789abcdef0", hourlyUsd: 28 } }));
    const lt = one("aws:ec2/launchTemplate:LaunchTemplate").inputs;
    expect(lt.instanceMarketOptions).toEqual({ marketType: "capacity-block" });
    expect(lt.capacityReservationSpecification).toEqual({ capacityReservationTarget: { capacityReservationId: "cr-0123456789abcdef0" } });
  });

  it("nodes: 2 — placement group, 32 EFA interfaces, SG open only to itself, rendezvous on the first node", async () => {
    const r = await run(stackConfig({ budgetUsd: 12000, node: { count: 2, hourlyUsd: 28, subnetId: "subnet-0123456789abcdef0" } }));
    expect(r.error).toBeUndefined();
    expect(one("aws:ec2/placementGroup:PlacementGroup").inputs.strategy).toBe("cluster");
    const lt = one("aws:ec2/launchTemplate:LaunchTemplate").inputs;
    expect(lt.placement).toEqual({ groupName: "wt-test-7b-node-placementabc123" });
    expect(lt.networkInterfaces).toHaveLength(32);
    expect(lt.networkInterfaces[0]).toMatchObject({ networkCardIndex: 0, deviceIndex: 0, interfaceType: "efa", subnetId: "subnet-0123456789abcdef0" });
    expect(lt.networkInterfaces[31]).toMatchObject({ networkCardIndex: 31, deviceIndex: 1, interfaceType: "efa" });
    expect(one("aws:ec2/securityGroup:SecurityGroup").inputs.vpcId).toBe("vpc-0fromsubnet");
    const self = one("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").inputs;
    expect(self).toMatchObject({ securityGroupId: "wt-test-7b-node-sg-id", referencedSecurityGroupId: "wt-test-7b-node-sg-id", ipProtocol: "-1" });
    expect(self.cidrIpv4).toBeUndefined();
    const instances = byType("aws:ec2/instance:Instance");
    expect(instances.map((i) => i.name)).toEqual(["wt-test-7b-node-0", "wt-test-7b-node-1"]);
    const first = instances[0]?.inputs.userData as string;
    const second = instances[1]?.inputs.userData as string;
    expect(first).toContain('MASTER_ADDR="$(imds local-ipv4)"');
    expect(second).toMatch(/^MASTER_ADDR='10\.1\.0\.\d+'$/m);
    expect(second).toContain("readonly NODE_RANK=1");
    expect(second).toContain("/dev/infiniband/uverbs");
  });
});

describe("the entry Pulumi runs (Pulumi.yaml main)", () => {
  it("has only a default export, as Pulumi's Node.js language host requires of an ES module", async () => {
    const entry = await import("../../src/infra/index.ts");
    expect(Object.keys(entry)).toEqual(["default"]);
    expect(typeof entry.default).toBe("function");
  });

  it("turns a refusal into a RunError (printed by Pulumi without a stack trace), creating nothing", async () => {
    recorded = [];
    pulumi.runtime.setAllConfig(pulumiConfig(stackConfig({ budgetUsd: 100 })));
    await setMocks();
    const { pulumiEntry } = await import("../../src/infra/program.ts");
    const err = await pulumiEntry({ baseDir: process.cwd(), configName: "stacks/Pulumi.test.yaml", env: {} }).catch((e: unknown) => e);
    expect(pulumi.RunError.isInstance(err)).toBe(true);
    expect((err as Error).message).toContain("refused: the evidence does not pass (spend.budget");
    expect(recorded).toEqual([]);
  });
});
