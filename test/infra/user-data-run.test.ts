// The node's bootstrap script executed for real (issue 15): bash runs the rendered user data with
// stand-ins for docker, IMDS (curl) and shutdown from src/rehearse/bin, and the real aws CLI
// shipping to moto_server; each scenario checks what landed in the bucket and what was powered off.
// Without moto_server or the aws CLI these skip with a notice; under CI=true they fail.
import { createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ATTEMPT_TAG, attemptFolder, CHECKPOINT_MARKER, HARD_STOP_TAG, nodePrefix, runCheckpointsPrefix } from "../../src/campaign/layout.ts";
import { MARKER_REFUSED_STATUS, renderUserData } from "../../src/infra/user-data.ts";
import type { UserDataInput } from "../../src/infra/user-data-input.ts";
import { describeWithMoto } from "../helpers/moto.ts";
import { bucketFiles, createBucket, hasAwsCli, parseEvents, putObject, runNodeScript, type NodeEvent, type NodeRun } from "../helpers/node-script.ts";
import { useTmpDir } from "../helpers/tmp.ts";

const BUCKET = "wt-run-test";
const NODE_PREFIX = "test-7b/sanity/node-0/";
const base: UserDataInput = {
  campaign: "test-7b",
  stage: "sanity",
  bucket: BUCKET,
  prefix: "test-7b",
  region: "us-east-1",
  image: "nvcr.io/nvidia/pytorch:25.01-py3",
  runs: [{ name: "bf16", command: 'echo "hello from bf16"; echo "{\\"step\\":1,\\"loss\\":2.5}" > "$WINDTUNNEL_METRICS"' }, { name: "fp8", command: 'echo "{\\"step\\":1,\\"loss\\":2.6}" > "$WINDTUNNEL_METRICS"' }],
  hardStopMinutes: 1440,
  metricsIntervalS: 1,
  rank: 0,
  nodes: 1,
  efa: false,
  target: { params: 7e9 },
  verdictDigest: "0".repeat(64),
};

const HARD_STOP = ["-P", "+1440", "windtunnel: hours cap reached"];
const NOTICE = '{"action": "terminate", "time": "2026-01-01T00:02:00Z"}';

/** A scenario takes a few seconds; a broken script runs into the harness's own 30 s kill. */
const T = 45_000;
const eventsOf = (events: NodeEvent[], name: string): NodeEvent[] => events.filter((e) => e.event === name);
const nodeDone = (events: NodeEvent[]): unknown => eventsOf(events, "node_done").map((e) => e.detail);

/** The two guarantees of every scenario: the hard stop first, the power-off last, nothing left running. */
function expectPoweredOff(r: NodeRun, status: number): void {
  expect(r.calls[0]?.[0], r.output).toBe("shutdown");
  expect(r.shutdowns[0]).toEqual(HARD_STOP);
  expect(r.shutdowns.at(-1), r.output).toEqual(["-P", "+5", `windtunnel: runs ended (status ${status})`]);
  expect(r.survivors, "a background loop outlived the script").toBe(false);
}

