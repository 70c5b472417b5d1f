// The reference trainer's checkpoints (issue 17): a run killed after a checkpoint and resumed from
// its marker logs exactly what the uninterrupted run logs after that step, bit for bit; SIGUSR1
// (the node's spot notice) checkpoints at once and stops; a checkpoint that is not this run's is
// refused. S3 folders are exercised through the node script in test/e2e/spot-resume.test.ts.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CHECKPOINT_MARKER } from "../../src/campaign/layout.ts";
import { REPO } from "../helpers/shared.ts";
import { useTmpDir } from "../helpers/tmp.ts";

const TRAINER = join(REPO, "examples", "trainer", "train.ts");
// Wide enough that a step takes milliseconds: the test can kill the run between two checkpoints.
const CONFIG = JSON.stringify({ d_hidden: 256, n_layer: 2, lr: 0.01, warmup: 10, schedule: "cosine" });
const T = 60_000;

interface Point { step: number; loss: number; grad_norm: number; lr: number; val_loss?: number }
const points = (file: string): Point[] => readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Point);
/** What must be identical: everything a line says but its wall time. */
const judged = (ps: Point[]): unknown[] => ps.map(({ step, loss, grad_norm, lr, val_loss }) => ({ step, loss, grad_norm, lr, val_loss }));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const env = (dir: string, over: Record<string, string>): Record<string, string> => ({
  PATH: process.env["PATH"] ?? "", WINDTUNNEL_CONFIG: CONFIG, WINDTUNNEL_STEPS: "60", WINDTUNNEL_LOG_EVERY: "5", WINDTUNNEL_CHECKPOINTS: join(dir, "checkpoints"), ...over,
});
const train = (e: Record<string, string>) => spawnSync(process.execPath, [TRAINER], { env: e, encoding: "utf8", timeout: T });

