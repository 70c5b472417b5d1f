// The rehearsal's pure parts: its clock, what each scenario does, what a node's calls and events
// say, and what the rehearsal concludes. The loop that acts on them is run by test/e2e/rehearse.test.ts.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { clockLine, minutesSince, SimClock, simulatedMs } from "../../src/rehearse/clock.ts";
import { endedText, everyNodeDone, rehearsalCostUsd, sanityFailures } from "../../src/rehearse/outcome.ts";
import { eventFacts, eventText, faultOf, pastHoursCap, shutdownDelayMinutes, spotNotice, spotReclaimMs } from "../../src/rehearse/scenario.ts";
import { nodeRenderOptions } from "../../src/rehearse/setup.ts";
import type { GateResult } from "../../src/gates/types.ts";
import { initialState } from "../../src/watchdog/decide.ts";
import type { NodeOutcome } from "../../src/rehearse/rehearse.ts";
import { useTmpDir } from "../helpers/tmp.ts";

describe("the simulated clock", () => {
  const tmp = useTmpDir();

  it("runs minutesPerSecond simulated minutes per real second, plus its jumps", () => {
    expect(simulatedMs(1_000, 3_000, 10, 0)).toBe(1_000 + 2_000 * 600);
    expect(simulatedMs(1_000, 1_000, 10, 90)).toBe(1_000 + 90 * 60_000);
    expect(minutesSince(1_000, 1_000 + 90 * 60_000 + 2_999)).toBe(90);
    expect(minutesSince(0, 5 * 6_000)).toBe(0.5);
  });

  it("writes the line bin/date reads, and again after a jump", () => {
    const clock = new SimClock(join(tmp.dir(), "clock"), 10);
    expect(readFileSync(clock.file, "utf8")).toBe(clockLine(clock.launched, 10, 0));
    expect(clockLine(5, 10, 1.5)).toBe("5 10 1.5\n");
    clock.jumpTo(600);
    expect(clock.minute()).toBeGreaterThanOrEqual(600);
    const [t0, rate, offset] = readFileSync(clock.file, "utf8").trim().split(" ").map(Number);
    expect([t0, rate]).toEqual([clock.launched, 10]);
    expect(offset).toBeGreaterThan(599);
  });
});

describe("scenarios", () => {
  it.each<[Parameters<typeof faultOf>[0], number, string]>([
    ["diverge", 0, "diverge"],
    ["diverge", 1, "healthy"],
    ["silent", 0, "silent"],
    ["spot", 0, "healthy"],
    ["hours-cap", 0, "healthy"],
  ])("%s, rank %i: the fault wrapper plays %s", (scenario, rank, fault) => {
    expect(faultOf(scenario, rank)).toBe(fault);
  });

  it("a spot notice terminates in two minutes; the reclaim waits at least 5 real seconds", () => {
    expect(JSON.parse(spotNotice(Date.UTC(2026, 0, 1)))).toEqual({ action: "terminate", time: "2026-01-01T00:02:00.000Z" });
    expect(spotReclaimMs(0, 0.2)).toBe(2 * 60_000);
    expect(spotReclaimMs(0, 10)).toBe(50 * 60_000);
  });

  it("hours-cap jumps past the cap and its grace", () => {
    expect(pastHoursCap(24, 30)).toBe(24 * 60 + 35);
  });
});

describe("what a node says", () => {
  it.each<[string[], number | undefined]>([
    [["shutdown", "-P", "+5", "windtunnel: runs ended (status 0)"], 5],
    [["shutdown", "-P", "+1440", "windtunnel: hours cap reached"], 1440],
    [["shutdown", "-c"], undefined],
    [["docker", "run", "+5"], undefined],
  ])("%j schedules a power-off in %s min", (call, minutes) => {
    expect(shutdownDelayMinutes(call)).toBe(minutes);
  });

  it.each<[Parameters<typeof eventFacts>[0], string, ReturnType<typeof eventFacts>]>([
    [{ event: "node_done", detail: { status: 7 } }, 'node_done {"status":7}', { status: 7 }],
    [{ event: "node_done", detail: null }, "node_done", {}],
    [{ event: "spot_interruption", detail: { action: "terminate" } }, 'spot_interruption {"action":"terminate"}', { spotNotice: true }],
    [{ event: "run_started", detail: { name: "bf16" } }, 'run_started {"name":"bf16"}', {}],
  ])("%j", (e, text, facts) => {
    expect(eventText(e)).toBe(text);
    expect(eventFacts(e)).toEqual(facts);
  });
});

describe("what the rehearsal concludes", () => {
  const node = (over: Partial<NodeOutcome> = {}): NodeOutcome => ({ node: "node-0", instanceId: "i-0", spotNotice: false, ...over });
  const gate = (over: Partial<GateResult>): GateResult => ({ id: "health.exit_status", phase: "health", subject: "node-0", status: "fail", measured: 7, threshold: 0, message: "m", ...over });

  it("every node done, by the watchdog's state", () => {
    const nodes = [node(), node({ node: "node-1" })];
    expect(everyNodeDone(undefined, nodes)).toBe(false);
    const done = (...names: string[]) => ({ ...initialState(new Date(0)), nodes: Object.fromEntries(names.map((n) => [n, { doneAt: "2026-01-01T00:00:00Z" }])) });
    expect(everyNodeDone(done("node-0"), nodes)).toBe(false);
    expect(everyNodeDone(done("node-0", "node-1"), nodes)).toBe(true);
  });

  it("a non-zero exit fails the sanity day in stage sanity only; a passing gate fails nothing", () => {
    const gates = [gate({}), gate({ id: "sanity.parallel", phase: "sanity" }), gate({ id: "stress.finite", phase: "stress" }), gate({ id: "sanity.throughput", phase: "sanity", status: "pass" })];
    expect(sanityFailures(gates, "sanity").map((g) => g.id)).toEqual(["health.exit_status", "sanity.parallel"]);
    expect(sanityFailures(gates, "full").map((g) => g.id)).toEqual(["sanity.parallel"]);
  });

  it("costs every node's simulated hours, a node still up until the end", () => {
    expect(rehearsalCostUsd([node({ endedAt: 30 }), node({})], 90, 28)).toBe(56);
  });

  it.each<[NonNullable<NodeOutcome["endedBy"]>, string]>([
    ["watchdog", "terminated by the watchdog: its script is killed"],
    ["rehearsal end", "still up when the rehearsal ended"],
    ["spot reclaim", "terminated (spot reclaim)"],
  ])("a node ended by %s", (by, text) => {
    expect(endedText(by)).toBe(text);
  });
});

describe("a rehearsed node's script", () => {
  it("uploads no faster than the aws CLI can, and keeps its files in the node's folder", () => {
    expect(nodeRenderOptions(60, 10, "/tmp/w/node-0")).toMatchObject({ metricsIntervalS: 0.5, logFile: "/tmp/w/node-0/windtunnel.log", outDir: "/tmp/w/node-0/out" });
    expect(nodeRenderOptions(600, 1, "/d").metricsIntervalS).toBe(10);
  });
});
