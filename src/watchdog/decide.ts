// The watchdog's decision, pure: given what it knew after the last tick, what arrived since, the
// time and whether the campaign's nodes are up, return continue | alert | teardown with reasons,
// and the state to keep. The gates are the shared engine's: the stress monitors (non-finite,
// divergence, grad-norm blowup) on every run, the verify gate against the envelope in stage full,
// the sanity gates once the sanity day's runs are done. A spot interruption is not a divergence.
import type { MetricPoint } from "../evidence/schemas.ts";
import type { HealthPolicy, SanityPolicy, StressPolicy, VerifyPolicy } from "../policy/schema.ts";
import { CurveMonitor, type MonitorSnapshot } from "../gates/stress.ts";
import { EnvelopeMonitor, type VerifyEnvelope } from "../gates/verify.ts";
import { comparisonLoss, evaluateSanityNodes, groupSanityRuns, sanityNodeOf, type SanitySource } from "../gates/sanity.ts";
import type { GateResult } from "../gates/types.ts";

export interface WatchdogPolicy {
  stress: StressPolicy;
  verify: VerifyPolicy;
  sanity: SanityPolicy;
  health: HealthPolicy;
}

export interface WatchdogConfig {
  campaign: string;
  stage: "sanity" | "full";
  /** Hours a node may live in this stage (its own timer's setting). */
  hoursCap: number;
  hourlyUsd: number;
  nodes: number;
  policy: WatchdogPolicy;
  envelope?: VerifyEnvelope;
}

export interface NodeEvent {
  time?: string;
  instance_id?: string;
  event: string;
  detail?: unknown;
}

interface RunState {
  monitor: MonitorSnapshot;
  verify?: Record<string, unknown>;
  points: number;
  last?: MetricPoint;
}

export interface WatchdogState {
  version: 1;
  firstTickAt: string;
  ticks: number;
  /** Bytes of each object already read (only complete lines), and the next line's number. */
  cursors: Record<string, { bytes: number; line: number }>;
  runs: Record<string, RunState>;
  /**
   * Stage sanity: every run's points, compact ([step, loss, tokens, time_s]), for the sanity
   * gates; keyed by metrics object, then tag, so each node's runs are judged on their own.
   */
  sanity?: Record<string, Record<string, [number, number, number | null, number | null][]>>;
  lastNewPointAt?: string;
  /** Alerts already sent, by key, so each is sent once. */
  alerted: string[];
  interrupted?: { at: string; detail: unknown };
  nodeDone?: string;
  teardown?: { at: string; reasons: string[] };
}

export interface TickInput {
  config: WatchdogConfig;
  state: WatchdogState | undefined;
  now: Date;
  /** Earliest launch time of the campaign's live instances; undefined when none is up. */
  launchedAt: Date | undefined;
  /** New points, per metrics object. */
  batches: readonly { key: string; points: readonly MetricPoint[] }[];
  events: readonly NodeEvent[];
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
}

const minutes = (a: Date, b: Date): number => (a.getTime() - b.getTime()) / 60_000;

export function initialState(now: Date): WatchdogState {
  return { version: 1, firstTickAt: now.toISOString(), ticks: 0, cursors: {}, runs: {}, alerted: [] };
}

/** The run a metrics object holds: its file name without the extension. */
export const runName = (key: string): string => (key.split("/").pop() ?? key).replace(/\.metrics\.jsonl$|\.jsonl$/, "");

