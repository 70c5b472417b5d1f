// The watchdog's benchmarks (npm run bench runs them with the others):
//  - ticks as handler invocations in one process against moto_server: 10,000 new points, and
//    1,000,000 points already seen (which must not be re-read), each against a same-run baseline;
//  - the bundled handler's size;
//  - detection latency in a simulated run: metrics every minute, a tick every 2 minutes, the real
//    LR-jump stress curve; ticks from the first tick that could see the failure to the teardown
//    (target 0: the first tick that sees it), and what the node costs meanwhile.
import { readFileSync } from "node:fs";
import { writeBenchStack } from "./stack.ts";
import { join } from "node:path";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { CreateLaunchTemplateCommand, DescribeInstancesCommand, EC2Client, RunInstancesCommand } from "@aws-sdk/client-ec2";
import { CreateTopicCommand, SNSClient } from "@aws-sdk/client-sns";
import { tick, type TickTarget } from "../src/watchdog/tick.ts";
import { decide, type WatchdogState } from "../src/watchdog/decide.ts";
import { bundleHandler } from "../src/infra/watchdog.ts";
import { loadPolicy } from "../src/policy/load.ts";
import { CurveMonitor } from "../src/gates/stress.ts";
import type { MetricPoint } from "../src/evidence/schemas.ts";
import { hasMoto, startMoto } from "../src/rehearse/moto-server.ts";

export interface Row { measure: string; ours: string; base: string; ratio: number; target: string; ok: boolean }

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

function lines(n: number, from = 0): string {
  const out: string[] = [];
  for (let i = from; i < from + n; i++) out.push(`{"step": ${i + 1}, "loss": ${(3 + 5 / Math.sqrt(i + 1)).toFixed(5)}, "grad_norm": 0.9, "lr": 0.0003, "tokens": ${(i + 1) * 524288}, "time_s": ${((i + 1) * 1.7).toFixed(1)}}`);
  return `${out.join("\n")}\n`;
}

