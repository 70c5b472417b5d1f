// Issue 17 end to end, through the node harness: the real user data runs the reference trainer
// (src/rehearse/bin stands in for docker, IMDS and shutdown; the aws CLI of the node and of the
// trainer talk to moto_server). Attempt 1 gets a spot notice mid-run, the trainer checkpoints to
// S3 on SIGUSR1 and stops; attempt 2, tagged windtunnel:attempt=2, resumes from the marker. The
// two attempts' metrics objects, joined, are one curve with each step once that passes the stress
// gates and equals an uninterrupted run of the same seed. Without moto_server or the aws CLI this
// skips with a notice; under CI=true it fails.
import { spawnSync } from "node:child_process";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseCheckpointMarker } from "../../src/campaign/checkpoint-marker.ts";
import { joinAttempts } from "../../src/campaign/attempts.ts";
import { ATTEMPT_TAG, attemptFolder, CHECKPOINT_MARKER, EVENTS_FILE, METRICS_SUFFIX, nodePrefix, runCheckpointsPrefix } from "../../src/campaign/layout.ts";
import { Diagnostics } from "../../src/common/problems.ts";
import type { MetricPoint } from "../../src/evidence/schemas.ts";
import { metricsMapper } from "../../src/evidence/formats/metrics.ts";
import { evaluateCurve } from "../../src/gates/stress.ts";
import { shq } from "../../src/infra/user-data.ts";
import type { UserDataInput } from "../../src/infra/user-data-input.ts";
import { describeWithMoto } from "../helpers/moto.ts";
import { bucketFiles, createBucket, hasAwsCli, parseEvents, runNodeScript, type NodeEvent } from "../helpers/node-script.ts";
import { DEFAULT_POLICY } from "../helpers/policy.ts";
import { REPO } from "../helpers/shared.ts";
import { useTmpDir } from "../helpers/tmp.ts";

const TRAINER = join(REPO, "examples", "trainer", "train.ts");
const BUCKET = "wt-spot-resume";
const PREFIX = "spot-7b";
const STEPS = 1000; // the default policy's stress.min_steps
const NOTICE = '{"action": "terminate", "time": "2026-01-01T00:02:00Z"}';
const T = 120_000;

/** The training run's command in the "container": the trainer under the protocol, its aws CLI on moto. */
function trainCommand(endpoint: string): string {
  return [
    // bash -l in the container resets PATH: the test's node and aws CLI come back with it.
    `export PATH=${shq(process.env["PATH"] ?? "")}`,
    `export AWS_ENDPOINT_URL=${shq(endpoint)} AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing`,
    // Checkpoints only on SIGUSR1: the resume must come from the spot notice's checkpoint.
    `export WINDTUNNEL_STEPS=${STEPS} WINDTUNNEL_LOG_EVERY=10 WINDTUNNEL_CHECKPOINT_EVERY=0`,
    // exec: the trainer is the container's process, the one docker kill signals.
    `exec ${shq(process.execPath)} ${shq(TRAINER)}`,
  ].join("\n");
}

const input = (endpoint: string): UserDataInput => ({
  campaign: PREFIX, stage: "full", bucket: BUCKET, prefix: PREFIX, region: "us-east-1", image: "nvcr.io/nvidia/pytorch:25.01-py3",
  runs: [{ name: "train", command: trainCommand(endpoint) }], hardStopMinutes: 1440, metricsIntervalS: 1, rank: 0, nodes: 1, efa: false, target: { params: 7e9 }, verdictDigest: "0".repeat(64),
});

const lastStep = (file: string): number => {
  if (!statSync(file, { throwIfNoEntry: false })?.isFile()) return 0;
  const lines = readFileSync(file, "utf8").split("\n").filter((l) => l.endsWith("}"));
  return lines.length === 0 ? 0 : (JSON.parse(lines.at(-1) as string) as { step: number }).step;
};
const pointsOf = (key: string, text: string): MetricPoint[] => {
  const diag = new Diagnostics(key);
  const points = metricsMapper(diag)({ first: 1, lines: text.split("\n").filter((l) => l !== "") });
  expect(diag.problems).toEqual([]);
  return points;
};
const named = (events: NodeEvent[], name: string): unknown[] => events.filter((e) => e.event === name).map((e) => e.detail);

