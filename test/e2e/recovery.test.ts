// Spot recovery (issue 17) with the watchdog's real tick against moto_server: an interrupted node
// is replaced once, in another subnet, with the hours the cap leaves; an interruption past
// maxRestarts, a budget that cannot pay for the rest, or a node that failed on its own end with
// nothing relaunched; another campaign's instances are never touched.
import { beforeEach, expect, it } from "vitest";
import { join } from "node:path";
import { writeFileSync, readFileSync } from "node:fs";
import { execa } from "execa";
import { CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { CreateLaunchTemplateCommand, CreateSubnetCommand, DescribeInstancesCommand, DescribeLaunchTemplateVersionsCommand, DescribeVpcsCommand, EC2Client, RunInstancesCommand, TerminateInstancesCommand, type Instance } from "@aws-sdk/client-ec2";
import { SNSClient } from "@aws-sdk/client-sns";
import { ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { tick, type TickTarget } from "../../src/watchdog/tick.ts";
import type { WatchdogConfig } from "../../src/watchdog/decide.ts";
import type { RecoveryConfig } from "../../src/campaign/watchdog-config.ts";
import { DEFAULT_POLICY } from "../helpers/policy.ts";
import { awsClients, describeWithMoto, topicWithInbox, type Moto } from "../helpers/moto.ts";
import { REPO } from "../helpers/shared.ts";
import { useTmpDir } from "../helpers/tmp.ts";

const POLICY = { stress: DEFAULT_POLICY.stress, verify: DEFAULT_POLICY.verify, sanity: DEFAULT_POLICY.sanity, health: DEFAULT_POLICY.health };
const MIN = 60_000;
const TAGS = { "windtunnel:campaign": "camp", "windtunnel:stage": "full", "windtunnel:node-rank": "0", Name: "windtunnel-camp-0" };

describeWithMoto("spot recovery against moto_server", (moto: () => Moto) => {
  let aws: { s3: S3Client; ec2: EC2Client; sns: SNSClient; sqs: SQSClient };

  beforeEach(async () => {
    await moto().reset();
    aws = awsClients(moto().endpoint);
  });

  const tagged = (tags: Record<string, string>) => Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));

  async function setup(over: { recovery?: Partial<RecoveryConfig>; config?: Partial<WatchdogConfig> } = {}) {
    const bucket = "wt-camp-artifacts";
    await aws.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const { topicArn, queueUrl } = await topicWithInbox(aws, "wt-camp-alerts");
    const vpc = (await aws.ec2.send(new DescribeVpcsCommand({}))).Vpcs?.[0]?.VpcId as string;
    const subnetA = (await aws.ec2.send(new CreateSubnetCommand({ VpcId: vpc, CidrBlock: "172.31.200.0/24", AvailabilityZone: "us-east-1a" }))).Subnet?.SubnetId as string;
    const subnetB = (await aws.ec2.send(new CreateSubnetCommand({ VpcId: vpc, CidrBlock: "172.31.201.0/24", AvailabilityZone: "us-east-1b" }))).Subnet?.SubnetId as string;
    // As the stack makes them: the node's spot template, and its on-demand twin (recovery.fallbackAfter).
    const lt = await aws.ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: "wt-camp-template", LaunchTemplateData: { ImageId: "ami-12c6146b", InstanceType: "p5.48xlarge", InstanceMarketOptions: { MarketType: "spot", SpotOptions: { SpotInstanceType: "one-time", InstanceInterruptionBehavior: "terminate" } } } }));
    const od = await aws.ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: "wt-camp-template-on-demand", LaunchTemplateData: { ImageId: "ami-12c6146b", InstanceType: "p5.48xlarge" } }));
    const node = (await aws.ec2.send(new RunInstancesCommand({ LaunchTemplate: { LaunchTemplateId: lt.LaunchTemplate?.LaunchTemplateId as string }, SubnetId: subnetA, MinCount: 1, MaxCount: 1, TagSpecifications: [{ ResourceType: "instance", Tags: tagged(TAGS) }] }))).Instances?.[0]?.InstanceId as string;
    const other = (await aws.ec2.send(new RunInstancesCommand({ ImageId: "ami-12c6146b", MinCount: 1, MaxCount: 1, InstanceType: "p5.48xlarge", TagSpecifications: [{ ResourceType: "instance", Tags: tagged({ "windtunnel:campaign": "other-campaign", "windtunnel:stage": "full" }) }] }))).Instances?.[0]?.InstanceId as string;
    const recovery: RecoveryConfig = {
      launchTemplateId: lt.LaunchTemplate?.LaunchTemplateId as string,
      launchTemplateVersion: "1",
      securityGroupIds: [],
      userData: Buffer.from("#!/bin/bash\necho node script\n").toString("base64"),
      maxRestarts: 1,
      windowHours: 12,
      backoffMinutes: 4,
      restartOverheadMinutes: 20,
      subnets: [subnetA, subnetB],
      budgetUsd: 5000,
      plannedHours: 20,
      tags: TAGS,
      ...over.recovery,
    };
    const config: WatchdogConfig = { campaign: "camp", stage: "full", hoursCap: 24, hourlyUsd: 98.32, nodes: 1, policy: POLICY, recovery, ...over.config };
    const target: TickTarget = { bucket, prefix: "camp", topicArn, config };
    return { bucket, target, node, other, subnetA, subnetB, queueUrl, spotTemplate: lt.LaunchTemplate?.LaunchTemplateId as string, onDemandTemplate: od.LaunchTemplate?.LaunchTemplateId as string };
  }

  /** The watchdog's config with recovery.fallbackAfter, as the stack writes it: the on-demand twin and its price. */
  const withFallback = <S extends Awaited<ReturnType<typeof setup>>>(s: S, after: number, hourlyUsd: number): S => ({
    ...s,
    target: { ...s.target, config: { ...s.target.config, recovery: { ...(s.target.config.recovery as RecoveryConfig), fallback: { after, hourlyUsd, launchTemplateId: s.onDemandTemplate, launchTemplateVersion: "1" } } } },
  });
  const put = (bucket: string, key: string, lines: readonly object[]) => aws.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: lines.map((l) => JSON.stringify(l)).join("\n") + "\n" }));
  const instances = async (campaign: string): Promise<Instance[]> => ((await aws.ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: "tag:windtunnel:campaign", Values: [campaign] }] }))).Reservations ?? []).flatMap((r) => r.Instances ?? []);
  const running = async (campaign: string) => (await instances(campaign)).filter((i) => ["pending", "running"].includes(i.State?.Name ?? ""));
  const tag = (i: Instance | undefined, key: string) => i?.Tags?.find((t) => t.Key === key)?.Value;
  const inbox = async (queueUrl: string) => ((await aws.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }))).Messages ?? []).map((m) => m.Body ?? "");
  const notice = (instanceId: string, at: Date) => ({ time: at.toISOString(), instance_id: instanceId, node_rank: 0, event: "spot_interruption", detail: { action: "terminate" } });
  const points = (from: number, to: number) => Array.from({ length: (to - from) / 10 + 1 }, (_, k) => ({ step: from + k * 10, loss: 4 * (from + k * 10) ** -0.1 }));

  it("replaces an interrupted node once, in another subnet, with the hours the cap leaves as its own hard stop", async () => {
    const s = await setup();
    const t0 = Date.now();
    await put(s.bucket, "camp/full/node-0/train.metrics.jsonl", points(10, 300));
    await put(s.bucket, "camp/full/node-0/events.jsonl", [notice(s.node, new Date(t0 + 29 * MIN))]);
    const r = await tick(aws, s.target, new Date(t0 + 30 * MIN));
    // The first tick after the notice launches the replacement.
    expect(r.decision.action).toBe("alert");
    expect(r.relaunched?.instanceId).toBeDefined();
    expect(r.relaunched?.refused).toBeUndefined();
    const mine = await instances("camp");
    expect(mine).toHaveLength(2);
    const replacement = mine.find((i) => i.InstanceId === r.relaunched?.instanceId);
    expect(replacement?.SubnetId).toBe(s.subnetB);
    expect(tag(replacement, "windtunnel:attempt")).toBe("2");
    expect(tag(replacement, "windtunnel:stage")).toBe("full");
    // 24 h cap − the ~30 min the first attempt has used.
    const hardStop = Number(tag(replacement, "windtunnel:hard-stop-minutes"));
    expect(hardStop).toBeGreaterThanOrEqual(24 * 60 - 31);
    expect(hardStop).toBeLessThanOrEqual(24 * 60 - 29);
    expect((await inbox(s.queueUrl)).some((m) => /relaunching: .* attempt 2 of at most 2 in subnet-/.test(m))).toBe(true);

    // The next tick, the old node reclaimed by AWS meanwhile: no second replacement.
    const again = await tick(aws, s.target, new Date(t0 + 32 * MIN));
    expect(again.relaunched).toBeUndefined();
    expect(await instances("camp")).toHaveLength(2);
    expect(await running("other-campaign")).toHaveLength(1);
  });

  it("a tick that fails after its launch, and runs again, finds the replacement in the account and launches no second one", async () => {
    const s = await setup();
    const t0 = Date.now();
    await put(s.bucket, "camp/full/node-0/events.jsonl", [notice(s.node, new Date(t0 + 9 * MIN))]);
    // The state is written last: a tick that failed after RunInstances saved none. The next one
    // knows the replacement from its attempt tag (and RunInstances' client token is the same).
    const first = await tick(aws, s.target, new Date(t0 + 10 * MIN));
    expect(first.relaunched?.instanceId).toBeDefined();
    await aws.s3.send(new DeleteObjectCommand({ Bucket: s.bucket, Key: "watchdog/camp/full/state.json" }));
    const again = await tick(aws, s.target, new Date(t0 + 10 * MIN));
    expect(again.relaunched).toBeUndefined();
    expect(await instances("camp")).toHaveLength(2);
  });

  it("watch shows the attempts, the restart and each attempt's cost, and one curve across them", async () => {
    const s = await setup();
    const t0 = Date.now();
    await aws.s3.send(new PutObjectCommand({ Bucket: s.bucket, Key: "watchdog/camp/full/config.json", Body: JSON.stringify({ bucket: s.bucket, prefix: "camp", topicArn: s.target.topicArn, config: s.target.config }) }));
    await put(s.bucket, "camp/full/node-0/train.metrics.jsonl", points(10, 300));
    await put(s.bucket, "camp/full/node-0/events.jsonl", [notice(s.node, new Date(t0 - 1 * MIN))]);
    const r = await tick(aws, s.target, new Date(t0));
    expect(r.relaunched?.instanceId).toBeDefined();
    // The replacement resumed from step 250 and logged 260… again.
    await put(s.bucket, "camp/full/node-0/attempt-2/train.metrics.jsonl", points(260, 500));
    const { watchCommand } = await import("../../src/cli/commands/watch.ts");
    process.env["AWS_ACCESS_KEY_ID"] ??= "test";
    process.env["AWS_SECRET_ACCESS_KEY"] ??= "test";
    const out: string[] = [];
    const code = await watchCommand({ bucket: s.bucket, campaign: "camp", stage: "full", endpoint: moto().endpoint, region: "us-east-1", intervalS: 1, once: true, projectDir: "/proj", width: 60, height: 8 }, { out: (l) => out.push(l), err: () => {}, env: {} });
    const text = out.join("\n");
    expect(code).toBe(0);
    expect(text).toMatch(/^node-0\/train: 50 points, step 500,/m);
    expect(text).toMatch(new RegExp(`^attempt 1: ${s.node} in ${s.subnetA}, spot, \\d+\\.\\d h so far, \\$\\d+\\.\\d\\d, interrupted at `, "m"));
    expect(text).toMatch(new RegExp(`^attempt 2: ${r.relaunched?.instanceId} in ${s.subnetB}, spot, .*running$`, "m"));
    expect(text).toMatch(/^1 restart, 1 interruption\(s\), \d+\.\d node-hours in all, \$\d+\.\d\d$/m);
  });

  it("recovery.fallbackAfter 2: the first replacement is spot, from the spot template; after the second interruption the next is on-demand, from its twin", async () => {
    const s = withFallback(await setup({ recovery: { maxRestarts: 2, budgetUsd: 10_000 } }), 2, 110);
    const t0 = Date.now();
    const templateOf = (i: Instance | undefined) => tag(i, "aws:ec2launchtemplate:id");
    await put(s.bucket, "camp/full/node-0/events.jsonl", [notice(s.node, new Date(t0 + 9 * MIN))]);
    const first = await tick(aws, s.target, new Date(t0 + 10 * MIN));
    expect(first.relaunched).toMatchObject({ attempt: 2, market: "spot" });
    const second = (await instances("camp")).find((i) => i.InstanceId === first.relaunched?.instanceId);
    expect(templateOf(second)).toBe(s.spotTemplate);
    expect(tag(second, "windtunnel:market")).toBe("spot");

    await put(s.bucket, "camp/full/node-0/attempt-2/events.jsonl", [notice(first.relaunched?.instanceId as string, new Date(t0 + 40 * MIN))]);
    const r = await tick(aws, s.target, new Date(t0 + 42 * MIN));
    expect(r.decision.action).toBe("alert");
    expect(r.relaunched).toMatchObject({ attempt: 3, market: "on-demand" });
    const third = (await instances("camp")).find((i) => i.InstanceId === r.relaunched?.instanceId);
    expect(tag(third, "windtunnel:attempt")).toBe("3");
    expect(tag(third, "windtunnel:market")).toBe("on-demand");
    // From the template without market options, and with none of its own (moto marks a launch that asks for spot).
    expect(templateOf(third)).toBe(s.onDemandTemplate);
    expect(third?.InstanceLifecycle).toBeUndefined();
    const data = (await aws.ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: s.onDemandTemplate }))).LaunchTemplateVersions?.[0]?.LaunchTemplateData;
    expect(data?.InstanceType).toBe("p5.48xlarge");
    expect(data?.InstanceMarketOptions).toBeUndefined();
    expect((await inbox(s.queueUrl)).some((m) => /relaunching: .* attempt 3 of at most 3 .*on-demand at \$110\/h: 2 interruptions, recovery.fallbackAfter 2/.test(m))).toBe(true);
    expect(r.decision.state.recovery?.attempts.map((a) => [a.attempt, a.market, a.hourlyUsd])).toEqual([[1, "spot", 98.32], [2, "spot", 98.32], [3, "on-demand", 110]]);
    expect(await running("other-campaign")).toHaveLength(1);
  });

  it("recovery.fallbackAfter: the budget check prices the on-demand remainder, and refuses what only spot could pay for", async () => {
    // The 20 h the run still needs (1,210 min with the restart) cost ≈ $1,980 more on spot at
    // $98.32/h, within a $3,000 budget, and ≈ $4,030 on demand at $200/h, past it.
    const s = withFallback(await setup({ recovery: { budgetUsd: 3000 } }), 1, 200);
    const t0 = Date.now();
    await put(s.bucket, "camp/full/node-0/events.jsonl", [notice(s.node, new Date(t0 + 9 * MIN))]);
    const r = await tick(aws, s.target, new Date(t0 + 10 * MIN));
    expect(r.relaunched).toBeUndefined();
    expect(r.decision.action).toBe("teardown");
    expect(r.decision.reasons.join("\n")).toMatch(/the remainder cannot finish inside the budget: .* on demand at \$200\/h \(recovery.fallbackAfter 1\) is more than the \$3000 budget/);
    expect(await running("camp")).toEqual([]);
    expect(await running("other-campaign")).toHaveLength(1);
  });

  // Issue 17: watch and the report show the same attempts, from the one record (the watchdog's
  // state.json) through the one ledger; the report is rendered by the real binary.
  const tmp = useTmpDir();
  it("after a spot, a spot and an on-demand attempt, the report lists each with its market, cost and ending, as watch does", async () => {
    const s = withFallback(await setup({ recovery: { maxRestarts: 2, budgetUsd: 10_000 } }), 2, 110);
    const t0 = Date.now();
    const reclaim = (id: string) => aws.ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    await put(s.bucket, "camp/full/node-0/train.metrics.jsonl", points(10, 300));
    await put(s.bucket, "camp/full/node-0/events.jsonl", [notice(s.node, new Date(t0 + 9 * MIN))]);
    const second = (await tick(aws, s.target, new Date(t0 + 10 * MIN))).relaunched?.instanceId as string;
    await reclaim(s.node);
    await put(s.bucket, "camp/full/node-0/attempt-2/events.jsonl", [notice(second, new Date(t0 + 40 * MIN))]);
    const third = (await tick(aws, s.target, new Date(t0 + 42 * MIN))).relaunched?.instanceId as string;
    await reclaim(second);
    // The on-demand node finishes its runs and powers off.
    await put(s.bucket, "camp/full/node-0/attempt-3/events.jsonl", [{ time: new Date(t0 + 100 * MIN).toISOString(), instance_id: third, node_rank: 0, event: "node_done", detail: { status: 0 } }]);
    await reclaim(third);
    const last = await tick(aws, s.target, new Date(t0 + 102 * MIN));
    expect(last.relaunched).toBeUndefined();
    expect(last.decision.action).toBe("continue");

    const stateFile = join(tmp.dir(), "watchdog-state.json");
    writeFileSync(stateFile, await (await aws.s3.send(new GetObjectCommand({ Bucket: s.bucket, Key: "watchdog/camp/full/state.json" }))).Body?.transformToString("utf-8") as string);
    const out = join(tmp.dir(), "report.html");
    const demo = join(REPO, "examples/demo");
    const r = await execa(process.execPath, [join(REPO, "src/cli/bin.ts"), "report", "--out", out, join(demo, "trajectory.jsonl"), join(demo, "curves/c078.jsonl"), "--attempts", stateFile], { reject: false, cwd: REPO });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^wrote .*report\.html \(sweep, stress, forecast, attempts; \d+ gates, (PASS|FAIL)\)$/);
    const html = readFileSync(out, "utf8");
    const rows = [...html.matchAll(/<tr data-attempt="(\d)" data-market="([a-z-]+)" data-outcome="([a-z ]+)" data-hours="([\d.]+)" data-cost="([\d.]+)"><td>\d<\/td><td>(i-[0-9a-f]+)<\/td>.*?<td>(\$[\d.,]+)<\/td><td>([^<]*)<\/td><\/tr>/g)].map((m) => ({ attempt: m[1], market: m[2], outcome: m[3], hours: Number(m[4]), cost: Number(m[5]), instance: m[6], shown: m[7], ended: m[8] }));
    expect(rows.map((x) => [x.attempt, x.instance, x.market, x.outcome])).toEqual([["1", s.node, "spot", "interrupted"], ["2", second, "spot", "interrupted"], ["3", third, "on-demand", "finished"]]);
    // Each at its own price: spot at the stack's $98.32/h, the fallback at $110/h.
    for (const x of rows) expect(x.cost).toBeCloseTo(x.hours * (x.market === "spot" ? 98.32 : 110), 0);
    expect(html).toMatch(/<tfoot><tr><th>total<\/th><th>2 restarts<\/th><th><\/th><th>2 interruptions<\/th>/);

    // watch, on the same bucket: the same attempts, hours and money.
    process.env["AWS_ACCESS_KEY_ID"] ??= "test";
    process.env["AWS_SECRET_ACCESS_KEY"] ??= "test";
    const { watchCommand } = await import("../../src/cli/commands/watch.ts");
    const lines: string[] = [];
    await watchCommand({ bucket: s.bucket, campaign: "camp", stage: "full", endpoint: moto().endpoint, region: "us-east-1", intervalS: 1, once: true, projectDir: "/proj", width: 60, height: 8 }, { out: (l) => lines.push(l), err: () => {}, env: {} });
    const watched = lines.join("\n").split("\n").filter((l) => /^attempt \d: /.test(l));
    expect(watched.map((l) => /^attempt (\d): (i-[0-9a-f]+) in subnet-[0-9a-f]+, ([a-z-]+), [\d.]+ h, (\$[\d.]+), (finished|interrupted)/.exec(l)?.slice(1))).toEqual(rows.map((x) => [x.attempt, x.instance, x.market, x.shown, x.outcome]));
  });

  it("an interruption past maxRestarts ends in an alert and nothing running", async () => {
    const s = await setup();
    const t0 = Date.now();
    await put(s.bucket, "camp/full/node-0/events.jsonl", [notice(s.node, new Date(t0 + 9 * MIN))]);
    const first = await tick(aws, s.target, new Date(t0 + 10 * MIN));
    const replacement = first.relaunched?.instanceId as string;
    expect(replacement).toBeDefined();
    // The replacement writes under attempt-2/ and is interrupted too.
    await put(s.bucket, "camp/full/node-0/attempt-2/events.jsonl", [notice(replacement, new Date(t0 + 40 * MIN))]);
    const r = await tick(aws, s.target, new Date(t0 + 42 * MIN));
    expect(r.relaunched).toBeUndefined();
    expect(r.decision.action).toBe("teardown");
    expect(r.decision.reasons.join("\n")).toMatch(/spot recovery gives up: interrupted again after 1 restart \(recovery.maxRestarts 1\)/);
    expect(await running("camp")).toEqual([]);
    expect(await running("other-campaign")).toHaveLength(1);
    expect((await inbox(s.queueUrl)).some((m) => m.startsWith("Torn down at") && /gives up/.test(m))).toBe(true);
  });

  it("a node that failed on its own is not relaunched", async () => {
    const s = await setup();
    const t0 = Date.now();
    await put(s.bucket, "camp/full/node-0/train.metrics.jsonl", points(10, 100));
    await put(s.bucket, "camp/full/node-0/events.jsonl", [{ time: new Date(t0 + 20 * MIN).toISOString(), instance_id: s.node, node_rank: 0, event: "node_done", detail: { status: 1 } }]);
    for (const m of [21, 25, 40]) {
      const r = await tick(aws, s.target, new Date(t0 + m * MIN));
      expect(r.relaunched).toBeUndefined();
    }
    expect((await instances("camp")).map((i) => i.InstanceId)).toEqual([s.node]);
    expect(await running("other-campaign")).toHaveLength(1);
  });

  it("refuses a relaunch that the remaining budget cannot pay for, and says so", async () => {
    // 20 planned hours at $98.32 cost $1,966; a $1,500 budget cannot pay for the rest.
    const s = await setup({ recovery: { budgetUsd: 1500 } });
    const t0 = Date.now();
    await put(s.bucket, "camp/full/node-0/events.jsonl", [notice(s.node, new Date(t0 + 59 * MIN))]);
    const r = await tick(aws, s.target, new Date(t0 + 60 * MIN));
    expect(r.relaunched).toBeUndefined();
    expect(r.decision.action).toBe("teardown");
    expect(r.decision.reasons.join("\n")).toMatch(/the remainder cannot finish inside the budget: \$\d+ spent \+ \$\d+ for the \d+\.\d h the run still needs .* is more than the \$1500 budget/);
    expect(await running("camp")).toEqual([]);
    expect(await running("other-campaign")).toHaveLength(1);
  });

  it("without recovery in its config, an interruption only alerts, as before", async () => {
    const s = await setup();
    const { recovery: _r, ...plain } = s.target.config;
    const t0 = Date.now();
    await put(s.bucket, "camp/full/node-0/events.jsonl", [notice(s.node, new Date(t0 + 9 * MIN))]);
    const r = await tick(aws, { ...s.target, config: plain }, new Date(t0 + 10 * MIN));
    expect(r.relaunched).toBeUndefined();
    expect(r.decision.action).toBe("alert");
    expect(await instances("camp")).toHaveLength(1);
  });
});
