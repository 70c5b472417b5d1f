// `windtunnel rehearse`, the shell: Phase 3 on this machine before any money is spent. The stack's
// own program renders the node's user data (as `windtunnel plan` does); moto_server plays AWS
// (bucket, topic, one tagged instance per node); bash runs the script with the stand-ins; the real
// watchdog tick runs on a compressed clock. Nothing here judges: the tick and its gates do.
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { EC2Client, RunInstancesCommand, TerminateInstancesCommand, type _InstanceType } from "@aws-sdk/client-ec2";
import { CreateTopicCommand, SNSClient } from "@aws-sdk/client-sns";
import { readStackFile, type StackFile } from "../infra/stack-file.ts";
import { planProgram, type Plan } from "../infra/preview.ts";
import { renderUserData, shq } from "../infra/user-data.ts";
import type { RenderOptions, UserDataInput } from "../infra/user-data-input.ts";
import type { StackConfig } from "../infra/config.ts";
import { hardStopMinutes, stageRuns } from "../infra/stage-script.ts";
import { efaCards } from "../infra/instance-types.ts";
import { campaignPrefix, campaignTags, METRICS_SUFFIX, nodeName, watchdogConfigKey } from "../campaign/layout.ts";
import { loadTarget } from "../watchdog/handler.ts";
import { tick, type TickTarget } from "../watchdog/tick.ts";
import { getBytes } from "../watchdog/bucket.ts";
import type { GateResult } from "../gates/types.ts";
import { startMoto, type MotoServer } from "./moto-server.ts";
import { spawnNode, callsOf, localEvents, type RunningNode } from "./node.ts";
import { standInsDir } from "./stand-ins.ts";

export const SCENARIOS = ["healthy", "diverge", "nan", "silent", "fail", "spot", "hours-cap"] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface RehearseOptions {
  stackFile: string;
  stage?: "sanity" | "full";
  scenario: Scenario;
  steps?: number;
  /** Replaces every command of the stage (the runs keep their names). */
  command?: string;
  /** Simulated minutes per real second. */
  minutesPerSecond: number;
  /** Give up after this many real seconds (the nodes are killed, the rehearsal reports what it saw). */
  timeoutS: number;
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
  /** Stack config keys to replace (e.g. the evidence's paths, as `plan --evidence-dir` does). */
  overrides?: Record<string, unknown>;
  /** Copy each node's out folder (its metrics and events) to <saveOutputs>/node-<rank>/ (e.g. the sanity day, for stage full). */
  saveOutputs?: string;
}

export interface TimelineEntry {
  /** Simulated minutes since launch. */
  minute: number;
  source: string;
  text: string;
}

export interface NodeOutcome {
  node: string;
  instanceId: string;
  /** node_done's status, when the node said it. */
  status?: number;
  spotNotice: boolean;
  /** Simulated minute the instance ended, and why. */
  endedAt?: number;
  endedBy?: "power-off" | "spot reclaim" | "watchdog" | "rehearsal end";
}