export async function watchdogRows(root: string, repeats: number): Promise<Row[]> {
  const rows: Row[] = [];
  const policy = (await loadPolicy("default")).policy;
  const config = { campaign: "bench", stage: "full" as const, hoursCap: 168, hourlyUsd: 55.04, nodes: 1, policy: { stress: policy.stress, verify: policy.verify, sanity: policy.sanity, health: policy.health } };

  const code = await bundleHandler();
  rows.push({ measure: "watchdog: the bundled Lambda handler (esbuild, AWS SDK v3 included and minified)", ours: `${(Buffer.byteLength(code) / 1024).toFixed(0)} KiB`, base: "Lambda's limit: 50 MiB zipped, 250 MiB unzipped", ratio: Buffer.byteLength(code) / (250 * 1024 * 1024), target: "< 10 MiB", ok: Buffer.byteLength(code) < 10 * 1024 * 1024 });

  if (!hasMoto()) {
    console.log("bench: moto_server not found; the tick rows need it (pip install 'moto[server]')");
  } else {
    const moto = await startMoto();
    try {
      const endpoint = moto.endpoint;
      const cfg = { endpoint, region: "us-east-1", credentials: { accessKeyId: "x", secretAccessKey: "x" } };
      const aws = { s3: new S3Client({ ...cfg, forcePathStyle: true }), ec2: new EC2Client(cfg), sns: new SNSClient(cfg) };
      await aws.ec2.send(new RunInstancesCommand({ ImageId: "ami-12c6146b", MinCount: 1, MaxCount: 1, TagSpecifications: [{ ResourceType: "instance", Tags: [{ Key: "windtunnel:campaign", Value: "bench" }] }] }));
      const topic = (await aws.sns.send(new CreateTopicCommand({ Name: "bench" }))).TopicArn as string;
      const put = (bucket: string, key: string, body: string) => aws.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));

      // 10,000 new points per tick, against fetching the same bytes and parsing each line bare.
      const tenK = lines(10_000);
      const ours: number[] = [];
      const bare: number[] = [];
      const idle: number[] = [];
      await aws.s3.send(new CreateBucketCommand({ Bucket: "bench-idle" }));
      // One untimed tick first: a Lambda container serves many ticks, so JIT warm-up is not a tick's cost.
      await aws.s3.send(new CreateBucketCommand({ Bucket: "bench-warm" }));
      await put("bench-warm", "bench/full/node-0/train.metrics.jsonl", tenK);
      await tick(aws, { bucket: "bench-warm", prefix: "bench", topicArn: topic, config });
      for (let r = 0; r < Math.max(5, repeats); r++) {
        const t1 = performance.now();
        await tick(aws, { bucket: "bench-idle", prefix: "bench", topicArn: topic, config });
        idle.push(performance.now() - t1);
        const bucket = `bench-new-${r}`;
        await aws.s3.send(new CreateBucketCommand({ Bucket: bucket }));
        await put(bucket, "bench/full/node-0/train.metrics.jsonl", tenK);
        const t: TickTarget = { bucket, prefix: "bench", topicArn: topic, config };
        let t0 = performance.now();
        const body = await (await aws.s3.send(new GetObjectCommand({ Bucket: bucket, Key: "bench/full/node-0/train.metrics.jsonl" }))).Body?.transformToString();
        for (const l of (body ?? "").split("\n")) if (l) JSON.parse(l);
        bare.push(performance.now() - t0);
        t0 = performance.now();
        const res = await tick(aws, t);
        ours.push(performance.now() - t0);
        if (res.decision.state.runs["bench/full/node-0/train.metrics.jsonl"]?.points !== 10_000) throw new Error("bench: the tick did not read 10,000 points");
      }
      // The tick's fixed cost (list, describe, state read and write) is measured apart: the ratio
      // is what reading, validating and monitoring 10,000 points costs over parsing them bare.
      const perPoints = median(ours) - median(idle);
      rows.push({ measure: "watchdog tick over 10,000 new points, handler in-process against moto_server: the points' share (read, validate, stress monitors) over a tick with nothing new", ours: `${median(ours).toFixed(0)} ms a tick, ${perPoints.toFixed(0)} ms for the points`, base: `GET the same object + JSON.parse each line: ${median(bare).toFixed(0)} ms`, ratio: perPoints / median(bare), target: "≤ 5×", ok: perPoints / median(bare) <= 5 });

      // 1,000,000 points already seen: the next tick must not read them again.
      const bucket = "bench-seen";
      await aws.s3.send(new CreateBucketCommand({ Bucket: bucket }));
      const big: string[] = [];
      for (let i = 0; i < 1_000_000; i += 100_000) big.push(lines(100_000, i));
      await put(bucket, "bench/full/node-0/train.metrics.jsonl", big.join(""));
      const t: TickTarget = { bucket, prefix: "bench", topicArn: topic, config };
      const first = await tick(aws, t);
      if (first.decision.state.runs["bench/full/node-0/train.metrics.jsonl"]?.points !== 1_000_000) throw new Error("bench: the first tick did not read 1,000,000 points");
      const empty = "bench-empty";
      await aws.s3.send(new CreateBucketCommand({ Bucket: empty }));
      const seen: number[] = [];
      const none: number[] = [];
      let reread = 0;
      for (let r = 0; r < Math.max(3, repeats); r++) {
        let t0 = performance.now();
        await tick(aws, { ...t, bucket: empty });
        none.push(performance.now() - t0);
        t0 = performance.now();
        reread += (await tick(aws, t)).bytesRead;
        seen.push(performance.now() - t0);
      }
      rows.push(await recoveryRow(aws, topic, config));
      rows.push({ measure: "watchdog tick over 1,000,000 already-seen points (93 MB object)", ours: `${median(seen).toFixed(0)} ms, ${reread} bytes re-read`, base: `a tick with no metrics at all: ${median(none).toFixed(0)} ms`, ratio: median(seen) / median(none), target: "≤ 2×, 0 bytes", ok: reread === 0 && median(seen) / median(none) <= 2 });
    } finally {
      moto.stop();
    }
  }

  // Detection latency: the real LR-jump curve (lr × 30 at step 500), 10 logged steps a minute,
  // a tick every 2 minutes, decided by the same core as the Lambda.
  const points: MetricPoint[] = readFileSync(join(root, "test/fixtures/stress/lr-jump.jsonl"), "utf8").trim().split("\n").map((l, i) => ({ ...(JSON.parse(l) as MetricPoint), line: i + 1 }));
  const perMinute = 1;
  const tickEvery = 2;
  const start = Date.UTC(2026, 10, 26);
  let state: WatchdogState | undefined;
  let sent = 0;
  let firstVisible: number | undefined;
  let teardownTick: number | undefined;
  const offline = new CurveMonitor("offline", policy.stress);
  for (let k = 1; sent < points.length && teardownTick === undefined; k++) {
    const upTo = Math.min(points.length, k * tickEvery * perMinute);
    const fresh = points.slice(sent, upTo);
    for (const p of fresh) offline.push(p);
    if (firstVisible === undefined && offline.decisiveFailure()) firstVisible = k;
    const d = decide({ config, state, now: new Date(start + k * tickEvery * 60_000), launchedAt: new Date(start), batches: [{ key: "bench/full/node-0/train.metrics.jsonl", points: fresh }], events: [] });
    state = d.state;
    sent = upTo;
    if (d.action === "teardown") teardownTick = k;
  }
  const jumpTick = Math.ceil(points.findIndex((p) => p.step > 500) / (tickEvery * perMinute)) + 1;
  const lag = (teardownTick ?? Infinity) - (firstVisible ?? Infinity);
  const wastedMin = ((teardownTick ?? 0) - jumpTick) * tickEvery;
  rows.push({
    measure: "watchdog detection in a simulated run (real LR-jump curve, a point a minute, a tick every 2 min, p5.48xlarge on-demand $55.04/h)",
    ours: `teardown on tick ${teardownTick}, ${lag} tick(s) after the first tick whose data fails a gate; ${wastedMin} min ≈ $${((wastedMin / 60) * 55.04).toFixed(2)} after the jump`,
    base: `the jump lands in tick ${jumpTick}; the divergence gate needs 5 logged points above the line`,
    ratio: lag,
    target: "0 ticks",
    ok: lag === 0,
  });
  return rows;
}

