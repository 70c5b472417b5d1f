// WINDTUNNEL_EVAL_EVERY (issue 18): the reference trainer validates at intermediate steps without
// training any differently, so one full-length run holds what early stopping would see at any rung.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO } from "../helpers/shared.ts";
import { useTmpDir } from "../helpers/tmp.ts";

const TRAINER = join(REPO, "examples", "trainer", "train.ts");
const CONFIG = JSON.stringify({ lr: 0.01, schedule: "cosine", warmup: 5, batch: 128 });

interface Point { step: number; loss: number; grad_norm: number; val_bpb?: number }
const points = (file: string): Point[] => readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Point);
const train = (metrics: string, over: Record<string, string> = {}) =>
  spawnSync(process.execPath, [TRAINER], { env: { PATH: process.env["PATH"] ?? "", WINDTUNNEL_CONFIG: CONFIG, WINDTUNNEL_STEPS: "60", WINDTUNNEL_LOG_EVERY: "10", WINDTUNNEL_METRICS: metrics, ...over }, encoding: "utf8", timeout: 60_000 });

describe("the reference trainer's WINDTUNNEL_EVAL_EVERY", () => {
  const tmp = useTmpDir();

  it("every 10 steps: val_bpb on every logged step, the same training and the same final val_bpb as the default (step 50 and the last)", () => {
    const dir = tmp.dir();
    expect(train(join(dir, "default.jsonl")).status).toBe(0);
    expect(train(join(dir, "every10.jsonl"), { WINDTUNNEL_EVAL_EVERY: "10" }).status).toBe(0);
    const base = points(join(dir, "default.jsonl"));
    const dense = points(join(dir, "every10.jsonl"));
    expect(base.filter((p) => p.val_bpb !== undefined).map((p) => p.step)).toEqual([50, 60]);
    expect(dense.filter((p) => p.val_bpb !== undefined).map((p) => p.step)).toEqual([10, 20, 30, 40, 50, 60]);
    expect(dense.map(({ step, loss, grad_norm }) => ({ step, loss, grad_norm }))).toEqual(base.map(({ step, loss, grad_norm }) => ({ step, loss, grad_norm })));
    expect(dense.at(-1)?.val_bpb).toBe(base.at(-1)?.val_bpb);
    expect(dense.find((p) => p.step === 50)?.val_bpb).toBe(base.find((p) => p.step === 50)?.val_bpb);
  }, 60_000);

  it("refuses an interval that is not a multiple of the logging interval (validation runs on logged steps), exit 2", () => {
    const r = train(join(tmp.dir(), "m.jsonl"), { WINDTUNNEL_EVAL_EVERY: "15" });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("WINDTUNNEL_EVAL_EVERY: expected a whole multiple of WINDTUNNEL_LOG_EVERY (10): validation runs on logged steps, got 15");
  }, 60_000);
});
