// The watchdog's decision, pure and composition only: given what it knew after the last tick, what
// arrived since, the time and whether the campaign's nodes are up, it feeds the shared gates and
// returns continue | alert | teardown with reasons, and the state to keep. The gates: the stress
// monitors (non-finite, divergence, grad-norm blowup) on every run, the verify gate against the
// envelope in stage full, the sanity gates once every node's runs are done, and the health gates
// (dead-man switch and exit status per node, the hours cap). A spot interruption is not a divergence.
import type { MetricPoint } from "../evidence/schemas.ts";
import type { WatchdogConfig } from "../campaign/watchdog-config.ts";
import { CurveMonitor, type MonitorSnapshot } from "../gates/stress.ts";
import { EnvelopeMonitor, type EnvelopeSnapshot, type VerifyEnvelope } from "../gates/verify.ts";
import { comparisonLoss, evaluateSanityNodes, groupSanityRuns, sanityNodeOf, type SanitySource } from "../gates/sanity.ts";
import { healthGates, nodeNames, type NodeFacts } from "../gates/health.ts";
import { attemptOfKey, nodeOfKey, runIdOfKey, runOfKey } from "../campaign/layout.ts";
import { continueRun, inAttemptOrder } from "../campaign/attempts.ts";
import { currentAttempt, decideRecovery, trackAttempts, type InstanceFact, type RecoveryDecision, type RecoveryState } from "./recovery.ts";
import { spentUsd, type AttemptMarket } from "../campaign/attempt-ledger.ts";
import type { GateResult } from "../gates/types.ts";
import type { Replay } from "./resume.ts";
import { round } from "../common/format.ts";

/** The watchdog's config: the campaign contract's schema (src/campaign/watchdog-config.ts), which the stack and the handler both check. */
export type { WatchdogConfig } from "../campaign/watchdog-config.ts";

export interface NodeEvent {
  time?: string;
  instance_id?: string;
  node_rank?: number;
  event: string;
  detail?: unknown;
  /** The bucket object it was read from (its node-<rank> folder names the node). */
  key?: string;
}

interface RunState {
  /** The latest attempt whose points this run has read (absent: the first). */
  attempt?: number;
  monitor: MonitorSnapshot;
  verify?: EnvelopeSnapshot;
  points: number;
  last?: MetricPoint;
}

export interface WatchdogState {
  version: 1;
  firstTickAt: string;
  ticks: number;
  /** When the tick that wrote this state ran: what the state says is as of then (the report's "so far"). */
  lastTickAt?: string;
  /** Bytes of each object already read (only complete lines), and the next line's number. */
  cursors: Record<string, { bytes: number; line: number }>;
  runs: Record<string, RunState>;
  /**
   * Stage sanity: every run's points, compact ([step, loss, tokens, time_s]), for the sanity
   * gates; keyed by metrics object, then tag, so each node's runs are judged on their own.
   */
  sanity?: Record<string, Record<string, [number, number, number | null, number | null][]>>;
  /** What the health gates know of each node (node-<rank>). */
  nodes: Record<string, NodeFacts>;
  /** Alerts already sent, by key, so each is sent once. */
  alerted: string[];
  teardown?: { at: string; reasons: string[] };
  /** Spot recovery: every attempt of the node, and launches AWS refused (recovery.ts). */
  recovery?: RecoveryState;
}

export interface TickInput {
  config: WatchdogConfig;
  /** As resumeRuns (resume.ts) left it: a run whose monitors the gates refuse is not in it. */
  state: WatchdogState | undefined;
  now: Date;
  /** Earliest launch time of the campaign's live instances; undefined when none is up. */
  launchedAt: Date | undefined;
  /** New points, per metrics object. */
  batches: readonly { key: string; points: readonly MetricPoint[] }[];
  events: readonly NodeEvent[];
  /** Runs whose saved monitors were refused: their batches are their whole objects again. */
  replays?: readonly Replay[];
  /** The campaign's instances, live or gone (for spot recovery). */
  instances?: readonly InstanceFact[];
}

export type Action = "continue" | "alert" | "teardown";

export interface Decision {
  action: Action;
  reasons: string[];
  /** Alert texts to send now (each once). */
  alerts: string[];
  state: WatchdogState;
  /** The gates that decided a teardown, for the record. */
  failed: GateResult[];
  costSoFarUsd: number | null;
  /** A replacement to launch now (the tick launches it and records the attempt). */
  relaunch?: Extract<RecoveryDecision, { action: "relaunch" }>;
}

