// The rehearsal's verdict as the command decides and prints it: exit 0 only when the run behaved
// as the stack expects, and the table names the gate that tore the node down.
import { describe, expect, it } from "vitest";
import { exitCodeOf, renderRehearsal } from "../../src/cli/commands/rehearse.ts";
import type { NodeOutcome, Rehearsal } from "../../src/rehearse/rehearse.ts";

const node = (over: Partial<NodeOutcome> = {}): NodeOutcome => ({ node: "node-0", instanceId: "i-0", spotNotice: false, ...over });
const base: Rehearsal = {
  stack: "ci", stage: "sanity", scenario: "healthy", campaign: "c", minutesPerSecond: 10, wallMs: 5000, simulatedMinutes: 50,
  timeline: [{ minute: 0, source: "node-0", text: "node_started" }], ticks: 3, decisions: [], nodes: [node({ status: 0, endedAt: 45, endedBy: "power-off" })],
  metrics: [{ key: "c/sanity/node-0/bf16.metrics.jsonl", points: 20 }], problems: [], alerts: [], sanity: { judged: true, failed: [] }, costUsd: 21, hourlyUsd: 28, timedOut: false,
};
const teardown: Rehearsal["teardown"] = { minute: 60, reasons: ["silent: node-0: no new metrics for 46 min"], gates: [{ id: "health.dead_man", phase: "health", subject: "node-0", status: "fail", measured: 46, op: "≤", threshold: 45, message: "silent" }], record: {} };

describe("exitCodeOf", () => {
  it.each<[string, Partial<Rehearsal>, number]>([
    ["every node done with 0, no teardown", {}, 0],
    ["a teardown", { teardown }, 1],
    ["a node that ended non-zero without a teardown", { nodes: [node({ status: 7 })] }, 1],
    ["a node that never said it was done", { nodes: [node()] }, 1],
    ["a node reclaimed after a spot notice", { nodes: [node({ spotNotice: true, endedBy: "spot reclaim" })] }, 0],
    ["the rehearsal timed out", { timedOut: true }, 1],
  ])("%s → %i", (_name, over, code) => {
    expect(exitCodeOf({ ...base, ...over })).toBe(code);
  });
});

describe("renderRehearsal", () => {
  it("names the gate and node that tore it down, and the cost", () => {
    const text = renderRehearsal({ ...base, teardown }, 1);
    expect(text).toContain("teardown:  at 1:00 by health.dead_man (node-0): silent: node-0: no new metrics for 46 min");
    expect(text).toContain("cost:      $21 (1 × $28/h for the simulated node-hours)");
    expect(text.split("\n").at(-1)).toBe("windtunnel rehearse: the real node would be torn down (exit 1)");
  });
  it("a healthy run: the metrics the watchdog read, the sanity day passed, OK", () => {
    const text = renderRehearsal(base, 0);
    expect(text).toContain("metrics:   the watchdog read 20 points from c/sanity/node-0/bf16.metrics.jsonl");
    expect(text).toContain("sanity:    passed: every node finished and no sanity gate failed");
    expect(text.split("\n").at(-1)).toBe("windtunnel rehearse: OK — the run behaved as the stack expects");
  });
});
