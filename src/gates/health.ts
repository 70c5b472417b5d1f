// The health gates: what the watchdog knows of each node besides its loss, judged like every
// other gate. Pure: the watchdog keeps the per-node facts (when a node last sent metrics, when it
// said it was done and with what status, whether AWS is reclaiming it) and asks these gates what
// they mean at `now`.
//  - health.first_metrics / health.dead_man, per node: no metrics for too long (after a cold start's
//    allowance for the first ones). Kept per node: one node's `node_done` never silences the switch
//    of another (a hung rank 0 beside a finished rank 1 is still torn down).
//  - health.exit_status, per node: the node said its runs ended with a non-zero status. Stage full:
//    teardown after a short grace (the node's own final upload and power-off come first); stage
//    sanity: the day fails.
//  - health.hours_cap: up past the stage's hours cap (the node's own timer did not fire).
// A failing gate is a teardown; alerts (stale, a failed run within its grace) are said once each.
import type { HealthPolicy } from "../policy/schema.ts";
import { gate, type GateResult } from "./types.ts";
import { round } from "../common/format.ts";

export interface NodeFacts {
  /** The last time new metrics of this node arrived (ISO). */
  lastPointAt?: string;
  /** When the node reported node_done, and its status (non-zero: a run or the node itself failed). */
  doneAt?: string;
  status?: number;
  /** A spot interruption notice: AWS is reclaiming the node, silence after it is expected. */
  interruptedAt?: string;
}

export interface HealthInput {
  now: Date;
  /** Earliest launch time of the campaign's live instances; undefined when none is up. */
  launchedAt: Date | undefined;
  stage: "sanity" | "full";
  /** How many nodes the stage runs: node-0 … node-(n−1) are judged even before they say anything. */
  nodes: number;
  hoursCap: number;
  /** Node-minutes of earlier attempts (replacements after spot interruptions): the cap counts them too. */
  priorMinutes?: number;
  facts: Readonly<Record<string, NodeFacts>>;
  policy: HealthPolicy;
}

export interface HealthVerdict {
  gates: GateResult[];
  /** Alerts to send once each (keyed, so a later tick does not repeat them). */
  alerts: { key: string; text: string }[];
}

const minutes = (a: Date, b: Date): number => (a.getTime() - b.getTime()) / 60_000;

/** The nodes a stage has: node-0 … node-(n−1), and any other the bucket shows. */
export function nodeNames(nodes: number, facts: Readonly<Record<string, NodeFacts>>): string[] {
  const expected = Array.from({ length: Math.max(1, nodes) }, (_, i) => `node-${i}`);
  return [...new Set([...expected, ...Object.keys(facts)])].sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
}

export function healthGates(i: HealthInput): HealthVerdict {
  const h = i.policy;
  const gates: GateResult[] = [];
  const alerts: HealthVerdict["alerts"] = [];
  if (i.launchedAt) {
    const up = minutes(i.now, i.launchedAt) + (i.priorMinutes ?? 0);
    const limit = i.hoursCap * 60 + h.hours_cap_grace_minutes;
    const over = up > limit;
    gates.push(gate("health", "health.hours_cap", "campaign").judged(!over, { measured: round(up, 1), op: "≤", threshold: limit, message: over ? `past its hours cap: up ${(up / 60).toFixed(1)} h against a cap of ${i.hoursCap} h (the node's own timer did not stop it)` : `up ${(up / 60).toFixed(1)} h of a ${i.hoursCap} h cap` }));
  }
  for (const node of nodeNames(i.nodes, i.facts)) {
    const f = i.facts[node] ?? {};
    // The exit status a node reported.
    if (f.doneAt !== undefined) {
      const status = f.status ?? 0;
      const exit = gate("health", "health.exit_status", node);
      if (status === 0) gates.push(exit.pass({ measured: 0, op: "≤", threshold: 0, message: `${node} finished its runs at ${f.doneAt} (status 0)` }));
      // Killed by the reclaim, not failed: the interruption is what is handled (alert, or recovery).
      else if (f.interruptedAt !== undefined) gates.push(exit.skip(`${node} ended with status ${status} after AWS's spot interruption notice at ${f.interruptedAt}: reclaimed, not failed`, { measured: status, op: "≤", threshold: 0 }));
      else {
        const since = minutes(i.now, new Date(f.doneAt));
        const what = `${node} ended with status ${status} at ${f.doneAt}${status > 128 ? ` (signal ${status - 128})` : ""}`;
        if (i.stage === "sanity") gates.push(exit.fail({ measured: status, op: "≤", threshold: 0, message: `the sanity day failed: ${what}` }));
        else if (since >= h.failed_run_grace_minutes) gates.push(exit.fail({ measured: status, op: "≤", threshold: 0, message: `${what}; the node did not stop itself within ${h.failed_run_grace_minutes} min` }));
        else {
          gates.push(exit.skip(`${what}; teardown in ${h.failed_run_grace_minutes} min unless it stops itself`, { measured: status, op: "≤", threshold: 0 }));
          alerts.push({ key: `failed:${node}:${f.doneAt}`, text: `${what}: the run failed; the node powers itself off, and the watchdog tears it down after ${h.failed_run_grace_minutes} min if not` });
        }
      }
    }
    // The dead-man switch, unless this node finished or AWS is taking it.
    if (!i.launchedAt) continue;
    if (f.doneAt !== undefined || f.interruptedAt !== undefined) {
      gates.push(gate("health", f.lastPointAt ? "health.dead_man" : "health.first_metrics", node).skip(f.doneAt !== undefined ? `${node} reported its runs done` : `${node} is being reclaimed by AWS (spot interruption at ${f.interruptedAt})`));
      continue;
    }
    const first = f.lastPointAt === undefined;
    const since = first ? i.launchedAt : new Date(f.lastPointAt as string);
    const grace = first ? h.first_metrics_within_minutes : 0;
    const silent = minutes(i.now, since);
    const limit = grace + h.teardown_after_stale_minutes;
    const what = first ? `${node}: no metrics at all ${silent.toFixed(0)} min after launch` : `${node}: no new metrics for ${silent.toFixed(0)} min (last at ${f.lastPointAt})`;
    const silentTooLong = silent > limit;
    gates.push(gate("health", first ? "health.first_metrics" : "health.dead_man", node).judged(!silentTooLong, { measured: round(silent, 1), op: "≤", threshold: limit, message: silentTooLong ? `silent: ${what}` : `${node}: ${first ? `no metrics yet, ${silent.toFixed(0)} min after launch (allowed ${limit} min)` : `last metrics ${silent.toFixed(0)} min ago`}` }));
    if (silent <= limit && silent > grace + h.stale_after_minutes) alerts.push({ key: `stale:${node}:${f.lastPointAt ?? "never"}`, text: `stale: ${what}; teardown after ${limit} min` });
  }
  return { gates, alerts };
}