const minutes = (a: Date, b: Date): number => (a.getTime() - b.getTime()) / 60_000;

export function initialState(now: Date): WatchdogState {
  return { version: 1, firstTickAt: now.toISOString(), ticks: 0, cursors: {}, runs: {}, nodes: {}, alerted: [] };
}

/** A status from a node_done detail: a whole number, else undefined (not reported). */
const statusOf = (detail: unknown): number | undefined => {
  const s = detail !== null && typeof detail === "object" ? (detail as Record<string, unknown>)["status"] : undefined;
  return typeof s === "number" && Number.isInteger(s) ? s : undefined;
};

/** Feed the new points to each run's stress and verify monitors; the failures that decide a teardown, and runs below the band (alerts). */
function judgeRuns(config: WatchdogConfig, state: WatchdogState, batches: TickInput["batches"], replays: readonly Replay[], now: Date): { failed: GateResult[]; reasons: string[]; below: { name: string; gate: GateResult }[] } {
  const failed: GateResult[] = [];
  const reasons: string[] = [];
  const below: { name: string; gate: GateResult }[] = [];
  // A replayed point was seen before the replay: it says nothing of whether the node is alive now.
  const newFrom = new Map(replays.map((r) => [r.key, r.fromLine]));
  for (const b of inAttemptOrder(batches)) {
    const name = runOfKey(b.key);
    // One run across its attempts (campaign/attempts.ts): a replacement carries on the first
    // attempt's monitors, and a step the old node had already logged is not counted twice.
    const run = state.runs[runIdOfKey(b.key)];
    const { id, attempt, points: fresh } = continueRun(run, b.key, b.points);
    const monitor = run ? CurveMonitor.restore(name, config.policy.stress, run.monitor) : new CurveMonitor(name, config.policy.stress);
    const env = config.stage === "full" ? config.envelope : undefined;
    const verify = env ? (run?.verify ? EnvelopeMonitor.restore(name, env, config.policy.verify, run.verify) : new EnvelopeMonitor(name, env, config.policy.verify)) : undefined;
    for (const p of fresh) {
      monitor.push(p);
      verify?.push(p);
      if (config.stage === "sanity") {
        const byTag = ((state.sanity ??= {})[b.key] ??= {});
        (byTag[p.tag ?? name] ??= []).push([p.step, comparisonLoss(p), p.tokens ?? null, p.time_s ?? null]);
      }
    }
    const last = fresh.length > 0 ? fresh[fresh.length - 1] : run?.last;
    state.runs[id] = { ...(attempt > 1 ? { attempt } : {}), monitor: monitor.snapshot(), ...(verify ? { verify: verify.snapshot() } : {}), points: (run?.points ?? 0) + fresh.length, ...(last ? { last } : {}) };
    const from = newFrom.get(b.key) ?? 0;
    if (b.points.some((p) => p.line >= from)) (state.nodes[nodeOfKey(b.key)] ??= {}).lastPointAt = now.toISOString();
    const health = monitor.decisiveFailure();
    if (health) {
      failed.push(health);
      reasons.push(`${name}: ${health.id}${health.step !== undefined ? ` at step ${health.step}` : ""}: ${health.message}`);
    }
    if (verify?.failed) {
      const g = verify.finish();
      failed.push(g);
      reasons.push(`${name}: ${g.id} at step ${g.step}: ${g.message}`);
    } else if (verify?.below) below.push({ name, gate: verify.finish() });
  }
  return { failed, reasons, below };
}

/** What the nodes said (done, with a status; a spot notice), kept per node. */
function recordEvents(state: WatchdogState, events: readonly NodeEvent[], now: Date): void {
  for (const e of events) {
    const facts = (state.nodes[nodeOfKey(e.key, e.node_rank)] ??= {});
    if (e.event === "spot_interruption") facts.interruptedAt ??= e.time ?? now.toISOString();
    if (e.event === "node_done" && facts.doneAt === undefined) {
      facts.doneAt = e.time ?? now.toISOString();
      const status = statusOf(e.detail);
      // A node_done that says no status is taken as a failure: the script always writes one.
      facts.status = status ?? 1;
    }
  }
}