export function decide(i: TickInput): Decision {
  const { config, now } = i;
  const h = config.policy.health;
  let state: WatchdogState = i.state ? structuredClone(i.state) : initialState(now);
  // A node launched after the last teardown is a new run of this stage: start over.
  if (state.teardown && i.launchedAt && i.launchedAt.getTime() > Date.parse(state.teardown.at)) state = initialState(now);
  state.ticks++;
  const costSoFarUsd = i.launchedAt ? Number(((minutes(now, i.launchedAt) / 60) * config.hourlyUsd * config.nodes).toFixed(2)) : null;
  const done = (action: Action, reasons: string[], alerts: string[] = [], failed: GateResult[] = []): Decision => ({ action, reasons, alerts, state, failed, costSoFarUsd });
  if (state.teardown) return done("continue", [`already torn down at ${state.teardown.at}: ${state.teardown.reasons.join("; ")}`]);

  const reasons: string[] = [];
  const failed: GateResult[] = [];
  /** Runs sustained below the band: an alert (verify.below_action), the run goes on. */
  const belowBand: { name: string; gate: GateResult }[] = [];
  for (const b of i.batches) {
    const name = runName(b.key);
    const run = state.runs[b.key];
    const monitor = run ? CurveMonitor.restore(name, config.policy.stress, run.monitor) : new CurveMonitor(name, config.policy.stress);
    const env = config.stage === "full" ? config.envelope : undefined;
    const verify = env ? (run?.verify ? EnvelopeMonitor.restore(name, env, config.policy.verify, run.verify) : new EnvelopeMonitor(name, env, config.policy.verify)) : undefined;
    for (const p of b.points) {
      monitor.push(p);
      verify?.push(p);
      if (config.stage === "sanity") {
        const byTag = ((state.sanity ??= {})[b.key] ??= {});
        (byTag[p.tag ?? name] ??= []).push([p.step, comparisonLoss(p), p.tokens ?? null, p.time_s ?? null]);
      }
    }
    state.runs[b.key] = { monitor: monitor.snapshot(), ...(verify ? { verify: verify.snapshot() } : {}), points: (run?.points ?? 0) + b.points.length, ...(b.points.length > 0 ? { last: b.points[b.points.length - 1] } : run?.last ? { last: run.last } : {}) };
    if (b.points.length > 0) state.lastNewPointAt = now.toISOString();
    const health = monitor.decisiveFailure();
    if (health) {
      failed.push(health);
      reasons.push(`${name}: ${health.id}${health.step !== undefined ? ` at step ${health.step}` : ""}: ${health.message}`);
    }
    if (verify?.failed) {
      const g = verify.finish();
      failed.push(g);
      reasons.push(`${name}: ${g.id} at step ${g.step}: ${g.message}`);
    } else if (verify?.below) belowBand.push({ name, gate: verify.finish() });
  }
  for (const e of i.events) {
    if (e.event === "spot_interruption") state.interrupted ??= { at: e.time ?? now.toISOString(), detail: e.detail ?? null };
    if (e.event === "node_done") state.nodeDone ??= e.time ?? now.toISOString();
  }

  // The sanity day, judged once its runs are done.
  if (config.stage === "sanity" && state.nodeDone && state.sanity) {
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
  }

  const alerts: string[] = [];
  const alertOnce = (key: string, text: string): void => {
    if (state.alerted.includes(key)) return;
    state.alerted.push(key);
    alerts.push(text);
  };
  for (const { name, gate } of belowBand) alertOnce(`below:${name}`, `${name}: ${gate.id} at step ${gate.step}: ${gate.message}; the node keeps running (verify.below_action: alert)`);
  if (state.interrupted) alertOnce(`interrupted:${state.interrupted.at}`, `spot interruption at ${state.interrupted.at}: the node is reclaimed by AWS (not a divergence); the last checkpoint is in the bucket`);

  if (i.launchedAt) {
    // The backstop for the node's own timer: past its hours cap.
    const over = minutes(now, i.launchedAt) - config.hoursCap * 60;
    if (over > h.hours_cap_grace_minutes) reasons.push(`past its hours cap: up ${(minutes(now, i.launchedAt) / 60).toFixed(1)} h against a cap of ${config.hoursCap} h (the node's own timer did not stop it)`);
    // The dead-man switch, unless the node finished or AWS took it.
    if (!state.nodeDone && !state.interrupted) {
      const since = state.lastNewPointAt ? new Date(state.lastNewPointAt) : i.launchedAt;
      const grace = state.lastNewPointAt ? 0 : h.first_metrics_within_minutes;
      const silent = minutes(now, since);
      const what = state.lastNewPointAt ? `no new metrics for ${silent.toFixed(0)} min (last at ${state.lastNewPointAt})` : `no metrics at all ${silent.toFixed(0)} min after launch`;
      if (silent > grace + h.teardown_after_stale_minutes) reasons.push(`silent: ${what}`);
      else if (silent > grace + h.stale_after_minutes) alertOnce(`stale:${state.lastNewPointAt ?? "never"}`, `stale: ${what}; teardown after ${grace + h.teardown_after_stale_minutes} min`);
    }
  }

  if (reasons.length > 0) {
    state.teardown = { at: now.toISOString(), reasons };
    return done("teardown", reasons, alerts, failed);
  }
  return done(alerts.length > 0 ? "alert" : "continue", [], alerts, failed);
}
