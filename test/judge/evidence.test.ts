// Which file is which, and what a judgement refuses to start without: the rules the CLI, the
// Pulumi program and `plan` share, tested on small files of our own.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { classifyEvidence, curveNames } from "../../src/judge/evidence.ts";
import { missingEvidence, type PhaseEvidence } from "../../src/judge/phases.ts";
import { useTmpDir } from "../helpers/tmp.ts";

const { dir: tmpDir } = useTmpDir();

const trajectoryLine = JSON.stringify({ id: "c001", config: { lr: 1e-3 }, config_hash: "a".repeat(64), status: "ok", metric: "val_bpb", value: 1.1, steps: 60, wall_s: 3, time: "2026-01-01T00:00:00Z" });
const metricsLine = (step: number) => JSON.stringify({ step, loss: 3 - step / 1000 });

function files(dir: string) {
  const trajectory = join(dir, "trajectory.jsonl");
  const curve = join(dir, "c001.jsonl");
  const plan = join(dir, "campaign.yaml");
  writeFileSync(trajectory, `${trajectoryLine}\n`);
  writeFileSync(curve, `${[10, 20, 30].map(metricsLine).join("\n")}\n`);
  writeFileSync(plan, "instance: p5.48xlarge\n");
  return { trajectory, curve, plan };
}

describe("classifyEvidence", () => {
  it("sorts a trajectory, curves and a campaign plan by what they hold, whatever their order", async () => {
    const dir = tmpDir();
    const f = files(dir);
    const c = await classifyEvidence([f.curve, f.plan, f.trajectory], {});
    expect(c.trajectory?.file).toBe(f.trajectory);
    expect(c.trajectory?.detected.format).toBe("trajectory");
    expect(c.curves.map((x) => x.file)).toEqual([f.curve]);
    expect(c.campaignFile).toBe(f.plan);
  });

  it("refuses two trajectories or two plans, naming both files", async () => {
    const dir = tmpDir();
    const f = files(dir);
    const second = join(dir, "other.jsonl");
    writeFileSync(second, `${trajectoryLine}\n`);
    await expect(classifyEvidence([f.trajectory, second], {})).rejects.toThrow(`two trajectories given: ${f.trajectory} and ${second}`);
    const plan2 = join(dir, "b.yml");
    writeFileSync(plan2, "x: 1\n");
    await expect(classifyEvidence([f.plan, plan2], {})).rejects.toThrow(`two campaign plans given: ${f.plan} and ${plan2}`);
  });
});

describe("curveNames", () => {
  it("uses file names, and paths only where two curves share a name", () => {
    expect(curveNames(["a/c1.jsonl", "a/c2.log"])).toEqual(["c1", "c2"]);
    expect(curveNames(["a/c1.jsonl", "b/c1.jsonl", "b/c2.jsonl"])).toEqual(["a/c1.jsonl", "b/c1.jsonl", "c2"]);
    expect(curveNames(["a/c1.jsonl"], true)).toEqual(["c1.jsonl"]);
  });
});

describe("missingEvidence", () => {
  const none: PhaseEvidence = { curves: [] };
  const curve = { file: "c.jsonl", detected: { format: "metrics" } } as PhaseEvidence["curves"][number];

  it("names what each phase lacks, in the registry's order", () => {
    expect(missingEvidence(["sweep", "stress", "spend"], none)).toEqual([
      expect.stringMatching(/^sweep needs a Phase 1 trajectory/),
      expect.stringMatching(/^stress needs at least one Phase 2 curve/),
      expect.stringMatching(/^spend needs a campaign plan/),
    ]);
    expect(missingEvidence(["verify"], none)).toEqual([expect.stringMatching(/^verify needs the cloud run's metrics/), expect.stringMatching(/^verify needs the forecast/)]);
    expect(missingEvidence(["sanity"], none)).toEqual([expect.stringMatching(/^sanity needs the sanity-day metrics/)]);
  });

  it("is empty when every phase has its evidence", () => {
    expect(missingEvidence(["stress"], { curves: [curve] })).toEqual([]);
    expect(missingEvidence(["verify"], { curves: [curve], envelope: { file: "e.json", sha256: "0", envelope: {} as never } })).toEqual([]);
  });

  it("refuses stress with sanity or verify in one run: the metrics files would be ambiguous", () => {
    const m = missingEvidence(["stress", "sanity"], { curves: [curve] });
    expect(m).toEqual([expect.stringMatching(/separate gate runs/)]);
    expect(missingEvidence(["sanity"], { curves: [curve] })).toEqual([]);
  });
});