/** The sanity day, judged once every node of the stage has reported its runs done. */
function judgeSanity(config: WatchdogConfig, state: WatchdogState): { failed: GateResult[]; reasons: string[] } {
  const failed: GateResult[] = [];
  const reasons: string[] = [];
  const done = nodeNames(config.nodes, state.nodes).every((n) => state.nodes[n]?.doneAt !== undefined);
  if (config.stage !== "sanity" || !done || !state.sanity) return { failed, reasons };
  // A node AWS reclaimed skipped its later runs: its day is incomplete, not failed (the spot
  // alert says so); judging it would tear down for "no fp8 run" what AWS is taking anyway.
  if (Object.values(state.nodes).some((f) => f.interruptedAt !== undefined)) return { failed, reasons };
  const sources: SanitySource[] = Object.entries(state.sanity).flatMap(([key, byTag]) =>
    Object.entries(byTag).map(([tag, pts]) => ({ name: key, node: sanityNodeOf(key), defaultTag: tag, points: pts.map(([step, loss, tokens, time_s]) => ({ step, loss, tag, ...(tokens !== null ? { tokens } : {}), ...(time_s !== null ? { time_s } : {}) })) })),
  );
  const grouped = groupSanityRuns(sources);
  // The same tag in two objects of one node: neither can be taken as the sanity day's run.
  for (const d of grouped.duplicates) reasons.push(`sanity day: ${d.node} has more than one run tagged ${JSON.stringify(d.tag)} (${d.sources.join(", ")}); it cannot be judged`);
  for (const g of evaluateSanityNodes(grouped.nodes, config.policy.sanity).filter((x) => x.status === "fail")) {
    failed.push(g);
    reasons.push(`sanity day: ${g.id} (${g.subject}): ${g.message}`);
  }
  return { failed, reasons };
}

export function decide(i: TickInput): Decision {
  const { config, now } = i;
  let state: WatchdogState = i.state ? structuredClone(i.state) : initialState(now);
  state.nodes ??= {};
  // A node launched after the last teardown is a new run of this stage: start over.
  if (state.teardown && i.launchedAt && i.launchedAt.getTime() > Date.parse(state.teardown.at)) state = initialState(now);
  state.ticks++;
  state.lastTickAt = now.toISOString();
  // Every attempt counts against the hours cap and the bill: a replacement never resets them.
  const recovering = config.recovery !== undefined && i.instances !== undefined;
  if (recovering) {
    const prices = { spot: config.hourlyUsd, ...(config.recovery?.fallback ? { onDemand: config.recovery.fallback.hourlyUsd } : {}) };
    state.recovery = trackAttempts(state.recovery ?? { attempts: [], refusals: 0 }, i.instances ?? [], i.events.filter((e) => e.event === "spot_interruption").map((e) => ({ ...(e.instance_id !== undefined ? { instanceId: e.instance_id } : {}), at: e.time ?? now.toISOString() })), now, prices);
    recordExits(state.recovery, i.events);
  }
  const current = state.recovery ? currentAttempt(state.recovery) : undefined;
  const prior = state.recovery ? state.recovery.attempts.filter((a) => a !== current) : [];
  const priorMinutes = prior.reduce((m, a) => m + Math.max(0, minutes(a.endedAt ? new Date(a.endedAt) : now, new Date(a.launchedAt))), 0);
  const launchedAt = current && !current.endedAt ? new Date(current.launchedAt) : i.launchedAt;
  // Each attempt at its own price: an on-demand replacement (recovery.fallbackAfter) costs more an hour.
  const liveHourlyUsd = current && !current.endedAt ? (current.hourlyUsd ?? config.hourlyUsd) : config.hourlyUsd;
  const costSoFarUsd = launchedAt || priorMinutes > 0 ? round((((launchedAt ? minutes(now, launchedAt) : 0) / 60) * liveHourlyUsd + spentUsd(prior, now, config.hourlyUsd)) * config.nodes, 2) : null;
  const done = (action: Action, reasons: string[], alerts: string[] = [], failed: GateResult[] = []): Decision => ({ action, reasons, alerts, state, failed, costSoFarUsd });
  if (state.teardown) return done("continue", [`already torn down at ${state.teardown.at}: ${state.teardown.reasons.join("; ")}`]);

  const replays = i.replays ?? [];
  const runs = judgeRuns(config, state, i.batches, replays, now);
  recordEvents(state, i.events, now);
  const sanity = judgeSanity(config, state);
  const health = healthGates({ now, launchedAt, priorMinutes, stage: config.stage, nodes: config.nodes, hoursCap: config.hoursCap, facts: state.nodes, policy: config.policy.health });
  const healthFailed = health.gates.filter((g) => g.status === "fail");

  const failed = [...runs.failed, ...sanity.failed, ...healthFailed];
  const reasons = [...runs.reasons, ...sanity.reasons, ...healthFailed.map((g) => g.message)];
  const alerts: string[] = [];
  const alertOnce = (key: string, text: string): void => {
    if (state.alerted.includes(key)) return;
    state.alerted.push(key);
    alerts.push(text);
  };
  for (const { name, gate } of runs.below) alertOnce(`below:${name}`, `${name}: ${gate.id} at step ${gate.step}: ${gate.message}; the node keeps running (verify.below_action: alert)`);
  for (const [node, f] of Object.entries(state.nodes)) if (f.interruptedAt) alertOnce(`interrupted:${node}:${f.interruptedAt}`, `spot interruption of ${node} at ${f.interruptedAt}: the node is reclaimed by AWS (not a divergence); the last checkpoint is in the bucket`);
  for (const a of health.alerts) alertOnce(a.key, a.text);
  // Each replay is news once, when it happens: the next tick resumes the state this one saves.
  for (const r of replays) alerts.push(`${runOfKey(r.key)}: its saved monitor state was refused (${r.reason}); its monitors start afresh from the whole curve in the bucket (${r.key}, read again from line 1), so this run is judged as if the watchdog had just started`);

  const recovery = recovering ? recover(config, state, now, reasons.length > 0) : undefined;
  if (recovery?.action === "give-up") reasons.push(`spot recovery gives up: ${recovery.why}; nothing is left running`);
  if (reasons.length > 0) {
    state.teardown = { at: now.toISOString(), reasons };
    return done("teardown", reasons, alerts, failed);
  }
  if (recovery?.action === "relaunch") return { ...done("alert", [], [...alerts, `relaunching: ${recovery.why}`], failed), relaunch: recovery };
  if (recovery?.action === "wait") alertOnce(`recovery-wait:${state.recovery?.lastRefusalAt ?? ""}`, `spot recovery: ${recovery.why}`);
  return done(alerts.length > 0 ? "alert" : "continue", [], alerts, failed);
}

