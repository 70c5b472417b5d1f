// What each scenario does to the rehearsal, and what a node's own calls and events say, as pure
// decisions: the loop (run-loop.ts) asks, acts, and says so on the timeline.
import type { LocalEvent } from "./node.ts";
import type { NodeOutcome } from "./rehearse.ts";

/** The faults a rehearsal can inject (type-only imports above: `--help` loads this file alone). */
export const SCENARIOS = ["healthy", "diverge", "nan", "silent", "fail", "spot", "hours-cap"] as const;
export type Scenario = (typeof SCENARIOS)[number];

/** The fault the fault injector (bin/rehearse-run) plays: node-0 gets the scenario's, the other nodes run as the stack says. */
export function faultOf(scenario: Scenario, rank: number): string {
  return rank === 0 && ["diverge", "nan", "silent", "fail"].includes(scenario) ? scenario : "healthy";
}

/** The notice IMDS serves at spot/instance-action: terminate two minutes from now. */
export function spotNotice(simNowMs: number): string {
  return JSON.stringify({ action: "terminate", time: new Date(simNowMs + 2 * 60_000).toISOString() });
}

/**
 * When AWS reclaims the node after its notice: two minutes, but here never sooner than 5 real
 * seconds. The node's aws calls are not compressed (a ship takes ~1 s here as on AWS), and a
 * shorter deadline would judge the compression, not the script.
 */
export function spotReclaimMs(simNowMs: number, minutesPerSecond: number): number {
  return simNowMs + Math.max(2, 5 * minutesPerSecond) * 60_000;
}

/** hours-cap: the minute the clock jumps to once every node is done but none powered off, just past the cap and its grace. */
export function pastHoursCap(hoursCap: number, graceMinutes: number): number {
  return hoursCap * 60 + graceMinutes + 5;
}

/** The minutes a node's `shutdown -P +<minutes> …` schedules its power-off in; undefined for any other call. */
export function shutdownDelayMinutes(call: readonly string[]): number | undefined {
  if (call[0] !== "shutdown") return undefined;
  const m = /^\+(\d+)$/.exec(call.find((a) => a.startsWith("+")) ?? "");
  return m ? Number(m[1]) : undefined;
}

/** A node's event as the timeline shows it: its name, then its detail as JSON. */
export function eventText(e: LocalEvent): string {
  return `${e.event}${e.detail !== undefined && e.detail !== null ? ` ${JSON.stringify(e.detail)}` : ""}`;
}

/** What an event tells of its node's outcome: the runs' status (node_done), or a spot notice. */
export function eventFacts(e: LocalEvent): Partial<Pick<NodeOutcome, "status" | "spotNotice">> {
  if (e.event === "node_done") {
    const d = e.detail as { status?: unknown } | null;
    return typeof d?.status === "number" ? { status: d.status } : {};
  }
  return e.event === "spot_interruption" ? { spotNotice: true } : {};
}
