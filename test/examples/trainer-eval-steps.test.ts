// The reference trainer's answer to WINDTUNNEL_EVAL_STEPS (issue 18): the steps a sweep judges
// candidates at log val_bpb, whatever the logging interval, and evaluating changes no training.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO } from "../helpers/shared.ts";
import { useTmpDir } from "../helpers/tmp.ts";

const TRAINER = join(REPO, "examples", "trainer", "train.ts");
const tmp = useTmpDir();

interface Point { step: number; loss: number; val_bpb?: number }

function train(name: string, extra: Record<string, string>): { status: number | null; stderr: string; points: () => Point[] } {
  const metrics = join(tmp.dir(), `${name}.jsonl`);
  const r = spawnSync(process.execPath, [TRAINER], { env: { PATH: process.env["PATH"] ?? "", WINDTUNNEL_STEPS: "30", WINDTUNNEL_LOG_EVERY: "10", WINDTUNNEL_METRICS: metrics, ...extra }, encoding: "utf8", timeout: 60_000 });
  return { status: r.status, stderr: r.stderr, points: () => readFileSync(metrics, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Point) };
}

describe("the reference trainer and WINDTUNNEL_EVAL_STEPS", () => {
  it("logs val_bpb at each step it names, between the logging interval's steps too, and ends on the same val_bpb as without", () => {
    const judged = train("judged", { WINDTUNNEL_EVAL_STEPS: "15,20" });
    expect(judged.status, judged.stderr).toBe(0);
    const points = judged.points();
    expect(points.map((p) => [p.step, p.val_bpb !== undefined])).toEqual([[10, false], [15, true], [20, true], [30, true]]);
    const plain = train("plain", {});
    expect(plain.status, plain.stderr).toBe(0);
    expect(points.at(-1)?.val_bpb).toBe(plain.points().at(-1)?.val_bpb);
  });

  it("refuses steps that are not whole numbers with one line and exit 2", () => {
    const r = train("bad", { WINDTUNNEL_EVAL_STEPS: "20,x" });
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe('train.ts: WINDTUNNEL_EVAL_STEPS: expected comma-separated whole numbers ≥ 1, got "20,x"');
  });
});