/** Spot recovery's decision for this tick (recovery.ts), from what the tick knows of the node. */
function recover(config: WatchdogConfig, state: WatchdogState, now: Date, tornDown: boolean): RecoveryDecision {
  const r = config.recovery;
  if (!r || !state.recovery) return { action: "none" };
  // The node said it is done (any status): it ended on its own, there is nothing to resume.
  const endedOnItsOwn = Object.values(state.nodes).some((f) => f.doneAt !== undefined && f.interruptedAt === undefined);
  return decideRecovery({ policy: r, state: state.recovery, now, nodes: config.nodes, hoursCap: config.hoursCap, plannedHours: r.plannedHours, hourlyUsd: config.hourlyUsd, budgetUsd: r.budgetUsd, endedOnItsOwn, tornDown });
}

/** Each attempt's own node_done status, by the attempt folder its events came from (for how it ended, in watch and the report). */
function recordExits(r: RecoveryState, events: readonly NodeEvent[]): void {
  for (const e of events) {
    if (e.event !== "node_done") continue;
    const a = r.attempts.find((x) => x.attempt === attemptOfKey(e.key ?? ""));
    if (a) a.exitStatus ??= statusOf(e.detail) ?? 1;
  }
}

/** A replacement is up: its attempt joins the record, with its market and price, and the node's facts start again with it. */
export function recordRelaunch(state: WatchdogState, a: { attempt: number; instanceId: string; subnet?: string; launchedAt: string; market: AttemptMarket; hourlyUsd: number }): void {
  const r = (state.recovery ??= { attempts: [], refusals: 0 });
  r.attempts.push({ attempt: a.attempt, instanceId: a.instanceId, launchedAt: a.launchedAt, ...(a.subnet !== undefined ? { subnet: a.subnet } : {}), market: a.market, hourlyUsd: a.hourlyUsd });
  r.refusals = 0;
  delete r.lastRefusalAt;
  // Its health is judged from its own launch: first metrics, exit status, no interruption yet.
  state.nodes = {};
}

/** AWS refused the launch (no capacity, a limit): the next try waits, in the next subnet. */
export function recordRefusal(state: WatchdogState, now: Date): void {
  const r = (state.recovery ??= { attempts: [], refusals: 0 });
  r.refusals++;
  r.lastRefusalAt = now.toISOString();
}