/**
 * Spot recovery's latency, in ticks, with the real tick against moto_server: a node gets its
 * notice between two ticks (a tick every 2 simulated minutes, the node's upload every minute);
 * counted from the notice to the tick that calls RunInstances for the replacement. Target: the
 * first tick after the notice. With EventBridge's warning the invocation it triggers is that tick.
 */
async function recoveryRow(aws: { s3: S3Client; ec2: EC2Client; sns: SNSClient }, topic: string, base: TickTarget["config"]): Promise<Row> {
  const lt = (await aws.ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: "bench-spot", LaunchTemplateData: { ImageId: "ami-12c6146b", InstanceType: "p5.48xlarge" } }))).LaunchTemplate?.LaunchTemplateId as string;
  const count = async (campaign: string): Promise<number> => {
    const r = await aws.ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: "tag:windtunnel:campaign", Values: [campaign] }] }));
    return (r.Reservations ?? []).flatMap((x) => x.Instances ?? []).length;
  };
  const ticksToRelaunch = async (campaign: string, viaWarning: boolean): Promise<number> => {
    const bucket = campaign;
    const tags = { "windtunnel:campaign": campaign, "windtunnel:stage": "full" };
    await aws.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const node = (await aws.ec2.send(new RunInstancesCommand({ LaunchTemplate: { LaunchTemplateId: lt }, MinCount: 1, MaxCount: 1, TagSpecifications: [{ ResourceType: "instance", Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }] }))).Instances?.[0]?.InstanceId as string;
    const before = await count(campaign);
    const config = { ...base, campaign, recovery: { launchTemplateId: lt, launchTemplateVersion: "1", securityGroupIds: [], userData: Buffer.from("#!/bin/bash\n").toString("base64"), maxRestarts: 2, windowHours: 12, backoffMinutes: 4, restartOverheadMinutes: 20, subnets: [], budgetUsd: 100_000, plannedHours: 100, tags } };
    const t: TickTarget = { bucket, prefix: campaign, topicArn: topic, config };
    const start = Date.now();
    const noticeMin = 7;
    for (let k = 1; k <= 10; k++) {
      const now = new Date(start + k * 2 * 60_000);
      const minute = k * 2;
      // The node records the notice when it comes and uploads it with its next sync (a minute later).
      if (minute >= noticeMin + 1) await aws.s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${campaign}/full/node-0/events.jsonl`, Body: `${JSON.stringify({ time: new Date(start + noticeMin * 60_000).toISOString(), instance_id: node, event: "spot_interruption" })}\n` }));
      const warned = viaWarning && minute >= noticeMin ? [{ instanceId: node, at: new Date(start + noticeMin * 60_000).toISOString() }] : [];
      const r = await tick(aws, t, viaWarning && minute >= noticeMin ? new Date(start + noticeMin * 60_000) : now, warned);
      if (r.relaunched?.instanceId) {
        if ((await count(campaign)) !== before + 1) throw new Error("bench: the relaunch did not add exactly one instance");
        // Ticks after the notice: the tick at or after it that launched is 1 (0 with the warning's own invocation).
        return viaWarning ? 0 : k - Math.floor(noticeMin / 2);
      }
    }
    return Infinity;
  };
  const polled = await ticksToRelaunch("bench-spot-polled", false);
  const warned = await ticksToRelaunch("bench-spot-warned", true);
  return {
    measure: "spot recovery: from the interruption notice to the replacement's RunInstances (real tick against moto_server, a tick every 2 min, the node's upload every minute)",
    ours: `tick ${polled} after the notice (from the node's own record); with EventBridge's warning, in the invocation it triggers (${warned})`,
    base: "the notice lands between two ticks",
    ratio: polled,
    target: "the first tick after the notice",
    ok: polled === 1 && warned === 0,
  };
}

/** Rows of the rehearsal: a healthy sanity day's wall time, and a failed node's time to its power-off call. */
export async function rehearsalRows(dir: string, planMs: number): Promise<Row[]> {
  if (!hasMoto()) {
    console.log("bench: moto_server not found; the rehearsal rows need it (pip install 'moto[server]')");
    return [];
  }
  // The bench stack with the sanity day the default policy judges: bf16, fp8 and a TP/PP layout.
  const stackFile = writeBenchStack(join(dir, "Pulumi.rehearse.yaml"), ["bf16", "fp8", "tp2pp2"]);
  const { rehearse } = await import("../src/rehearse/rehearse.ts");
  const policy = (await loadPolicy("default")).policy;
  const trainer = `${JSON.stringify(process.execPath)} ${JSON.stringify(join(import.meta.dirname, "../examples/trainer/train.ts"))}`;
  const common = { stackFile, steps: 200, command: trainer, minutesPerSecond: 10, timeoutS: 120, cwd: process.cwd(), env: process.env };
  const day = join(dir, "sanity-day");
  const healthy = await rehearse({ ...common, stage: "sanity", scenario: "healthy", saveOutputs: day });
  const healthyOk = healthy.teardown === undefined && healthy.nodes.every((n) => n.status === 0);
  // Stage full (from that sanity day): the watchdog gives a failed node its grace, so its own power-off is seen.
  const failed = await rehearse({ ...common, stage: "full", scenario: "fail", overrides: { "windtunnel:sanity": { metrics: [join(day, "node-*", "*.metrics.jsonl")] } } });
  // Simulated minutes run at minutesPerSecond; the node's own work (its final upload) runs in real time.
  const ended = failed.timeline.find((e) => e.source === "node-0" && /^run_ended .*"status":7/.test(e.text));
  const off = failed.timeline.find((e) => e.source === "node-0" && /^shutdown -P \+5 /.test(e.text));
  const seconds = ended && off ? (off.minute - ended.minute) / common.minutesPerSecond : Number.NaN;
  const budget = policy.health.failed_run_grace_minutes * 60 + 60;
  return [
    { measure: "`windtunnel rehearse`, healthy: the bench stack's sanity day, the reference trainer × 200 steps a run, moto_server, the real watchdog tick at 10 simulated min/s; whole rehearsal", ours: `${(healthy.wallMs / 1000).toFixed(1)} s, ${healthyOk ? "no teardown, status 0" : "NOT healthy"}`, base: `\`windtunnel plan\` on the same stack: ${(planMs / 1000).toFixed(2)} s`, ratio: healthy.wallMs / planMs, target: "< 30 s, healthy", ok: healthy.wallMs < 30_000 && healthyOk },
    { measure: "the node script, a stage command that exits 7: from its end to the power-off call (the final upload to moto_server in between), real time", ours: Number.isFinite(seconds) ? `${seconds.toFixed(1)} s` : "not seen", base: `failed_run_grace_minutes + one 60 s upload: ${budget} s`, ratio: seconds / budget, target: "< grace + one sync", ok: Number.isFinite(seconds) && seconds < budget },
  ];
}