if (!hasAwsCli()) {
  if (process.env["CI"] === "true") {
    describe("user data, executed", () => it("has the aws CLI", () => {
      throw new Error("the aws CLI is missing; .ci/run installs Debian's awscli package");
    }));
  } else {
    console.warn("[windtunnel tests] skipping the executed user-data tests: the aws CLI is not installed (apt-get install awscli)");
  }
} else {
  describeWithMoto("user data, executed against moto", (moto) => {
    const tmp = useTmpDir();
    const shipped = async (): Promise<{ files: Record<string, string>; events: NodeEvent[] }> => {
      const files = await bucketFiles(moto().endpoint, BUCKET, NODE_PREFIX);
      return { files, events: parseEvents(files["events.jsonl"] ?? "") };
    };
    beforeEach(async () => {
      await moto().reset();
      await createBucket(moto().endpoint, BUCKET);
    });

    it("logs in to ECR, pulls, runs every stage, ships metrics and events, and powers off", async () => {
      const r = await runNodeScript(tmp.dir(), { input: { ...base, image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/pretrain:v1" }, endpoint: moto().endpoint });
      expect(r.status, r.output).toBe(0);
      expectPoweredOff(r, 0);
      const docker = r.calls.filter((c) => c[0] === "docker").map((c) => c[1]);
      expect(docker).toEqual(["login", "pull", "run", "run"]);
      const { files, events } = await shipped();
      expect(files["bf16.metrics.jsonl"]).toBe('{"step":1,"loss":2.5}\n');
      expect(files["fp8.metrics.jsonl"]).toBe('{"step":1,"loss":2.6}\n');
      expect(events.map((e) => e.event)).toEqual(["node_started", "run_started", "run_ended", "run_started", "run_ended", "node_done"]);
      expect(events.every((e) => e.instance_id === "i-0123456789abcdef0" && e.node_rank === 0)).toBe(true);
      expect(nodeDone(events)).toEqual([{ status: 0 }]);
      expect(r.ms).toBeLessThan(20_000);
    }, T);

    // Defect 10: a log line without a time cannot be matched to the metrics or the watchdog's ticks.
    it("timestamps every line of the log, the container's output too", async () => {
      const r = await runNodeScript(tmp.dir(), { input: base, endpoint: moto().endpoint });
      expect(r.status, r.output).toBe(0);
      const lines = r.log.split("\n").filter((l) => l !== "");
      for (const line of lines) expect(line).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ /);
      for (const said of ["windtunnel: run bf16 started", "hello from bf16", "windtunnel: run bf16 ended (status 0)", "windtunnel: runs ended (status 0); shipping and powering off in 5 minutes"]) {
        expect(lines.filter((l) => l.endsWith(` ${said}`)), said).toHaveLength(1);
      }
    }, T);

    // Defect 1: the first failed stage is what the node reports, not the last one's success.
    it("a stage that exits 7 makes node_done, the exit status and the power-off say 7; the next stage still runs", async () => {
      const r = await runNodeScript(tmp.dir(), { input: { ...base, runs: [{ name: "a", command: "exit 7" }, { name: "b", command: "exit 3" }, { name: "c", command: "true" }] }, endpoint: moto().endpoint });
      expect(r.status, r.output).toBe(7);
      expectPoweredOff(r, 7);
      const { events } = await shipped();
      expect(eventsOf(events, "run_ended").map((e) => e.detail)).toEqual([{ name: "a", status: 7 }, { name: "b", status: 3 }, { name: "c", status: 0 }]);
      expect(nodeDone(events)).toEqual([{ status: 7 }]);
    }, T);

    // Defects 1 and 2 end to end: what the failed node shipped, read by real watchdog ticks. The
    // tick used to say `continue` with no alert; now it alerts at once and tears down a node still
    // up past the grace (stage full), or fails the sanity day at once.
    it.each([
      { stage: "full" as const, first: "alert", later: "teardown" },
      { stage: "sanity" as const, first: "teardown", later: "teardown" },
    ])("a failed stage command (exit 7), then watchdog ticks in stage $stage: $first, then $later", async ({ stage, first, later }) => {
      const { EC2Client, RunInstancesCommand, DescribeInstancesCommand } = await import("@aws-sdk/client-ec2");
      const { SNSClient, CreateTopicCommand } = await import("@aws-sdk/client-sns");
      const { S3Client } = await import("@aws-sdk/client-s3");
      const { tick } = await import("../../src/watchdog/tick.ts");
      const { DEFAULT_POLICY } = await import("../helpers/policy.ts");
      const aws = { endpoint: moto().endpoint, region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } };
      const clients = { s3: new S3Client({ ...aws, forcePathStyle: true }), ec2: new EC2Client(aws), sns: new SNSClient(aws) };
      const launched = await clients.ec2.send(new RunInstancesCommand({ ImageId: "ami-12c6146b", MinCount: 1, MaxCount: 1, InstanceType: "p5.48xlarge", TagSpecifications: [{ ResourceType: "instance", Tags: [{ Key: "windtunnel:campaign", Value: base.campaign }] }] }));
      const id = launched.Instances?.[0]?.InstanceId as string;
      const topic = await clients.sns.send(new CreateTopicCommand({ Name: "alerts" }));
      const r = await runNodeScript(tmp.dir(), { input: { ...base, stage, runs: [{ name: "train", command: 'echo "{\\"step\\":1,\\"loss\\":2.5}" > "$WINDTUNNEL_METRICS"; exit 7' }] }, endpoint: moto().endpoint });
      expect(r.status, r.output).toBe(7);
      const target = { bucket: BUCKET, prefix: base.prefix, topicArn: topic.TopicArn as string, config: { campaign: base.campaign, stage, hoursCap: 24, hourlyUsd: 55.04, nodes: 1, policy: { stress: DEFAULT_POLICY.stress, verify: DEFAULT_POLICY.verify, sanity: DEFAULT_POLICY.sanity, health: DEFAULT_POLICY.health } } };
      const done = Date.parse(r.events.find((e) => e.event === "node_done")?.time ?? "");
      const t1 = await tick(clients, target, new Date(done + 60_000));
      expect(t1.decision.action).toBe(first);
      expect([...t1.decision.alerts, ...t1.decision.reasons].join(" ")).toMatch(/node-0 ended with status 7/);
      const t2 = first === "teardown" ? t1 : await tick(clients, target, new Date(done + (DEFAULT_POLICY.health.failed_run_grace_minutes + 1) * 60_000));
      expect(t2.decision.action).toBe(later);
      expect(t2.decision.failed.map((g) => g.id)).toContain("health.exit_status");
      const state = (await clients.ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations?.[0]?.Instances?.[0]?.State?.Name;
      expect(state).toBe("terminated");
    }, T);

    // Defect 2 (kept): a failed pull is a failed node, and the record of it reaches the bucket.
    it("a failed docker pull ships node_done with a non-zero status and starts no run", async () => {
      const r = await runNodeScript(tmp.dir(), { input: base, endpoint: moto().endpoint, cues: { pullExit: 1 } });
      expect(r.status, r.output).toBe(1);
      expectPoweredOff(r, 1);
      const { events } = await shipped();
      expect(eventsOf(events, "run_started")).toEqual([]);
      expect(nodeDone(events)).toEqual([{ status: 1 }]);
    }, T);

    // Defect 3: the trap must read the status before it runs anything; a signal is 128 + n.
    it("SIGTERM during a run: exit 143, node_done 143 shipped, the run stopped, the node powered off", async () => {
      const r = await runNodeScript(tmp.dir(), {
        input: { ...base, runs: [{ name: "long", command: "sleep 60" }] },
        endpoint: moto().endpoint,
        during: async (c) => {
          await c.until("run_started", () => c.events().some((e) => e.event === "run_started"));
          process.kill(c.pid, "SIGTERM");
        },
      });
      expect(r.status, r.output).toBe(143);
      expectPoweredOff(r, 143);
      expect(nodeDone((await shipped()).events)).toEqual([{ status: 143 }]);
      expect(r.ms).toBeLessThan(20_000);
    }, T);

    // Defect 4: IMDS can be slow to answer at boot; the script retries before it gives up.
    it("retries IMDS with backoff: two failures, then the node runs normally", async () => {
      const r = await runNodeScript(tmp.dir(), { input: base, endpoint: moto().endpoint, cues: { imdsFails: 2 } });
      expect(r.status, r.output).toBe(0);
      expectPoweredOff(r, 0);
      expect(r.log).toMatch(/IMDS instance-id failed \(exit 7\), try 1 of 4; retrying in 0\.1 s/);
      const { events } = await shipped();
      expect(events.every((e) => e.instance_id === "i-0123456789abcdef0")).toBe(true);
      expect(nodeDone(events)).toEqual([{ status: 0 }]);
    }, T);

    // Defect 4: a failure before the runs start still ships a record and powers off.
    it("IMDS unreachable: node_done 7 with instance id unknown is shipped and the node powers off", async () => {
      const r = await runNodeScript(tmp.dir(), { input: base, endpoint: moto().endpoint, cues: { imdsDown: true } });
      expect(r.status, r.output).toBe(7);
      expectPoweredOff(r, 7);
      const { events } = await shipped();
      expect(events.map((e) => [e.event, e.instance_id, e.detail])).toEqual([["node_done", "unknown", { status: 7 }]]);
    }, T);

    // Defect 5: the exit trap must not abort: an events file that cannot be appended to (a
    // directory in its place, failing `>>` as a full disk does) still gets the final ship and the power-off.
    it("an events file that cannot be written: the final ship, the power-off and the loops' end still happen", async () => {
      const breakEvents = 'echo "{\\"step\\":1}" > "$WINDTUNNEL_METRICS"; d=$(dirname "$WINDTUNNEL_METRICS"); rm -f "$d/events.jsonl"; mkdir "$d/events.jsonl"';
      // A long interval: only the trap's final ship can carry the metrics to the bucket.
      const r = await runNodeScript(tmp.dir(), { input: { ...base, metricsIntervalS: 600, runs: [{ name: "full", command: breakEvents }] }, endpoint: moto().endpoint });
      expect(r.status, r.output).toBe(1);
      expectPoweredOff(r, 1);
      expect(r.log).toMatch(/could not record node_done/);
      expect((await shipped()).files["full.metrics.jsonl"]).toBe('{"step":1}\n');
    }, T);

    // Defect 8: a notice before a run starts must stop the runs, not be lost.
    it("a spot notice while no container runs: every run is skipped and recorded, the notice too", async () => {
      const r = await runNodeScript(tmp.dir(), { input: base, endpoint: moto().endpoint, cues: { spotNotice: NOTICE } });
      expect(r.status, r.output).toBe(0);
      expectPoweredOff(r, 0);
      expect(r.calls.filter((c) => c[0] === "docker" && c[1] === "run")).toEqual([]);
      const { events } = await shipped();
      expect(eventsOf(events, "spot_interruption").map((e) => e.detail)).toEqual([JSON.parse(NOTICE)]);
      expect(eventsOf(events, "run_skipped").map((e) => e.detail)).toEqual([{ name: "bf16", reason: "spot interruption" }, { name: "fp8", reason: "spot interruption" }]);
      expect(eventsOf(events, "run_started")).toEqual([]);
    }, T);

    // Defect 8: the running container gets SIGUSR1 (to checkpoint) and no later run starts.
    it("a spot notice during a run: SIGUSR1 to the container, which checkpoints; the next run is skipped", async () => {
      const checkpoint = 'trap \'echo checkpointed > "$WINDTUNNEL_METRICS"; exit 0\' USR1; cp "$STUB_STATE/notice" "$STUB_STATE/spot-notice"; for _ in $(seq 100); do sleep 0.1; done; exit 9';
      const r = await runNodeScript(tmp.dir(), { input: { ...base, runs: [{ name: "a", command: checkpoint }, { name: "b", command: "true" }] }, endpoint: moto().endpoint, cues: { stateFiles: { notice: NOTICE } } });
      expect(r.status, r.output).toBe(0);
      expectPoweredOff(r, 0);
      expect(r.signals).toEqual(["USR1 windtunnel-run"]);
      const { files, events } = await shipped();
      expect(files["a.metrics.jsonl"]).toBe("checkpointed\n");
      expect(events.map((e) => e.event)).toEqual(["node_started", "run_started", "spot_interruption", "run_ended", "run_skipped", "node_done"]);
      expect(eventsOf(events, "run_skipped").map((e) => e.detail)).toEqual([{ name: "b", reason: "spot interruption" }]);
    }, T);

    // Issue 17: a replacement after a spot interruption writes its own objects, so the first
    // attempt's events and metrics keep every byte the watchdog's cursors have read.
    describe("attempts and checkpoints", () => {
      const FIRST_EVENTS = '{"event":"node_started"}\n{"event":"spot_interruption"}\n';
      const FIRST_METRICS = '{"step":10,"loss":2.5}\n{"step":20,"loss":2.4}\n';
      const marker = (run: string, step: number): { key: string; text: string } => ({
        key: `${runCheckpointsPrefix(base.prefix, base.stage, run)}${CHECKPOINT_MARKER}`,
        text: JSON.stringify({ format: "windtunnel-checkpoint/1", step, path: `step-${step}/`, time: "2026-01-01T00:01:00.000Z" }),
      });
      // Each run records what it was handed, beside its metrics (shipped with them).
      const seen = 'printf "%s\\n%s" "$WINDTUNNEL_CHECKPOINTS" "${WINDTUNNEL_RESUME-none}" > "${WINDTUNNEL_METRICS%.metrics.jsonl}.seen"; echo "{\\"step\\":30,\\"loss\\":2.3}" > "$WINDTUNNEL_METRICS"';
      const recording = { ...base, runs: [{ name: "bf16", command: seen }, { name: "fp8", command: seen }] };

      it("the attempt tag served by IMDS (2): metrics and events go under attempt-2/, the first attempt's objects stay as they were", async () => {
        await putObject(moto().endpoint, BUCKET, `${NODE_PREFIX}events.jsonl`, FIRST_EVENTS);
        await putObject(moto().endpoint, BUCKET, `${NODE_PREFIX}bf16.metrics.jsonl`, FIRST_METRICS);
        const r = await runNodeScript(tmp.dir(), { input: recording, endpoint: moto().endpoint, cues: { tags: { [ATTEMPT_TAG]: "2" } } });
        expect(r.status, r.output).toBe(0);
        expectPoweredOff(r, 0);
        const { files } = await shipped();
        const second = attemptFolder(2);
        expect(`${nodePrefix(base.prefix, base.stage, 0)}${second}`).toBe(`${NODE_PREFIX}attempt-2/`);
        expect(files["events.jsonl"]).toBe(FIRST_EVENTS);
        expect(files["bf16.metrics.jsonl"]).toBe(FIRST_METRICS);
        expect(files[`${second}bf16.metrics.jsonl`]).toBe('{"step":30,"loss":2.3}\n');
        const events = parseEvents(files[`${second}events.jsonl`] ?? "");
        expect(events.map((e) => e.event)).toEqual(["node_started", "run_started", "run_ended", "run_started", "run_ended", "node_done"]);
        expect(eventsOf(events, "node_started")[0]?.detail).toMatchObject({ attempt: 2 });
        expect(Object.keys(files).filter((k) => !k.startsWith(second)).sort()).toEqual(["bf16.metrics.jsonl", "events.jsonl"]);
      }, T);

      it("a replacement powers off at the hard stop its tag gives (what the cap leaves), never later than the stack's", async () => {
        const r = await runNodeScript(tmp.dir(), { input: recording, endpoint: moto().endpoint, cues: { tags: { [ATTEMPT_TAG]: "2", [HARD_STOP_TAG]: "300" } } });
        expect(r.status, r.output).toBe(0);
        expect(r.shutdowns[0]).toEqual(HARD_STOP);
        expect(r.shutdowns[1]).toEqual(["-P", "+300", "windtunnel: hours cap reached (attempt 2)"]);
      }, T);

      it("a hard-stop tag asking for more than the stack's own is refused; the stack's stands", async () => {
        const more = await runNodeScript(tmp.dir(), { input: recording, endpoint: moto().endpoint, cues: { tags: { [ATTEMPT_TAG]: "3", [HARD_STOP_TAG]: "999999" } } });
        expect(more.status, more.output).toBe(0);
        expect(more.shutdowns.filter((c) => c[2]?.startsWith("windtunnel: hours cap"))).toEqual([HARD_STOP]);
        expect(more.output).toMatch(/is not fewer whole minutes than the stack's \d+; the stack's hard stop stands/);
      }, T);

      it("without the tag the node is attempt 1 and writes at the node's folder", async () => {
        const r = await runNodeScript(tmp.dir(), { input: recording, endpoint: moto().endpoint });
        expect(r.status, r.output).toBe(0);
        const { files, events } = await shipped();
        expect(Object.keys(files).filter((k) => k.includes("attempt-"))).toEqual([]);
        expect(eventsOf(events, "node_started")[0]?.detail).toMatchObject({ attempt: 1 });
      }, T);

      it("a marker in a run's checkpoint folder reaches its command as WINDTUNNEL_RESUME (run_resumed records the step); a run without one gets none", async () => {
        const m = marker("bf16", 30);
        await putObject(moto().endpoint, BUCKET, m.key, m.text);
        const r = await runNodeScript(tmp.dir(), { input: recording, endpoint: moto().endpoint, cues: { tags: { [ATTEMPT_TAG]: "2" } } });
        expect(r.status, r.output).toBe(0);
        const files = await bucketFiles(moto().endpoint, BUCKET, `${NODE_PREFIX}attempt-2/`);
        const folder = (run: string): string => `s3://${BUCKET}/${runCheckpointsPrefix(base.prefix, base.stage, run)}`;
        expect(files["bf16.seen"]).toBe(`${folder("bf16")}\n${m.text}`);
        expect(files["fp8.seen"]).toBe(`${folder("fp8")}\nnone`);
        const events = parseEvents(files["events.jsonl"] ?? "");
        expect(events.map((e) => e.event)).toEqual(["node_started", "run_started", "run_resumed", "run_ended", "run_started", "run_ended", "node_done"]);
        expect(eventsOf(events, "run_resumed").map((e) => e.detail)).toEqual([{ name: "bf16", step: 30 }]);
        expect(r.log).toMatch(/run bf16 resumes from its checkpoint at step 30/);
      }, T);

      // A fresh start would overwrite the checkpoints the marker was meant to name.
      it.each([
        ["not JSON", '{"format":"windtunnel-checkpoint/1","step":'],
        ["another format", '{"format":"other/2","step":30,"path":"step-30/"}'],
        ["a step that is not a whole number", '{"format":"windtunnel-checkpoint/1","step":"30","path":"step-30/"}'],
      ])("a marker that is %s: that run is not started (status 65), the others run, node_done says 65", async (_name, text) => {
        await putObject(moto().endpoint, BUCKET, marker("bf16", 30).key, text);
        const r = await runNodeScript(tmp.dir(), { input: recording, endpoint: moto().endpoint });
        expect(r.status, r.output).toBe(MARKER_REFUSED_STATUS);
        expectPoweredOff(r, MARKER_REFUSED_STATUS);
        const { files, events } = await shipped();
        expect(files["bf16.seen"]).toBeUndefined();
        expect(files["fp8.seen"]).toBeDefined();
        expect(eventsOf(events, "run_skipped").map((e) => e.detail)).toEqual([{ name: "bf16", status: 65, reason: `its checkpoint marker s3://${BUCKET}/${marker("bf16", 30).key} is not a windtunnel-checkpoint/1 marker` }]);
        expect(nodeDone(events)).toEqual([{ status: 65 }]);
      }, T);

      // Defect 4 on a replacement: with the attempt unknown, the final upload into the node's folder
      // would overwrite the first attempt's events; it is skipped while they are there.
      it.each([
        ["IMDS unreachable", { imdsDown: true }, 7, /attempt is unknown and s3:\/\/wt-run-test\/test-7b\/sanity\/node-0\/ holds an earlier attempt's events/],
        ["an attempt tag that is not a number", { tags: { [ATTEMPT_TAG]: "two" } }, 1, /tag windtunnel:attempt: expected a whole number ≥ 1, got "two"/],
      ])("%s while the node's folder holds events: nothing is shipped over them, and the node powers off", async (_name, cues, status, said) => {
        await putObject(moto().endpoint, BUCKET, `${NODE_PREFIX}events.jsonl`, FIRST_EVENTS);
        const r = await runNodeScript(tmp.dir(), { input: base, endpoint: moto().endpoint, cues });
        expect(r.status, r.output).toBe(status);
        expectPoweredOff(r, status);
        expect(r.log).toMatch(said);
        expect(await bucketFiles(moto().endpoint, BUCKET, NODE_PREFIX)).toEqual({ "events.jsonl": FIRST_EVENTS });
      }, T);
    });
  });

  // Defect 7: an S3 that accepts connections and never answers. Every aws call has timeouts and a
  // bounded retry; the final ship gives up after its budget and says so, then powers off.
  describe("user data, executed against an S3 that never answers", () => {
    const tmp = useTmpDir();
    let server: Server;
    const sockets: Socket[] = [];
    let endpoint = "";
    beforeAll(async () => {
      server = createServer((s) => void sockets.push(s));
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      const addr = server.address();
      endpoint = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`;
    });
    afterAll(() => {
      for (const s of sockets) s.destroy();
      server.close();
    });

    // Issue 17: nor does a run start whose checkpoint marker cannot be read (a fresh start could
    // overwrite the checkpoints it names); the CLI's status (255) is the node's.
    it("the final upload is tried 3 times within a bounded time, then 'final upload failed', then the power-off", async () => {
      const r = await runNodeScript(tmp.dir(), { input: { ...base, runs: [{ name: "a", command: "true" }] }, options: { retryWaitsS: [0.1, 0.2] }, endpoint, timeoutMs: 60_000 });
      expect(r.status, r.output).toBe(255);
      expectPoweredOff(r, 255);
      expect(r.log.split("\n").filter((l) => /could not read s3:\/\/wt-run-test\/test-7b\/checkpoints\/sanity\/a\/latest\.json/.test(l))).toHaveLength(3);
      expect(r.log).toMatch(/run a not started \(status 255\): its checkpoint marker s3:\/\/wt-run-test\/test-7b\/checkpoints\/sanity\/a\/latest\.json could not be read/);
      const uploads = r.log.split("\n").filter((l) => /upload/.test(l));
      expect(uploads.filter((l) => /final upload/.test(l))).toHaveLength(3);
      expect(uploads.at(-1)).toMatch(/final upload to s3:\/\/wt-run-test\/test-7b\/sanity\/node-0\/ failed after 3 tries; powering off without it/);
      expect(uploads.at(-1)).not.toMatch(/retrying next interval/);
      expect(r.ms).toBeLessThan(25_000);
    }, 70_000);
  });
}

// Defect 9: the renderer checks what it writes into a shell script and a JSON line.
describe("user data refuses names that would break the script or the events", () => {
  it.each<[string, Partial<UserDataInput>, RegExp]>([
    ["a newline in the campaign", { campaign: "x\ntouch /tmp/pwned" }, /campaign: expected /],
    ["a quote in a run name", { runs: [{ name: 'x"y', command: "true" }] }, /runs\[0\]\.name: expected /],
    ["a slash in a run name", { runs: [{ name: "../x", command: "true" }] }, /runs\[0\]\.name: expected /],
    ["a space in the bucket", { bucket: "my bucket" }, /bucket: expected /],
    ["a quote in the prefix", { prefix: 'p"' }, /prefix: expected /],
    ["a dollar in the region", { region: "us-$x" }, /region: expected /],
    ["a non-hex verdict digest", { verdictDigest: "zz" }, /verdictDigest: expected /],
  ])("%s", (_name, over, message) => {
    expect(() => renderUserData({ ...base, ...over })).toThrow(message);
  });

  it("writes no input into a comment", () => {
    const s = renderUserData({ ...base, campaign: "zq-campaign", bucket: "zq-bucket", prefix: "zq-prefix" });
    const comments = s.split("\n").filter((l) => /^\s*#/.test(l));
    expect(comments.filter((l) => /zq-/.test(l))).toEqual([]);
  });
});
