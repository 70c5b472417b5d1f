// `windtunnel rehearse`, the shell: Phase 3 on this machine before any money is spent. The stack's
// own program renders the node's user data, as `windtunnel plan` does, and moto_server plays AWS
// (setup.ts); bash runs the script with the stand-ins (node.ts); the real watchdog tick runs on a
// compressed clock (run-loop.ts, clock.ts). Nothing here judges: the tick and its gates do.
import { cpSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { renderUserData } from "../infra/user-data.ts";
import { nodeName } from "../campaign/layout.ts";
import type { GateResult } from "../gates/types.ts";
import { SimClock } from "./clock.ts";
import { startMoto, type MotoServer } from "./moto-server.ts";
import { spawnNode, type RunningNode } from "./node.ts";
import { rehearsalOf } from "./outcome.ts";
import { runLoop, type Say } from "./run-loop.ts";
import { faultOf } from "./scenario.ts";
import { nodeRenderOptions, planRehearsal, playAws } from "./setup.ts";

import type { Scenario } from "./scenario.ts";


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

export async function rehearse(o: RehearseOptions): Promise<Rehearsal> {
  const plan = await planRehearsal(o);
  const c = plan.stack.config;
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
    const { clients, bucket, target, ids } = await playAws(moto.endpoint, plan);
    const clock = new SimClock(join(work, "clock"), o.minutesPerSecond);
    const timeline: TimelineEntry[] = [];
    const say: Say = (source, text, at = clock.minute()) => void timeline.push({ minute: at, source, text });
    const count = plan.nodes.length;
    say("rehearsal", `moto_server at ${moto.endpoint}; bucket ${bucket}, ${count} instance${count > 1 ? "s" : ""} tagged windtunnel:campaign=${c.campaign} (${ids.join(", ")}); scenario ${o.scenario}; ${o.minutesPerSecond} simulated min per second`);

    const outcomes: NodeOutcome[] = [];
    const endpoint = moto.endpoint;
    // playAws launched one instance per node, in the plan's order.
    ids.forEach((instanceId, rank) => {
      const { input } = plan.nodes[rank] as (typeof plan.nodes)[number];
      const dir = join(work, nodeName(rank));
      const script = renderUserData(input, nodeRenderOptions(c.metricsIntervalS, o.minutesPerSecond, dir));
      // What the stand-ins act out on this node: the scenario's fault, and the trainer's steps when given.
      const cues = { STUB_REHEARSE_FAULT: faultOf(o.scenario, rank), ...(o.steps !== undefined ? { STUB_REHEARSE_STEPS: String(o.steps) } : {}) };
      running.push(spawnNode({ dir, script, endpoint, instanceId, clockFile: clock.file, cwd: o.cwd, env: o.env, cues }));
      outcomes.push({ node: nodeName(rank), instanceId, spotNotice: false });
    });

    const seen = await runLoop({ scenario: o.scenario, stage: plan.stage, minutesPerSecond: o.minutesPerSecond, timeoutS: o.timeoutS, started, hoursCap: c.hoursCap, work, clients, bucket, target, clock, say, running, outcomes });
    if (o.saveOutputs !== undefined) {
      for (let rank = 0; rank < count; rank++) {
        const out = join(work, nodeName(rank), "out");
        if (existsSync(out)) cpSync(out, join(o.saveOutputs, nodeName(rank)), { recursive: true });
      }
    }
    const simulatedMinutes = clock.minute();
    return rehearsalOf(
      { stack: plan.stack.stack, stage: plan.stage, scenario: o.scenario, campaign: c.campaign, minutesPerSecond: o.minutesPerSecond, wallMs: Date.now() - started, simulatedMinutes, timeline, nodes: outcomes, hourlyUsd: c.node.hourlyUsd },
      seen,
    );
  } finally {
    process.off("SIGINT", interrupted);
    process.off("SIGTERM", interrupted);
    for (const n of running) n.kill();
    moto?.stop();
    // WINDTUNNEL_REHEARSE_KEEP=1 keeps the nodes' folders (logs, out, call logs) to look at.
    if (!o.env["WINDTUNNEL_REHEARSE_KEEP"]) rmSync(work, { recursive: true, force: true });
  }
}
