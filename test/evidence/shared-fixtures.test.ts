// Every real public artifact in ../shared/fixtures validates with the right counts.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { describeWithSharedFixtures } from "../helpers/shared.ts";
import { validateFile } from "../../src/evidence/validate.ts";
import type { MetricsSummary, TrajectorySummary } from "../../src/evidence/summary.ts";

const trajectory = (s: unknown): TrajectorySummary => s as TrajectorySummary;
const metrics = (s: unknown): MetricsSummary => s as MetricsSummary;

describeWithSharedFixtures("real sweeps", (dir) => {
  const sweeps = join(dir, "sweeps");

  it("agent-loop trajectory: baseline + 50 iterations over 14 distinct configs", async () => {
    const r = await validateFile(join(sweeps, "agent-loop-trajectory.jsonl"));
    expect(r).toMatchObject({ valid: true, format: "agent-loop", errors: 0, unreadable: 0 });
    const s = trajectory(r.summary);
    expect(s.rows).toBe(51);
    expect(s.rawStatuses).toEqual({ baseline: 1, evaluated: 50 });
    expect(s.distinctConfigs).toBe(14);
    expect(s.repeats).toBe(37);
    expect(s.best).toMatchObject({ value: 10.8534, at: "iter-45" });
    expect(s.baselineValBpb).toBe(10.9554);
    expect(r.agentLoop?.decisions).toEqual({ revert: 42, keep: 8 });
    expect(r.agentLoop?.summary).toMatchObject({ stage: "loop_complete", itersRequested: 50, acceptCount: 8, bestValBpb: 10.8534 });
  });

  it("agent-loop smoke run: its last line is a summary, not an iteration", async () => {
    const r = await validateFile(join(sweeps, "agent-loop-smoke-trajectory.jsonl"));
    const s = trajectory(r.summary);
    expect(r.valid).toBe(true);
    expect(s.rows).toBe(4);
    expect(r.agentLoop?.summary).toMatchObject({ line: 5, itersRequested: 3 });
  });

  it("multiagent pg results.tsv: all 855 well-formed rows read, each of the 46 broken rows reported by line", async () => {
    const r = await validateFile(join(sweeps, "multiagent-pg-results.tsv"));
    expect(r.valid).toBe(true);
    const s = trajectory(r.summary);
    expect(s.rows).toBe(855);
    expect(r.unreadable).toBe(46);
    expect(r.unreadableLines.slice(0, 4)).toEqual([79, 133, 138, 174]);
    expect(r.problems.filter((p) => p.kind === "unreadable")).toHaveLength(46);
    expect(r.problems.every((p) => /quoting is broken/.test(p.message))).toBe(true);
    expect(s.rawStatuses).toEqual({ baseline: 1, crash: 36, keep: 34, size_blocked: 297, discard: 393, harness_abort: 41, eval_budget_overrun: 53 });
    expect(s.best).toMatchObject({ value: 1.07221, at: "750" });
    expect(r.valid).toBe(true);
    const strict = await validateFile(join(sweeps, "multiagent-pg-results.tsv"), { strict: true });
    expect(strict.valid).toBe(false);
  });

  it("multiagent nanochat results.tsv: 201 rows", async () => {
    const r = await validateFile(join(sweeps, "multiagent-nanochat-results.tsv"));
    const s = trajectory(r.summary);
    expect(r).toMatchObject({ valid: true, unreadable: 0 });
    expect(s.rows).toBe(201);
    expect(s.statuses).toEqual({ ok: 183, crash: 13, timeout: 5, blocked: 0, pruned: 0 });
    expect(s.best).toMatchObject({ value: 0.771044, at: "038" });
  });

  it("multiagent cifar results.tsv ranks by accuracy and time, not val_bpb", async () => {
    const r = await validateFile(join(sweeps, "multiagent-cifar-results.tsv"));
    const s = trajectory(r.summary);
    expect(r).toMatchObject({ valid: true, unreadable: 0 });
    expect(s.rows).toBe(98);
    expect(s.best).toBeUndefined();
    expect(s.withoutValue).toBe(98);
    expect(r.tsv?.metricColumns).toEqual(expect.arrayContaining(["accuracy", "train_s"]));
  });
});

describeWithSharedFixtures("real loss curves", (dir) => {
  const speedrun = join(dir, "curves", "modded-nanogpt-speedrun");

  it.each([
    ["2024-10-09_SOAP.log", 6000, 49, 6000],
    ["2024-10-10_Muon.log", 6200, 51, 6200],
    ["2024-10-14_ModernArch.log", 5100, 42, 5100],
  ])("speedrun %s: every train_loss and val_loss point", async (name, train, val, lastStep) => {
    const r = await validateFile(join(speedrun, name));
    expect(r).toMatchObject({ valid: true, format: "log", errors: 0 });
    const s = metrics(r.summary);
    expect(s.series.loss).toBe(train);
    expect(s.series.val_loss).toBe(val);
    expect(s.points).toBe(train + val);
    expect(s.stepRange).toEqual([0, lastStep]);
    expect(s.nonFinite).toBe(0);
    expect(r.log).toEqual({ pattern: "modded-nanogpt", ignoredLines: 0 });
  });

  it("gpt2-medium 60k validation curve: 241 points from s:0 to s:60000", async () => {
    const r = await validateFile(join(speedrun, "gpt2-medium-60k-val.log"));
    const s = metrics(r.summary);
    expect(r.log?.pattern).toBe("tel");
    expect(s.series.val_loss).toBe(241);
    expect(s.stepRange).toEqual([0, 60000]);
    expect(s.best.val_loss?.value).toBe(2.9281);
  });

  it("every optimizer-track run validates, ending near 3.28", async () => {
    const root = join(dir, "curves", "modded-nanogpt-optimizers");
    const files = readdirSync(root).flatMap((g) => readdirSync(join(root, g)).map((f) => join(root, g, f)));
    expect(files.length).toBe(48);
    for (const f of files) {
      const r = await validateFile(f);
      expect(r.valid, f).toBe(true);
      const s = metrics(r.summary);
      expect(s.series.val_loss, f).toBeGreaterThanOrEqual(23);
      expect(s.points, f).toBe(s.series.val_loss);
      expect(s.nonFinite).toBe(0);
      expect(s.last.val_loss, f).toBeGreaterThan(3.2);
      expect(s.last.val_loss, f).toBeLessThan(3.3);
    }
  });
});
