// What the rehearsal concludes from what it saw: pure, so the verdict's parts are tested without
// moto or a node. The command (cli/commands/rehearse.ts) decides the exit code and prints it.
import type { GateResult } from "../gates/types.ts";
import type { Decision } from "../watchdog/decide.ts";
import type { NodeOutcome, Rehearsal } from "./rehearse.ts";

/** Every node's done time is in the watchdog's state: the dead-man switch rests, and the sanity day is complete. */
export function everyNodeDone(state: Decision["state"] | undefined, nodes: readonly NodeOutcome[]): boolean {
  return nodes.every((n) => state?.nodes[n.node]?.doneAt !== undefined);
}

/** The sanity day's failures among a teardown's gates: in stage sanity a node that ended non-zero fails the day too (health.exit_status). */
export function sanityFailures(gates: readonly GateResult[], stage: "sanity" | "full"): GateResult[] {
  return gates.filter((g) => g.status === "fail" && (g.phase === "sanity" || (stage === "sanity" && g.id === "health.exit_status")));
}

/** What the simulated node-hours cost: a node still up at the end counts until then. */
export function rehearsalCostUsd(nodes: readonly NodeOutcome[], simulatedMinutes: number, hourlyUsd: number): number {
  const upMinutes = nodes.reduce((sum, n) => sum + (n.endedAt ?? simulatedMinutes), 0);
  return Number(((upMinutes / 60) * hourlyUsd).toFixed(2));
}

/** How a node's end reads on the timeline, after its name and instance id. */
export function endedText(by: NonNullable<NodeOutcome["endedBy"]>): string {
  return by === "watchdog" ? "terminated by the watchdog: its script is killed" : by === "rehearsal end" ? "still up when the rehearsal ended" : `terminated (${by})`;
}

/** What the loop saw, for the rehearsal's result. */
export interface Seen {
  ticks: number;
  decisions: Rehearsal["decisions"];
  /** The watchdog's state after the last tick (undefined: no tick ran). */
  lastState: Decision["state"] | undefined;
  problems: string[];
  alerts: string[];
  teardown: Rehearsal["teardown"];
  /** Stage sanity: a tick saw every node done. */
  sanityJudged: boolean;
  timedOut: boolean;
}

/** The rehearsal's result: what was run, what the loop saw, how each node ended, and what it cost. */
export function rehearsalOf(
  run: Pick<Rehearsal, "stack" | "stage" | "scenario" | "campaign" | "minutesPerSecond" | "wallMs" | "simulatedMinutes" | "timeline" | "nodes" | "hourlyUsd">,
  seen: Seen,
): Rehearsal {
  const sanityFailed = sanityFailures(seen.teardown?.gates ?? [], run.stage);
  return {
    stack: run.stack, stage: run.stage, scenario: run.scenario, campaign: run.campaign, minutesPerSecond: run.minutesPerSecond,
    wallMs: run.wallMs, simulatedMinutes: run.simulatedMinutes, timeline: [...run.timeline].sort((a, b) => a.minute - b.minute), ticks: seen.ticks, decisions: seen.decisions, nodes: run.nodes,
    metrics: Object.entries(seen.lastState?.runs ?? {}).map(([key, r]) => ({ key, points: r.points })),
    problems: seen.problems, alerts: seen.alerts, ...(seen.teardown ? { teardown: seen.teardown } : {}),
    ...(run.stage === "sanity" ? { sanity: { judged: seen.sanityJudged || sanityFailed.length > 0, failed: sanityFailed } } : {}),
    costUsd: rehearsalCostUsd(run.nodes, run.simulatedMinutes, run.hourlyUsd), hourlyUsd: run.hourlyUsd, timedOut: seen.timedOut,
  };
}