export interface Rehearsal {
  stack: string;
  stage: "sanity" | "full";
  scenario: Scenario;
  campaign: string;
  minutesPerSecond: number;
  wallMs: number;
  simulatedMinutes: number;
  timeline: TimelineEntry[];
  ticks: number;
  /** Every tick's decision, in order. */
  decisions: { minute: number; action: string; reasons: string[]; alerts: string[] }[];
  nodes: NodeOutcome[];
  /** What the watchdog read: points per metrics object, and lines it could not read. */
  metrics: { key: string; points: number }[];
  problems: string[];
  alerts: string[];
  teardown?: { minute: number; reasons: string[]; gates: GateResult[]; record: unknown };
  /** Stage sanity: what the sanity gates decided once every node was done (undefined: never judged). */
  sanity?: { judged: boolean; failed: GateResult[] };
  costUsd: number;
  hourlyUsd: number;
  timedOut: boolean;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const wroteMetrics = (out: string): boolean => existsSync(out) && readdirSync(out).some((f) => f.endsWith(METRICS_SUFFIX) && statSync(join(out, f)).size > 0);

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
  if (bucket === undefined || instances.length !== c.node.count) throw new Error(`the program rendered ${instances.length} instances for ${c.node.count} nodes`);
  return instances.map((r, rank) => {
    const rendered = String(r.inputs["userData"] ?? "");
    const master = rank > 0 ? /^MASTER_ADDR='([^']*)'$/m.exec(rendered)?.[1] : undefined;
    const input: UserDataInput = {
      campaign: c.campaign, stage, bucket, prefix: campaignPrefix(c.campaign), region, image: c.container.image, runs: stageRuns(c),
      hardStopMinutes: hardStopMinutes(c), metricsIntervalS: c.metricsIntervalS, rank, nodes: c.node.count, efa: c.node.count > 1 && efaCards(c.node.instanceType) > 0,
      target: c.target, verdictDigest: plan.outputs.verdictDigest, ...(master !== undefined ? { masterAddr: master } : {}),
    };
    // The rehearsal runs the stack's script: if our inputs do not reproduce it byte for byte, stop.
    if (renderUserData(input) !== rendered) throw new Error(`the user data of ${r.name} is not what the rehearsal reproduces from the stack; rehearse.ts must follow TrainingNode`);
    return { input, rendered };
  });
}