if (!hasAwsCli()) {
  if (process.env["CI"] === "true") describe("spot interruption and resume", () => it("has the aws CLI", () => {
    throw new Error("the aws CLI is missing; .ci/run installs Debian's awscli package");
  }));
  else console.warn("[windtunnel tests] skipping the spot-resume test: the aws CLI is not installed");
} else {
  describeWithMoto("spot interruption and resume, through the node harness", (moto) => {
    const tmp = useTmpDir();

    it("a reference-trainer run interrupted at step k resumes from its checkpoint at k + 1; the joined curve has each step once and passes the stress gates", async () => {
      await moto().reset();
      await createBucket(moto().endpoint, BUCKET);
      const endpoint = moto().endpoint;

      // Attempt 1: the spot notice arrives once the run is past step 400.
      const first = await runNodeScript(join(tmp.dir(), "attempt-1"), {
        input: input(endpoint), endpoint, timeoutMs: T,
        during: async (c) => {
          await c.until("step 400", () => lastStep(join(c.out, "train.metrics.jsonl")) >= 400, 60_000);
          writeFileSync(join(c.state, "spot-notice"), NOTICE);
        },
      });
      expect(first.status, first.output).toBe(0);
      expect(first.signals).toEqual(["USR1 windtunnel-run"]);
      expect(first.output).toMatch(/SIGUSR1: checkpointed after step \d+/);
      const markerKey = `${runCheckpointsPrefix(PREFIX, "full", "train")}${CHECKPOINT_MARKER}`;
      const markerText = (await bucketFiles(endpoint, BUCKET, markerKey))[""] ?? "";
      const parsed = parseCheckpointMarker(markerText);
      if (!("marker" in parsed)) throw new Error(`no marker at ${markerKey}: ${JSON.stringify(parsed)}`);
      const k = parsed.marker.step;
      expect(k).toBeGreaterThanOrEqual(400);
      expect(k).toBeLessThan(STEPS);

      // Attempt 2: the replacement the watchdog would launch, tagged with its attempt.
      const second = await runNodeScript(join(tmp.dir(), "attempt-2"), { input: input(endpoint), endpoint, timeoutMs: T, cues: { tags: { [ATTEMPT_TAG]: "2" } } });
      expect(second.status, second.output).toBe(0);
      expect(second.output).toMatch(new RegExp(`resumed after step ${k}`));

      const folder = (n: number): string => `${nodePrefix(PREFIX, "full", 0)}${attemptFolder(n)}`;
      const keys = [1, 2].map((n) => ({ metrics: `${folder(n)}train${METRICS_SUFFIX}`, events: `${folder(n)}${EVENTS_FILE}` }));
      const files = await bucketFiles(endpoint, BUCKET, "");
      const events = keys.map((x) => parseEvents(files[x.events] ?? ""));
      expect(named(events[0] ?? [], "spot_interruption")).toEqual([JSON.parse(NOTICE)]);
      expect(named(events[0] ?? [], "run_ended")).toEqual([{ name: "train", status: 0 }]);
      expect(named(events[1] ?? [], "run_resumed")).toEqual([{ name: "train", step: k }]);
      expect(named(events[1] ?? [], "node_started")).toMatchObject([{ attempt: 2 }]);

      const attempts = keys.map((x) => pointsOf(x.metrics, files[x.metrics] ?? ""));
      expect(attempts[0]?.at(-1)?.step).toBeLessThanOrEqual(k);
      expect(attempts[1]?.[0]?.step).toBe(Math.floor(k / 10) * 10 + 10);
      const joined = joinAttempts(keys.map((x, i) => ({ key: x.metrics, points: attempts[i] ?? [] })));
      expect(joined.map((r) => [r.run, r.dropped])).toEqual([[keys[0]?.metrics, 0]]);
      const steps = joined[0]?.points.map((p) => p.step) ?? [];
      expect(steps).toEqual(Array.from({ length: STEPS / 10 }, (_, i) => (i + 1) * 10));

      const outcome = evaluateCurve("train", joined[0]?.points ?? [], DEFAULT_POLICY.stress);
      expect(outcome.results.filter((r) => r.status !== "pass").map((r) => `${r.id}: ${r.message}`)).toEqual([]);
      expect(outcome.survived).toBe(true);
      expect(outcome.lastStep).toBe(STEPS);

      // Bit for bit the curve of a run nobody interrupted.
      const whole = join(tmp.dir(), "whole.jsonl");
      const r = spawnSync(process.execPath, [TRAINER], { env: { PATH: process.env["PATH"] ?? "", WINDTUNNEL_STEPS: String(STEPS), WINDTUNNEL_LOG_EVERY: "10", WINDTUNNEL_METRICS: whole }, encoding: "utf8", timeout: T });
      expect(r.status, r.stderr).toBe(0);
      const strip = (ps: readonly MetricPoint[]): unknown[] => ps.map(({ step, loss, grad_norm, lr, val_loss, val_bpb }) => ({ step, loss, grad_norm, lr, val_loss, val_bpb }));
      expect(strip(joined[0]?.points ?? [])).toEqual(strip(pointsOf("whole.jsonl", readFileSync(whole, "utf8"))));
    }, 3 * T);
  });
}
