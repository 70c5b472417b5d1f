// The watchdog's real handler code against a real local AWS API (moto_server): S3 for metrics,
// state and records, EC2 for the nodes, SNS (delivered to SQS so the test can read it).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileSync } from "node:fs";
import { beforeEach, describe, expect, it } from "vitest";
import { execa } from "execa";
import { useTmpDir } from "../helpers/tmp.ts";
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { DescribeInstancesCommand, DescribeSpotInstanceRequestsCommand, EC2Client, RequestSpotInstancesCommand, RunInstancesCommand } from "@aws-sdk/client-ec2";
import { SNSClient } from "@aws-sdk/client-sns";
import { ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { tick, stateKey, type TickTarget } from "../../src/watchdog/tick.ts";
import type { WatchdogConfig, WatchdogState } from "../../src/watchdog/decide.ts";
import { decodeState, encodeState } from "../../src/gates/snapshot.ts";
import { forecast } from "../../src/forecast/envelope.ts";
import { DEFAULT_POLICY } from "../helpers/policy.ts";
import { REPO } from "../helpers/shared.ts";
import { awsClients, describeWithMoto, topicWithInbox, type Moto } from "../helpers/moto.ts";

const fixture = (dir: string, f: string): string => readFileSync(join(REPO, "test/fixtures", dir, f), "utf8");
const POLICY = { stress: DEFAULT_POLICY.stress, verify: DEFAULT_POLICY.verify, sanity: DEFAULT_POLICY.sanity, health: DEFAULT_POLICY.health };
const MIN = 60_000;

describeWithMoto("watchdog against moto_server", (moto: () => Moto) => {
  let aws: { s3: S3Client; ec2: EC2Client; sns: SNSClient; sqs: SQSClient };

  beforeEach(async () => {
    await moto().reset();
    aws = awsClients(moto().endpoint);
  });

  async function launch(campaign: string): Promise<string> {
    const r = await aws.ec2.send(new RunInstancesCommand({ ImageId: "ami-12c6146b", MinCount: 1, MaxCount: 1, InstanceType: "p5.48xlarge", TagSpecifications: [{ ResourceType: "instance", Tags: [{ Key: "windtunnel:campaign", Value: campaign }] }] }));
    return r.Instances?.[0]?.InstanceId as string;
  }

  async function setup(over: Partial<WatchdogConfig> = {}) {
    const bucket = "wt-camp-artifacts";
    await aws.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const { topicArn, queueUrl } = await topicWithInbox(aws, "wt-camp-alerts");
    const node = await launch("camp");
    const other = await launch("other-campaign");
    const config: WatchdogConfig = { campaign: "camp", stage: "full", hoursCap: 24, hourlyUsd: 98.32, nodes: 1, policy: POLICY, ...over };
    const target: TickTarget = { bucket, prefix: "camp", topicArn, config };
    return { bucket, target, node, other, queueUrl };
  }

  const put = (bucket: string, key: string, body: string) => aws.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  const state = async (id: string) => (await aws.ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations?.[0]?.Instances?.[0]?.State?.Name;
  const inbox = async (queueUrl: string) => ((await aws.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }))).Messages ?? []).map((m) => m.Body ?? "");
  const records = async (bucket: string) => ((await aws.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: "watchdog/camp/" }))).Contents ?? []).map((o) => o.Key as string).filter((k) => k.includes("/teardown-"));
  const text = async (bucket: string, key: string) => (await (await aws.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body?.transformToString()) ?? "";

  async function expectTornDown(s: Awaited<ReturnType<typeof setup>>, reason: RegExp) {
    expect(await state(s.node)).toBe("terminated");
    expect(await state(s.other)).toBe("running");
    const recs = await records(s.bucket);
    expect(recs).toHaveLength(1);
    const record = JSON.parse(await text(s.bucket, recs[0] as string)) as { reasons: string[]; terminated: string[]; cost_so_far_usd: number };
    expect(record.reasons.join("\n")).toMatch(reason);
    expect(record.terminated).toEqual([s.node]);
    expect(record.cost_so_far_usd).toBeGreaterThanOrEqual(0);
    const msgs = await inbox(s.queueUrl);
    expect(msgs.some((m) => m.startsWith("Torn down at") && reason.test(m))).toBe(true);
    // A repeated tick after the teardown changes nothing: no new record, no message, nothing terminated.
    const again = await tick(aws, s.target, new Date(Date.now() + 2 * MIN));
    expect(again.decision.action).toBe("continue");
    expect(again.terminated).toEqual([]);
    expect(await records(s.bucket)).toHaveLength(1);
    expect(await inbox(s.queueUrl)).toEqual([]);
    expect(await state(s.other)).toBe("running");
  }

  it("a healthy stream keeps the node running, reading each byte once", async () => {
    const s = await setup();
    const healthy = fixture("stress", "healthy.jsonl");
    const key = "camp/full/node-0/train.metrics.jsonl";
    const half = healthy.split("\n").slice(0, 50).join("\n") + "\n";
    await put(s.bucket, key, half);
    const first = await tick(aws, s.target);
    expect(first.decision.action).toBe("continue");
    expect(first.bytesRead).toBe(Buffer.byteLength(half));
    await put(s.bucket, key, healthy);
    const second = await tick(aws, s.target);
    expect(second.decision.action).toBe("continue");
    expect(second.bytesRead).toBe(Buffer.byteLength(healthy) - Buffer.byteLength(half));
    expect(second.decision.state.runs[key]?.points).toBe(100);
    const third = await tick(aws, s.target);
    expect(third.bytesRead).toBe(0);
    expect(await state(s.node)).toBe("running");
    expect(await records(s.bucket)).toEqual([]);
  });

  it("a diverging stream (a real LR jump) is torn down", async () => {
    const s = await setup();
    await put(s.bucket, "camp/full/node-0/train.metrics.jsonl", fixture("stress", "lr-jump.jsonl"));
    const r = await tick(aws, s.target);
    expect(r.decision.action).toBe("teardown");
    await expectTornDown(s, /stress\.divergence at step 5\d\d/);
  });

  it("a NaN loss is torn down, and the campaign's open spot requests are cancelled (another campaign's are not)", async () => {
    const s = await setup();
    const spot = async (campaign: string) => (await aws.ec2.send(new RequestSpotInstancesCommand({ InstanceCount: 1, LaunchSpecification: { ImageId: "ami-12c6146b", InstanceType: "p5.48xlarge" }, TagSpecifications: [{ ResourceType: "spot-instances-request", Tags: [{ Key: "windtunnel:campaign", Value: campaign }] }] }))).SpotInstanceRequests?.[0]?.SpotInstanceRequestId as string;
    const ours = await spot("camp");
    const theirs = await spot("other-campaign");
    await put(s.bucket, "camp/full/node-0/train.metrics.jsonl", fixture("stress", "fp16-overflow.jsonl"));
    const r = await tick(aws, s.target);
    expect(r.decision.action).toBe("teardown");
    expect(r.cancelledSpotRequests).toEqual([ours]);
    const open = async (campaign: string) => ((await aws.ec2.send(new DescribeSpotInstanceRequestsCommand({ Filters: [{ Name: "tag:windtunnel:campaign", Values: [campaign] }, { Name: "state", Values: ["open", "active"] }] }))).SpotInstanceRequests ?? []).map((x) => x.SpotInstanceRequestId);
    expect(await open("camp")).toEqual([]);
    expect(await open("other-campaign")).toEqual([theirs]);
    await expectTornDown(s, /stress\.finite at step 710/);
  });

  it("a run that leaves the 5% band without diverging is torn down by the verify gate", async () => {
    const steady = fixture("cloud", "verify-steady.jsonl").trim().split("\n").map((l) => JSON.parse(l) as { step: number; loss: number; tokens: number });
    const env = forecast({ points: steady.filter((p) => p.step <= 600), policy: DEFAULT_POLICY.forecast });
    if (!env.ok) throw new Error(env.reason);
    // The real steady run, 8% worse from step 1000: under the 10% divergence line, over the 5% band.
    const worse = steady.map((p) => JSON.stringify(p.step > 1000 ? { ...p, loss: p.loss * 1.08 } : p)).join("\n") + "\n";
    const s = await setup({ envelope: env.envelope });
    await put(s.bucket, "camp/full/node-0/train.metrics.jsonl", worse);
    const r = await tick(aws, s.target);
    expect(r.decision.reasons.join()).not.toContain("stress.divergence");
    await expectTornDown(s, /verify\.envelope at step 10\d\d/);
  });

  it("a silent node alerts once, then is torn down past the dead-man limit", async () => {
    const s = await setup();
    await put(s.bucket, "camp/full/node-0/train.metrics.jsonl", fixture("stress", "healthy.jsonl"));
    const t0 = Date.now();
    expect((await tick(aws, s.target, new Date(t0))).decision.action).toBe("continue");
    const stale = await tick(aws, s.target, new Date(t0 + 20 * MIN));
    expect(stale.decision.action).toBe("alert");
    expect(await inbox(s.queueUrl)).toEqual([expect.stringMatching(/^stale: node-0: no new metrics for 20 min/)]);
    expect((await tick(aws, s.target, new Date(t0 + 30 * MIN))).decision.action).toBe("continue");
    expect(await inbox(s.queueUrl)).toEqual([]);
    expect((await tick(aws, s.target, new Date(t0 + 50 * MIN))).decision.action).toBe("teardown");
    await expectTornDown(s, /silent: node-0: no new metrics for 50 min/);
  });

  it("a node past its hours cap is torn down (the node's own timer failed)", async () => {
    const s = await setup({ hoursCap: 1 });
    await put(s.bucket, "camp/full/node-0/train.metrics.jsonl", fixture("stress", "healthy.jsonl"));
    expect((await tick(aws, s.target, new Date(Date.now() + 75 * MIN))).decision.action).toBe("teardown");
    await expectTornDown(s, /past its hours cap: up 1\.\d h against a cap of 1 h/);
  });

  it("a spot interruption alerts and is not a divergence, nor silence", async () => {
    const s = await setup();
    await put(s.bucket, "camp/full/node-0/train.metrics.jsonl", fixture("stress", "healthy.jsonl"));
    await put(s.bucket, "camp/full/node-0/events.jsonl", `${JSON.stringify({ time: "2026-11-26T01:00:00Z", event: "spot_interruption", detail: { action: "terminate" } })}\n`);
    const t0 = Date.now();
    expect((await tick(aws, s.target, new Date(t0))).decision.action).toBe("alert");
    expect(await inbox(s.queueUrl)).toEqual([expect.stringMatching(/^spot interruption of node-0 at 2026-11-26T01:00:00Z.*not a divergence/)]);
    expect((await tick(aws, s.target, new Date(t0 + 120 * MIN))).decision.action).toBe("continue");
    expect(await state(s.node)).toBe("running");
  });

  it("a torn last line is read whole on the next tick, never twice", async () => {
    const s = await setup();
    const key = "camp/full/node-0/train.metrics.jsonl";
    const lines = fixture("stress", "healthy.jsonl").split("\n");
    const torn = `${lines.slice(0, 10).join("\n")}\n${(lines[10] as string).slice(0, 20)}`;
    await put(s.bucket, key, torn);
    expect((await tick(aws, s.target)).decision.state.runs[key]?.points).toBe(10);
    await put(s.bucket, key, `${lines.slice(0, 20).join("\n")}\n`);
    const r = await tick(aws, s.target);
    expect(r.problems).toEqual([]);
    expect(r.decision.state.runs[key]?.points).toBe(20);
    expect(JSON.parse(await text(s.bucket, stateKey(s.target))).cursors[key]).toEqual({ bytes: Buffer.byteLength(`${lines.slice(0, 20).join("\n")}\n`), line: 21 });
  });

  /** Make the next `n` S3 calls of a command fail the way S3 fails: SlowDown (503) throttling or a 500. */
  function inject(client: S3Client, command: string, n: number, kind: "throttle" | "error"): () => number {
    let left = n;
    let seen = 0;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === command && left > 0) {
          left--;
          seen++;
          const err = Object.assign(new Error(kind === "throttle" ? "Please reduce your request rate." : "We encountered an internal error."), {
            name: kind === "throttle" ? "SlowDown" : "InternalError",
            $fault: "server",
            $metadata: { httpStatusCode: kind === "throttle" ? 503 : 500 },
            ...(kind === "throttle" ? { $retryable: { throttling: true } } : {}),
          });
          throw err;
        }
        return next(args);
      },
      { step: "deserialize", name: `fault-${command}-${Math.random()}` },
    );
    return () => seen;
  }

  it("throttling is retried with backoff inside one tick: nothing lost, nothing counted twice", async () => {
    const s = await setup();
    const key = "camp/full/node-0/train.metrics.jsonl";
    await put(s.bucket, key, fixture("stress", "healthy.jsonl"));
    const faulty = new S3Client({ endpoint: moto().endpoint, region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" }, forcePathStyle: true, maxAttempts: 3 });
    const seen = inject(faulty, "GetObjectCommand", 2, "throttle");
    const r = await tick({ ...aws, s3: faulty }, s.target);
    expect(seen()).toBe(2);
    expect(r.decision.state.runs[key]?.points).toBe(100);
  });

  it("a tick that fails on S3 leaves the state as it was; the next one reads the same points once", async () => {
    const s = await setup();
    const key = "camp/full/node-0/train.metrics.jsonl";
    const lines = fixture("stress", "healthy.jsonl").split("\n");
    await put(s.bucket, key, `${lines.slice(0, 40).join("\n")}\n`);
    expect((await tick(aws, s.target)).decision.state.runs[key]?.points).toBe(40);
    await put(s.bucket, key, `${lines.slice(0, 70).join("\n")}\n`);
    const before = await text(s.bucket, stateKey(s.target));
    for (const [command, kind] of [["GetObjectCommand", "error"], ["PutObjectCommand", "throttle"], ["ListObjectsV2Command", "error"]] as const) {
      const faulty = new S3Client({ endpoint: moto().endpoint, region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" }, forcePathStyle: true, maxAttempts: 2 });
      inject(faulty, command, 10, kind);
      await expect(tick({ ...aws, s3: faulty }, s.target)).rejects.toThrow();
      expect(await text(s.bucket, stateKey(s.target))).toBe(before);
    }
    const r = await tick(aws, s.target);
    expect(r.decision.state.runs[key]?.points).toBe(70);
    expect(r.decision.state.runs[key]?.last?.step).toBe(700);
    expect((await tick(aws, s.target)).decision.state.runs[key]?.points).toBe(70);
  });

  it("a saved state this version cannot resume (an older one's: no snapshot version) is replayed: no throw, no teardown, one alert, then ticks as usual", async () => {
    const s = await setup();
    const key = "camp/full/node-0/train.metrics.jsonl";
    const lines = fixture("stress", "healthy.jsonl").trimEnd().split("\n");
    await put(s.bucket, key, `${lines.slice(0, 40).join("\n")}\n`);
    expect((await tick(aws, s.target)).decision.action).toBe("continue");
    const saved = decodeState<WatchdogState>(await text(s.bucket, stateKey(s.target)));
    const run = saved.runs[key];
    if (!run) throw new Error("no run saved");
    delete (run.monitor as Partial<typeof run.monitor>).version;
    await put(s.bucket, stateKey(s.target), encodeState(saved));
    const seventy = `${lines.slice(0, 70).join("\n")}\n`;
    await put(s.bucket, key, seventy);

    const r = await tick(aws, s.target);
    expect(r.decision.action).toBe("alert");
    expect(r.terminated).toEqual([]);
    expect(await state(s.node)).toBe("running");
    expect(r.bytesRead).toBe(Buffer.byteLength(seventy));
    expect(r.decision.state.runs[key]?.points).toBe(70);
    expect(await inbox(s.queueUrl)).toEqual([expect.stringMatching(/^train: its saved monitor state was refused \(the stress monitor's snapshot: version: missing \(this version reads version 1\)\); its monitors start afresh from the whole curve in the bucket/)]);
    const resaved = decodeState<WatchdogState>(await text(s.bucket, stateKey(s.target)));
    expect(resaved.runs[key]?.monitor.version).toBe(1);
    expect(resaved.cursors[key]?.line).toBe(71);

    await put(s.bucket, key, `${lines.slice(0, 80).join("\n")}\n`);
    const next = await tick(aws, s.target);
    expect(next.decision.action).toBe("continue");
    expect(next.decision.state.runs[key]?.points).toBe(80);
  });

  it("stage sanity: a failing sanity day is torn down once the node reports its runs done", async () => {
    const s = await setup({ stage: "sanity", policy: { ...POLICY, sanity: { ...POLICY.sanity, fp8: { ...POLICY.sanity.fp8, reference: "fp64", candidate: "seed2" }, parallel: { ...POLICY.sanity.parallel, reference: "fp64", layouts: ["shards2"] } } } });
    for (const tag of ["fp64", "seed2", "shards2"]) await put(s.bucket, `camp/sanity/node-0/${tag}.metrics.jsonl`, fixture("cloud", `sanity-${tag}.jsonl`));
    expect((await tick(aws, s.target)).decision.action).toBe("continue");
    await put(s.bucket, "camp/sanity/node-0/events.jsonl", `${JSON.stringify({ event: "node_done", detail: { status: 0 } })}\n`);
    expect((await tick(aws, s.target)).decision.action).toBe("teardown");
    await expectTornDown(s, /sanity day: sanity\.fp8\.gap \(seed2 vs fp64\)/);
  });

  it("stage sanity on two nodes: each node's runs are judged on their own (node-0 bad, node-1 good)", async () => {
    const sanity = { ...POLICY.sanity, fp8: { ...POLICY.sanity.fp8, reference: "fp64", candidate: "bf16" }, parallel: { ...POLICY.sanity.parallel, reference: "fp64", layouts: ["shards2"] } };
    const s = await setup({ stage: "sanity", nodes: 2, policy: { ...POLICY, sanity } });
    const retag = (from: string, tag: string): string => fixture("cloud", `sanity-${from}.jsonl`).replaceAll(`"tag": "${from}"`, `"tag": "${tag}"`);
    for (const node of ["node-0", "node-1"]) {
      await put(s.bucket, `camp/sanity/${node}/fp64.metrics.jsonl`, retag("fp64", "fp64"));
      await put(s.bucket, `camp/sanity/${node}/bf16.metrics.jsonl`, node === "node-0" ? retag("seed2", "bf16") : retag("bf16", "bf16"));
      await put(s.bucket, `camp/sanity/${node}/shards2.metrics.jsonl`, retag("shards2", "shards2"));
      await put(s.bucket, `camp/sanity/${node}/events.jsonl`, `${JSON.stringify({ event: "node_done", detail: { status: 0 } })}\n`);
    }
    const r = await tick(aws, s.target);
    expect(r.decision.action).toBe("teardown");
    expect(r.decision.reasons.join("\n")).toMatch(/sanity day: sanity\.fp8\.gap \(node-0: bf16 vs fp64\)/);
    expect(r.decision.reasons.join("\n")).not.toMatch(/node-1: bf16 vs fp64/);
  });

  describe("windtunnel watch", () => {
    const BIN = join(REPO, "src", "cli", "bin.ts");
    const ENV = { AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test", AWS_REGION: "us-east-1" };
    const tmp = useTmpDir();

    async function envelopeFile(): Promise<string> {
      const steady = fixture("cloud", "verify-steady.jsonl").trim().split("\n").map((l) => JSON.parse(l) as { step: number; loss: number; tokens: number });
      const f = forecast({ points: steady.filter((p) => p.step <= 600), policy: DEFAULT_POLICY.forecast });
      if (!f.ok) throw new Error(f.reason);
      const file = join(tmp.dir(), "envelope.json");
      writeFileSync(file, JSON.stringify(f.envelope));
      return file;
    }

    it("draws the live curve against the envelope and exits 0 while the run is healthy", async () => {
      const s = await setup();
      await put(s.bucket, "camp/full/node-0/train.metrics.jsonl", fixture("cloud", "verify-steady.jsonl"));
      const r = await execa(process.execPath, [BIN, "watch", "--once", "--endpoint", moto().endpoint, "--bucket", s.bucket, "--campaign", "camp", "--envelope", await envelopeFile()], { reject: false, env: ENV });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^node-0\/train: 60 points, step 1500, loss 2\.\d+ \(envelope 2\.\d+ ± [\d.]+%\)$/m);
      expect(r.stdout).toMatch(/┤/);
      expect(r.stdout).toMatch(/^verify: pass — /m);
    });

    it("shows the watchdog's teardown and exits 1; --destroy-on-teardown runs pulumi destroy for the stack", async () => {
      const s = await setup();
      await put(s.bucket, "camp/full/node-0/train.metrics.jsonl", fixture("stress", "lr-jump.jsonl"));
      await tick(aws, s.target);
      const r = await execa(process.execPath, [BIN, "watch", "--once", "--endpoint", moto().endpoint, "--bucket", s.bucket, "--campaign", "camp"], { reject: false, env: ENV });
      expect(r.exitCode).toBe(1);
      expect(r.stdout).toMatch(/✗ the watchdog tore the run down at .* \(cost so far \$[\d.]+\):\n {2}- train: stress\.divergence at step 5\d\d/);
      const destroyed: string[] = [];
      const out: string[] = [];
      const { watchCommand } = await import("../../src/cli/commands/watch.ts");
      process.env["AWS_ACCESS_KEY_ID"] ??= "test";
      process.env["AWS_SECRET_ACCESS_KEY"] ??= "test";
      const code = await watchCommand({ bucket: s.bucket, campaign: "camp", stage: "full", endpoint: moto().endpoint, region: "us-east-1", intervalS: 1, once: true, destroyStack: "gpt7b", projectDir: "/proj", width: 60, height: 8 }, { out: (l) => out.push(l), err: () => {}, env: {} }, async (stack, dir) => {
        destroyed.push(`${stack}@${dir}`);
      });
      expect(code).toBe(1);
      expect(destroyed).toEqual(["gpt7b@/proj"]);
      expect(out).toContain("running pulumi destroy for stack gpt7b …");
    });

    it("labels each node's run by its node, and says where a curve is when it is outside the window", async () => {
      const s = await setup();
      const steady = fixture("cloud", "verify-steady.jsonl");
      await put(s.bucket, "camp/full/node-0/train.metrics.jsonl", steady);
      // node-1 has logged only its first steps: before the envelope's window.
      await put(s.bucket, "camp/full/node-1/train.metrics.jsonl", steady.split("\n").slice(0, 5).join("\n") + "\n");
      const r = await execa(process.execPath, [BIN, "watch", "--once", "--endpoint", moto().endpoint, "--bucket", s.bucket, "--campaign", "camp", "--envelope", await envelopeFile()], { reject: false, env: ENV });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^node-0\/train: 60 points/m);
      expect(r.stdout).toMatch(/^node-1\/train: 5 points, step 125, loss [\d.]+ \(before the envelope's window\)$/m);
      expect(r.stdout).not.toContain("NaN");
    });

    it("shows a record whose reasons are one string as one reason, and a record that is not JSON as such", async () => {
      const s = await setup();
      await put(s.bucket, "camp/full/node-0/train.metrics.jsonl", fixture("cloud", "verify-steady.jsonl"));
      await put(s.bucket, "watchdog/camp/full/teardown-2026-01-01T00-00-00Z.json", JSON.stringify({ reasons: "silent: no new metrics for 60 min", at: "2026-01-01T00:00:00Z" }));
      await put(s.bucket, "watchdog/camp/full/teardown-2026-01-01T00-05-00Z.json", "{not json");
      const r = await execa(process.execPath, [BIN, "watch", "--once", "--endpoint", moto().endpoint, "--bucket", s.bucket, "--campaign", "camp"], { reject: false, env: ENV });
      expect(r.exitCode, r.stderr).toBe(1);
      expect(r.stdout).toContain("  - silent: no new metrics for 60 min\n");
      expect(r.stdout).toMatch(/ {2}- \(the record watchdog\/camp\/full\/teardown-2026-01-01T00-05-00Z\.json is not JSON\)/);
      expect(r.stdout).not.toMatch(/^ {2}- s$/m);
    });

    it.each([
      ["a missing bucket", (e: string) => ["--endpoint", e, "--bucket", "no-such-bucket"], {}, /^windtunnel: watch: no bucket no-such-bucket/m],
      ["a refused connection", () => ["--endpoint", "http://127.0.0.1:9", "--bucket", "b"], {}, /^windtunnel: watch: cannot reach http:\/\/127\.0\.0\.1:9 \(ECONNREFUSED\)/m],
      ["an endpoint that is not a URL", () => ["--endpoint", "localhost:5000", "--bucket", "b"], {}, /^windtunnel: --endpoint "localhost:5000": expected an http:\/\/ or https:\/\/ URL/m],
      ["no region", (e: string) => ["--endpoint", e, "--bucket", "b"], { AWS_REGION: undefined }, /^windtunnel: watch: no AWS region: pass --region, or set AWS_REGION/m],
      ["an empty region", (e: string) => ["--endpoint", e, "--bucket", "b"], { AWS_REGION: "" }, /^windtunnel: watch: not a valid AWS region \(region=""\)/m],
      ["no credentials", (e: string) => ["--endpoint", e, "--bucket", "b"], { AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined }, /^windtunnel: watch: no AWS credentials found/m],
    ])("%s is exit 2 with a sentence, not an internal error", async (_what, args, env: Record<string, string | undefined>, message) => {
      // Only what the test sets: no ~/.aws files, no instance metadata, nothing outside 127.0.0.1.
      const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("AWS_")));
      const isolated = Object.fromEntries(Object.entries({ ...inherited, ...ENV, AWS_CONFIG_FILE: "/nonexistent", AWS_SHARED_CREDENTIALS_FILE: "/nonexistent", AWS_EC2_METADATA_DISABLED: "true", ...env }).filter((kv): kv is [string, string] => kv[1] !== undefined));
      const r = await execa(process.execPath, [BIN, "watch", "--once", "--campaign", "camp", ...args(moto().endpoint)], { reject: false, env: isolated, extendEnv: false, timeout: 60_000 });
      expect(r.exitCode, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/internal error/);
    });

    it("without the Pulumi CLI, --destroy-on-teardown says what it needs (exit 2)", async () => {
      const s = await setup();
      await put(s.bucket, "camp/full/node-0/train.metrics.jsonl", fixture("stress", "fp16-overflow.jsonl"));
      await tick(aws, s.target);
      const r = await execa(process.execPath, [BIN, "watch", "--once", "--endpoint", moto().endpoint, "--bucket", s.bucket, "--campaign", "camp", "--destroy-on-teardown", "gpt7b"], { reject: false, env: { ...ENV, PATH: `${join(process.execPath, "..")}:/usr/bin:/bin` }, cwd: tmp.dir() });
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toMatch(/pulumi destroy for stack gpt7b in .*: the Pulumi CLI is not on PATH \(it needs the Pulumi CLI on PATH and a logged-in backend\)/);
    });
  });
});