export async function rehearse(o: RehearseOptions): Promise<Rehearsal> {
  const over = { ...(o.overrides ?? {}), ...(o.stage !== undefined ? { "windtunnel:stage": o.stage } : {}) };
  const first = await readStackFile(o.stackFile, over);
  const s = await readStackFile(o.stackFile, { ...over, "windtunnel:container": wrappedContainer(first.config, o.command) });
  const c = s.config;
  if (c.stage === "plan") throw new (await import("../common/errors.ts")).UsageError(`${o.stackFile}: windtunnel:stage is plan, which boots no node; give --stage sanity or --stage full`);
  const stage = c.stage;
  const configName = relative(o.cwd, resolve(o.stackFile)) || o.stackFile;
  const plan = await planProgram({ stack: s.stack, config: s.encoded, baseDir: s.projectDir, configName, env: o.env });
  const nodes = nodeInputs(s, plan);
  const watchdogObject = plan.resources.find((r) => r.type === "aws:s3/bucketObjectv2:BucketObjectv2" && r.inputs["key"] === watchdogConfigKey(c.campaign, stage));
  if (!watchdogObject) throw new Error("the program wrote no watchdog config");

  const work = mkdtempSync(join(tmpdir(), "windtunnel-rehearse-"));
  let moto: MotoServer | undefined;
  const running: RunningNode[] = [];
  const started = Date.now();
  // The nodes run in their own process groups: a Ctrl-C must not leave them (or moto) behind.
  const interrupted = (): void => {
    for (const n of running) n.kill();
    moto?.stop();
    rmSync(work, { recursive: true, force: true });
    process.exit(130);
  };
  process.once("SIGINT", interrupted);
  process.once("SIGTERM", interrupted);
  try {
    moto = await startMoto();
    const aws = { endpoint: moto.endpoint, region: "us-east-1", credentials: { accessKeyId: "testing", secretAccessKey: "testing" } };
    const clients = { s3: new S3Client({ ...aws, forcePathStyle: true }), ec2: new EC2Client(aws), sns: new SNSClient(aws) };
    const bucket = nodes[0]?.input.bucket ?? "";
    await clients.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const topic = await clients.sns.send(new CreateTopicCommand({ Name: `wt-${c.campaign}-alerts` }));
    // The config the stack writes, with the topic moto made; read back as the Lambda reads it.
    const content = JSON.parse(String(watchdogObject.inputs["content"])) as Record<string, unknown>;
    const configKey = watchdogConfigKey(c.campaign, stage);
    await clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: configKey, Body: JSON.stringify({ ...content, topicArn: topic.TopicArn }) }));
    const target: TickTarget = await loadTarget(clients.s3, bucket, configKey);

    const ids: string[] = [];
    for (let rank = 0; rank < nodes.length; rank++) {
      const tags = { ...campaignTags(c.campaign, stage), "windtunnel:node-rank": String(rank) };
      const r = await clients.ec2.send(new RunInstancesCommand({ ImageId: "ami-12c6146b", MinCount: 1, MaxCount: 1, InstanceType: c.node.instanceType as _InstanceType, TagSpecifications: [{ ResourceType: "instance", Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }] }));
      ids.push(r.Instances?.[0]?.InstanceId ?? "");
    }
    const launched = Date.now();
    // The simulated clock: launch + real elapsed × rate, plus the jumps a scenario makes.
    let offsetMin = 0;
    const clockFile = join(work, "clock");
    const writeClock = (): void => writeFileSync(clockFile, `${launched} ${o.minutesPerSecond} ${offsetMin}\n`);
    writeClock();
    const simMs = (): number => launched + (Date.now() - launched) * o.minutesPerSecond * 60 + offsetMin * 60_000;
    const minute = (ms = simMs()): number => Number(((ms - launched) / 60_000).toFixed(1));
    const timeline: TimelineEntry[] = [];
    const say = (source: string, text: string, at = minute()): void => void timeline.push({ minute: at, source, text });
    say("rehearsal", `moto_server at ${moto.endpoint}; bucket ${bucket}, ${nodes.length} instance${nodes.length > 1 ? "s" : ""} tagged windtunnel:campaign=${c.campaign} (${ids.join(", ")}); scenario ${o.scenario}; ${o.minutesPerSecond} simulated min per second`);

    const opts = (): RenderOptions => ({
      spotPollS: 0.2, retryWaitsS: [0.1, 0.2, 0.4], awsConnectTimeoutS: 2, awsReadTimeoutS: 5, awsMaxAttempts: 2,
      // The node ships every metricsIntervalS simulated seconds, but no faster than the aws CLI can.
      metricsIntervalS: Math.max(0.5, c.metricsIntervalS / (60 * o.minutesPerSecond)),
    });
    const outcomes: NodeOutcome[] = [];
    nodes.forEach(({ input }, rank) => {
      const dir = join(work, nodeName(rank));
      // The fault goes into node-0; the other nodes run as the stack says.
      const fault = rank === 0 && ["diverge", "nan", "silent", "fail"].includes(o.scenario) ? o.scenario : "healthy";
      const script = renderUserData(input, { ...opts(), logFile: join(dir, "windtunnel.log"), outDir: join(dir, "out") });
      running.push(spawnNode({ dir, script, endpoint: moto!.endpoint, instanceId: ids[rank] ?? "", clockFile, cwd: o.cwd, env: o.env, cues: { STUB_REHEARSE_FAULT: fault, ...(o.steps !== undefined ? { STUB_REHEARSE_STEPS: String(o.steps) } : {}) } }));
      outcomes.push({ node: nodeName(rank), instanceId: ids[rank] ?? "", spotNotice: false });
    });

    const seenEvents = nodes.map(() => 0);
    const seenCalls = nodes.map(() => 0);
    const powerOff: (number | undefined)[] = nodes.map(() => undefined);
    const powerWhy: NodeOutcome["endedBy"][] = nodes.map(() => undefined);
    const ended = (i: number): boolean => outcomes[i]?.endedAt !== undefined;
    const end = async (i: number, by: NonNullable<NodeOutcome["endedBy"]>, terminate: boolean, at = minute()): Promise<void> => {
      const n = outcomes[i];
      if (!n || n.endedAt !== undefined) return;
      if (terminate) await clients.ec2.send(new TerminateInstancesCommand({ InstanceIds: [n.instanceId] }));
      running[i]?.kill();
      n.endedAt = at;
      n.endedBy = by;
      say("rehearsal", `${n.node} (${n.instanceId}) ${by === "watchdog" ? "terminated by the watchdog: its script is killed" : by === "rehearsal end" ? "still up when the rehearsal ended" : `terminated (${by})`}`, at);
    };
    let spotSent = false;
    let jumped = false;
    let teardown: Rehearsal["teardown"];
    const alerts: string[] = [];
    let lastState: Awaited<ReturnType<typeof tick>>["decision"]["state"] | undefined;
    let problems: string[] = [];
    let ticks = 0;
    const decisions: Rehearsal["decisions"] = [];
    let sanityJudged = false;
    let timedOut = false;
    const period = Math.max(100, (2 / o.minutesPerSecond) * 1000);
    const limitMin = c.hoursCap * 60 + 24 * 60;
    let finalTick = false;
    for (;;) {
      // What the nodes wrote and called since the last look.
      for (let i = 0; i < nodes.length; i++) {
        const node = running[i];
        const name = nodeName(i);
        if (!node) continue;
        const outcome = outcomes[i];
        const events = localEvents(node.out);
        for (const e of events.slice(seenEvents[i])) {
          const at = e.time ? minute(Date.parse(e.time)) : minute();
          say(name, `${e.event}${e.detail !== undefined && e.detail !== null ? ` ${JSON.stringify(e.detail)}` : ""}`, at);
          if (e.event === "node_done") {
            const d = e.detail as { status?: unknown } | null;
            if (outcome && typeof d?.status === "number") outcome.status = d.status;
          }
          if (e.event === "spot_interruption" && outcome) outcome.spotNotice = true;
        }
        seenEvents[i] = events.length;
        const calls = callsOf(join(work, name));
        for (const call of calls.slice(seenCalls[i]).filter((x) => x[0] === "shutdown")) {
          const m = /^\+(\d+)$/.exec(call.find((a) => a.startsWith("+")) ?? "");
          if (!m) continue;
          if (o.scenario === "hours-cap") {
            say(name, `shutdown ${call.slice(1).join(" ")}: ignored (hours-cap: the node's own timers do not fire)`);
            continue;
          }
          const at = simMs() + Number(m[1]) * 60_000;
          // A later shutdown replaces the one scheduled before, as shutdown(8) does.
          powerOff[i] = at;
          powerWhy[i] = "power-off";
          say(name, `shutdown ${call.slice(1).join(" ")}: the instance terminates at minute ${minute(at)}`);
        }
        seenCalls[i] = calls.length;
      }
      // Scenario cues that depend on what has happened.
      // Mid-run: once node-0's first run has written metrics.
      if (o.scenario === "spot" && !spotSent && running[0] && wroteMetrics(running[0].out)) {
        writeFileSync(join(running[0].state, "spot-notice"), JSON.stringify({ action: "terminate", time: new Date(simMs() + 2 * 60_000).toISOString() }));
        spotSent = true;
        // AWS reclaims two minutes after the notice, but here never sooner than 5 real seconds:
        // the node's aws calls are not compressed (a ship takes ~1 s here as on AWS), and a
        // shorter deadline would judge the compression, not the script.
        const reclaim = simMs() + Math.max(2, 5 * o.minutesPerSecond) * 60_000;
        powerOff[0] = Math.min(powerOff[0] ?? Infinity, reclaim);
        powerWhy[0] = "spot reclaim";
        say("rehearsal", `IMDS serves node-0 a spot notice: AWS reclaims it at minute ${minute(reclaim)}`);
      }
      // Once the watchdog knows every node is done (so the dead-man switch rests), as a node whose power-off never came.
      if (o.scenario === "hours-cap" && !jumped && lastState && outcomes.every((n) => lastState?.nodes[n.node]?.doneAt !== undefined)) {
        const past = target.config.hoursCap * 60 + target.config.policy.health.hours_cap_grace_minutes + 5;
        offsetMin += past - minute();
        writeClock();
        jumped = true;
        say("rehearsal", `every node is done but none powered off: the clock jumps to minute ${past.toFixed(0)}, past the ${target.config.hoursCap} h cap`);
      }
      for (let i = 0; i < nodes.length; i++) {
        const at = powerOff[i];
        if (at !== undefined && at <= simMs() && !ended(i)) await end(i, powerWhy[i] ?? "power-off", true);
      }

      const now = new Date(simMs());
      const r = await tick(clients, target, now);
      ticks++;
      lastState = r.decision.state;
      problems = [...problems, ...r.problems];
      const d = r.decision;
      const at = minute(now.getTime());
      // The table shows a tick when its action changes; the JSON has every one.
      if (d.action !== decisions.at(-1)?.action && d.action !== "teardown") say("watchdog", `tick ${ticks}: ${d.action}`, at);
      decisions.push({ minute: at, action: d.action, reasons: d.reasons, alerts: d.alerts });
      for (const a of d.alerts) {
        alerts.push(a);
        say("watchdog", `alert: ${a}`, at);
      }
      if (!sanityJudged && stage === "sanity" && outcomes.every((_, i) => d.state.nodes[nodeName(i)]?.doneAt !== undefined)) sanityJudged = true;
      if (d.action === "teardown") {
        say("watchdog", `tick ${ticks}: teardown: ${d.reasons.join("; ")}`, at);
        const raw = r.recordKey ? await getBytes(clients.s3, bucket, r.recordKey) : undefined;
        const record: unknown = raw ? JSON.parse(Buffer.from(raw).toString("utf8")) : null;
        teardown = { minute: at, reasons: d.reasons, gates: d.failed, record };
        for (let i = 0; i < nodes.length; i++) if (r.terminated.includes(outcomes[i]?.instanceId ?? "")) await end(i, "watchdog", false, at);
        say("watchdog", `teardown record s3://${bucket}/${r.recordKey}: terminated ${r.terminated.join(", ") || "nothing (no instance was up)"}, cost so far ${d.costSoFarUsd === null ? "unknown" : `$${d.costSoFarUsd}`}`, at);
        break;
      }
      if (finalTick) break;
      if (outcomes.every((n) => n.endedAt !== undefined) && running.every((n) => !n.alive())) finalTick = true;
      if (minute() > limitMin || Date.now() - started > o.timeoutS * 1000) {
        timedOut = Date.now() - started > o.timeoutS * 1000;
        say("rehearsal", timedOut ? `gave up after ${o.timeoutS} real seconds` : `stopped at minute ${minute()}, a day past the hours cap`);
        break;
      }
      await sleep(period);
    }
    for (let i = 0; i < nodes.length; i++) if (!ended(i)) await end(i, "rehearsal end", false);
    await Promise.all(running.map((n) => Promise.race([n.exited, sleep(3000)])));
    if (o.saveOutputs !== undefined) {
      for (let rank = 0; rank < nodes.length; rank++) {
        const out = join(work, nodeName(rank), "out");
        if (existsSync(out)) cpSync(out, join(o.saveOutputs, nodeName(rank)), { recursive: true });
      }
    }
    const simulatedMinutes = minute();
    const upMinutes = outcomes.reduce((sum, n) => sum + (n.endedAt ?? simulatedMinutes), 0);
    // In stage sanity a node that ended with a non-zero status fails the day too (health.exit_status).
    const sanityFailed = (teardown?.gates ?? []).filter((g) => g.status === "fail" && (g.phase === "sanity" || (stage === "sanity" && g.id === "health.exit_status")));
    return {
      stack: s.stack, stage, scenario: o.scenario, campaign: c.campaign, minutesPerSecond: o.minutesPerSecond,
      wallMs: Date.now() - started, simulatedMinutes, timeline: timeline.sort((a, b) => a.minute - b.minute), ticks, decisions, nodes: outcomes,
      metrics: Object.entries(lastState?.runs ?? {}).map(([key, run]) => ({ key, points: run.points })),
      problems, alerts, ...(teardown ? { teardown } : {}),
      ...(stage === "sanity" ? { sanity: { judged: sanityJudged || sanityFailed.length > 0, failed: sanityFailed } } : {}),
      costUsd: Number(((upMinutes / 60) * c.node.hourlyUsd).toFixed(2)), hourlyUsd: c.node.hourlyUsd, timedOut,
    };
  } finally {
    process.off("SIGINT", interrupted);
    process.off("SIGTERM", interrupted);
    for (const n of running) n.kill();
    moto?.stop();
    // WINDTUNNEL_REHEARSE_KEEP=1 keeps the nodes' folders (logs, out, call logs) to look at.
    if (!o.env["WINDTUNNEL_REHEARSE_KEEP"]) rmSync(work, { recursive: true, force: true });
  }
}