describe("the reference trainer's checkpoints", () => {
  const tmp = useTmpDir();

  it("a 60-step run killed after its checkpoint at step 30, resumed from the marker: steps 31–60 are logged once, identical to an uninterrupted run", async () => {
    const dir = tmp.dir();
    const whole = train(env(dir, { WINDTUNNEL_METRICS: join(dir, "whole.jsonl"), WINDTUNNEL_CHECKPOINTS: join(dir, "whole-checkpoints") }));
    expect(whole.status, whole.stderr).toBe(0);

    const marker = join(dir, "checkpoints", CHECKPOINT_MARKER);
    const child = spawn(process.execPath, [TRAINER], { env: env(dir, { WINDTUNNEL_METRICS: join(dir, "first.jsonl"), WINDTUNNEL_CHECKPOINT_EVERY: "30" }), stdio: "ignore" });
    const exited = new Promise<NodeJS.Signals | null>((r) => child.once("exit", (_code, signal) => r(signal)));
    for (const t0 = Date.now(); !existsSync(marker); await sleep(5)) if (Date.now() - t0 > T / 2) throw new Error("no marker");
    child.kill("SIGKILL");
    expect(await exited, "the run ended before the test could kill it").toBe("SIGKILL");
    const text = readFileSync(marker, "utf8");
    expect(JSON.parse(text)).toMatchObject({ format: "windtunnel-checkpoint/1", step: 30, path: "step-00000030/" });

    const resumed = train(env(dir, { WINDTUNNEL_METRICS: join(dir, "resumed.jsonl"), WINDTUNNEL_RESUME: text }));
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/resumed after step 30/);
    const after = points(join(dir, "resumed.jsonl"));
    expect(after.map((p) => p.step)).toEqual([35, 40, 45, 50, 55, 60]);
    expect(judged(after)).toEqual(judged(points(join(dir, "whole.jsonl")).filter((p) => p.step > 30)));
  }, T);

  it("SIGUSR1 checkpoints the step just trained and stops with 0; resumed, the run logs what it would have, from the next logging step", async () => {
    const dir = tmp.dir();
    // A constant rate, so that runs of different lengths train alike: 4,000 steps would take a while to compare.
    const long = { WINDTUNNEL_STEPS: "4000", WINDTUNNEL_CHECKPOINT_EVERY: "0", WINDTUNNEL_CONFIG: JSON.stringify({ d_hidden: 256, n_layer: 2, lr: 0.01 }) };
    const metrics = join(dir, "first.jsonl");
    const child = spawn(process.execPath, [TRAINER], { env: env(dir, { ...long, WINDTUNNEL_METRICS: metrics }), stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    for (const t0 = Date.now(); !existsSync(metrics); await sleep(20)) if (Date.now() - t0 > T / 2) throw new Error("no metrics");
    child.kill("SIGUSR1");
    expect(await exited, stderr).toBe(0);
    const m = JSON.parse(readFileSync(join(dir, "checkpoints", CHECKPOINT_MARKER), "utf8")) as { step: number; path: string };
    expect(stderr).toContain(`SIGUSR1: checkpointed after step ${m.step}`);
    expect(readdirSync(join(dir, "checkpoints", m.path)).sort()).toEqual(["state.json", "tensors.bin"]);
    const logged = points(metrics);
    expect(logged.at(-1)?.step).toBeLessThanOrEqual(m.step);
    expect(logged.at(-1)?.step).toBeGreaterThan(m.step - 5);

    const upTo = m.step + 40;
    const resumed = train(env(dir, { ...long, WINDTUNNEL_METRICS: join(dir, "resumed.jsonl"), WINDTUNNEL_RESUME: JSON.stringify(m), WINDTUNNEL_STEPS: String(upTo) }));
    expect(resumed.status, resumed.stderr).toBe(0);
    const whole = train(env(dir, { ...long, WINDTUNNEL_METRICS: join(dir, "whole.jsonl"), WINDTUNNEL_STEPS: String(upTo), WINDTUNNEL_CHECKPOINTS: join(dir, "other") }));
    expect(whole.status, whole.stderr).toBe(0);
    const after = points(join(dir, "resumed.jsonl"));
    expect(after[0]?.step).toBe(Math.floor(m.step / 5) * 5 + 5);
    expect(judged(after)).toEqual(judged(points(join(dir, "whole.jsonl")).filter((p) => p.step > m.step)));
  }, T);

  it("SIGUSR1 without WINDTUNNEL_CHECKPOINTS: nothing to save to, the run trains on to its end", async () => {
    const dir = tmp.dir();
    const metrics = join(dir, "m.jsonl");
    const child = spawn(process.execPath, [TRAINER], { env: { PATH: process.env["PATH"] ?? "", WINDTUNNEL_CONFIG: CONFIG, WINDTUNNEL_STEPS: "150", WINDTUNNEL_METRICS: metrics }, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    for (const t0 = Date.now(); !existsSync(metrics); await sleep(20)) if (Date.now() - t0 > T / 2) throw new Error("no metrics");
    child.kill("SIGUSR1");
    expect(await exited).toBe(0);
    expect(stderr).toMatch(/SIGUSR1, but WINDTUNNEL_CHECKPOINTS is not set/);
    expect(points(metrics).at(-1)?.step).toBe(150);
  }, T);

  describe("refuses a checkpoint that is not this run's (exit 2, naming why)", () => {
    const checkpointed = (dir: string): string => {
      const r = train(env(dir, { WINDTUNNEL_STEPS: "20", WINDTUNNEL_CHECKPOINT_EVERY: "10", WINDTUNNEL_METRICS: join(dir, "m.jsonl") }));
      expect(r.status, r.stderr).toBe(0);
      return readFileSync(join(dir, "checkpoints", CHECKPOINT_MARKER), "utf8");
    };
    it.each<[string, (dir: string, marker: string) => Record<string, string>, RegExp]>([
      ["another seed", (_d, marker) => ({ WINDTUNNEL_RESUME: marker, WINDTUNNEL_SEED: "3" }), /it is of seed 0, this run's is 3/],
      ["another config", (_d, marker) => ({ WINDTUNNEL_RESUME: marker, WINDTUNNEL_CONFIG: JSON.stringify({ d_hidden: 256, n_layer: 2, lr: 0.02, warmup: 10, schedule: "cosine" }) }), /it is of the config \{"lr":0.01,.*this run's is \{"lr":0.02,/],
      ["tensors that changed after they were saved", (dir, marker) => {
        const bin = join(dir, "checkpoints", "step-00000010", "tensors.bin");
        const b = readFileSync(bin);
        b[8] = (b[8] ?? 0) ^ 1;
        writeFileSync(bin, b);
        return { WINDTUNNEL_RESUME: marker };
      }, /tensors\.bin does not match its digest in state\.json/],
      ["a marker that is not one", () => ({ WINDTUNNEL_RESUME: '{"format":"windtunnel-checkpoint/1","step":-1,"path":"../x/","time":"now"}' }), /WINDTUNNEL_RESUME is not a checkpoint marker: step: .*; path: .*; time: /],
      ["no checkpoint folder to read from", (_d, marker) => ({ WINDTUNNEL_RESUME: marker, WINDTUNNEL_CHECKPOINTS: "" }), /WINDTUNNEL_RESUME is set but WINDTUNNEL_CHECKPOINTS is not/],
    ])("%s", (_name, over, message) => {
      const dir = tmp.dir();
      const marker = checkpointed(dir);
      const r = train(env(dir, { WINDTUNNEL_STEPS: "20", WINDTUNNEL_METRICS: join(dir, "again.jsonl"), ...over(dir, marker) }));
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(existsSync(join(dir, "again.jsonl"))).toBe(false);
    }, T);
  });
});
