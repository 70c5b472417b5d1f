// The rehearsal's loop, on the simulated clock: read what the nodes wrote and called, play the
// scenario's cues, power off the nodes whose time has come, run one real watchdog tick; until a
// teardown, every node has ended (then one tick more), or time runs out. Nothing here judges:
// the tick and its gates do.
import { existsSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { TerminateInstancesCommand } from "@aws-sdk/client-ec2";
import { METRICS_SUFFIX, nodeName } from "../campaign/layout.ts";
import { tick, type Clients, type TickTarget } from "../watchdog/tick.ts";
import { getBytes } from "../watchdog/bucket.ts";
import type { SimClock } from "./clock.ts";
import { callsOf, localEvents, type RunningNode } from "./node.ts";
import { endedText, everyNodeDone, type Seen } from "./outcome.ts";
import type { NodeOutcome } from "./rehearse.ts";
import type { Scenario } from "./scenario.ts";
import { eventFacts, eventText, pastHoursCap, shutdownDelayMinutes, spotNotice, spotReclaimMs } from "./scenario.ts";

export type Say = (source: string, text: string, at?: number) => void;
type EndedBy = NonNullable<NodeOutcome["endedBy"]>;

export interface LoopInput {
  scenario: Scenario;
  stage: "sanity" | "full";
  minutesPerSecond: number;
  timeoutS: number;
  /** Real ms the rehearsal started at (its timeout counts from there). */
  started: number;
  /** The stack's hours cap: the loop stops a day past it. */
  hoursCap: number;
  /** The folder of the nodes' folders. */
  work: string;
  clients: Clients;
  bucket: string;
  target: TickTarget;
  clock: SimClock;
  say: Say;
  running: RunningNode[];
  /** One per node, by rank; the loop records how each ended. */
  outcomes: NodeOutcome[];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const wroteMetrics = (out: string): boolean => existsSync(out) && readdirSync(out).some((f) => f.endsWith(METRICS_SUFFIX) && statSync(join(out, f)).size > 0);

export async function runLoop(x: LoopInput): Promise<Seen> {
  const { clock, say, running, outcomes } = x;
  const count = outcomes.length;
  const seenEvents = outcomes.map(() => 0);
  const seenCalls = outcomes.map(() => 0);
  const powerOff: (number | undefined)[] = outcomes.map(() => undefined);
  const powerWhy: NodeOutcome["endedBy"][] = outcomes.map(() => undefined);
  const ended = (i: number): boolean => outcomes[i]?.endedAt !== undefined;
  const end = async (i: number, by: EndedBy, terminate: boolean, at = clock.minute()): Promise<void> => {
    const n = outcomes[i];
    if (!n || n.endedAt !== undefined) return;
    if (terminate) await x.clients.ec2.send(new TerminateInstancesCommand({ InstanceIds: [n.instanceId] }));
    running[i]?.kill();
    n.endedAt = at;
    n.endedBy = by;
    say("rehearsal", `${n.node} (${n.instanceId}) ${endedText(by)}`, at);
  };
  const seen: Seen = { ticks: 0, decisions: [], lastState: undefined, problems: [], alerts: [], teardown: undefined, sanityJudged: false, timedOut: false };
  let spotSent = false;
  let jumped = false;
  const period = Math.max(100, (2 / x.minutesPerSecond) * 1000);
  const limitMin = x.hoursCap * 60 + 24 * 60;
  let finalTick = false;
  for (;;) {
    // What the nodes wrote and called since the last look.
    for (let i = 0; i < count; i++) {
      const node = running[i];
      const name = nodeName(i);
      if (!node) continue;
      const outcome = outcomes[i];
      const events = localEvents(node.out);
      for (const e of events.slice(seenEvents[i])) {
        say(name, eventText(e), e.time ? clock.minute(Date.parse(e.time)) : clock.minute());
        if (outcome) Object.assign(outcome, eventFacts(e));
      }
      seenEvents[i] = events.length;
      const calls = callsOf(join(x.work, name));
      for (const call of calls.slice(seenCalls[i])) {
        const delay = shutdownDelayMinutes(call);
        if (delay === undefined) continue;
        if (x.scenario === "hours-cap") {
          say(name, `shutdown ${call.slice(1).join(" ")}: ignored (hours-cap: the node's own timers do not fire)`);
          continue;
        }
        const at = clock.now() + delay * 60_000;
        // A later shutdown replaces the one scheduled before, as shutdown(8) does.
        powerOff[i] = at;
        powerWhy[i] = "power-off";
        say(name, `shutdown ${call.slice(1).join(" ")}: the instance terminates at minute ${clock.minute(at)}`);
      }
      seenCalls[i] = calls.length;
    }
    // Scenario cues that depend on what has happened.
    // Mid-run: once node-0's first run has written metrics.
    if (x.scenario === "spot" && !spotSent && running[0] && wroteMetrics(running[0].out)) {
      writeFileSync(join(running[0].state, "spot-notice"), spotNotice(clock.now()));
      spotSent = true;
      const reclaim = spotReclaimMs(clock.now(), x.minutesPerSecond);
      powerOff[0] = Math.min(powerOff[0] ?? Infinity, reclaim);
      powerWhy[0] = "spot reclaim";
      say("rehearsal", `IMDS serves node-0 a spot notice: AWS reclaims it at minute ${clock.minute(reclaim)}`);
    }
    // Once the watchdog knows every node is done (so the dead-man switch rests), as a node whose power-off never came.
    if (x.scenario === "hours-cap" && !jumped && seen.lastState && everyNodeDone(seen.lastState, outcomes)) {
      const past = pastHoursCap(x.target.config.hoursCap, x.target.config.policy.health.hours_cap_grace_minutes);
      clock.jumpTo(past);
      jumped = true;
      say("rehearsal", `every node is done but none powered off: the clock jumps to minute ${past.toFixed(0)}, past the ${x.target.config.hoursCap} h cap`);
    }
    for (let i = 0; i < count; i++) {
      const at = powerOff[i];
      if (at !== undefined && at <= clock.now() && !ended(i)) await end(i, powerWhy[i] ?? "power-off", true);
    }

    const now = new Date(clock.now());
    const r = await tick(x.clients, x.target, now);
    seen.ticks++;
    seen.lastState = r.decision.state;
    seen.problems = [...seen.problems, ...r.problems];
    const d = r.decision;
    const at = clock.minute(now.getTime());
    // The table shows a tick when its action changes; the JSON has every one.
    if (d.action !== seen.decisions.at(-1)?.action && d.action !== "teardown") say("watchdog", `tick ${seen.ticks}: ${d.action}`, at);
    seen.decisions.push({ minute: at, action: d.action, reasons: d.reasons, alerts: d.alerts });
    for (const a of d.alerts) {
      seen.alerts.push(a);
      say("watchdog", `alert: ${a}`, at);
    }
    if (!seen.sanityJudged && x.stage === "sanity" && everyNodeDone(d.state, outcomes)) seen.sanityJudged = true;
    if (d.action === "teardown") {
      say("watchdog", `tick ${seen.ticks}: teardown: ${d.reasons.join("; ")}`, at);
      const raw = r.recordKey ? await getBytes(x.clients.s3, x.bucket, r.recordKey) : undefined;
      const record: unknown = raw ? JSON.parse(Buffer.from(raw).toString("utf8")) : null;
      seen.teardown = { minute: at, reasons: d.reasons, gates: d.failed, record };
      for (let i = 0; i < count; i++) if (r.terminated.includes(outcomes[i]?.instanceId ?? "")) await end(i, "watchdog", false, at);
      say("watchdog", `teardown record s3://${x.bucket}/${r.recordKey}: terminated ${r.terminated.join(", ") || "nothing (no instance was up)"}, cost so far ${d.costSoFarUsd === null ? "unknown" : `$${d.costSoFarUsd}`}`, at);
      break;
    }
    if (finalTick) break;
    if (outcomes.every((n) => n.endedAt !== undefined) && running.every((n) => !n.alive())) finalTick = true;
    if (clock.minute() > limitMin || Date.now() - x.started > x.timeoutS * 1000) {
      seen.timedOut = Date.now() - x.started > x.timeoutS * 1000;
      say("rehearsal", seen.timedOut ? `gave up after ${x.timeoutS} real seconds` : `stopped at minute ${clock.minute()}, a day past the hours cap`);
      break;
    }
    await sleep(period);
  }
  for (let i = 0; i < count; i++) if (!ended(i)) await end(i, "rehearsal end", false);
  await Promise.all(running.map((n) => Promise.race([n.exited, sleep(3000)])));
  return seen;
}
