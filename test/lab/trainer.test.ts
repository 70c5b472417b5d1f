// Starting the user's trainer: whether it can start at all, and what a failure to start is.
import { chmodSync, mkdirSync, readFileSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/common/errors.ts";
import { trainerCommandProblem } from "../../src/lab/trainer-command.ts";
import { runTrainer, trainerEnv, type TrainerSpec } from "../../src/lab/trainer.ts";
import { useTmpDir } from "../helpers/tmp.ts";

const tmp = useTmpDir();

function spec(command: string[], extra: Partial<TrainerSpec> = {}): TrainerSpec {
  const dir = join(tmp.dir(), "runs/sweep");
  return { command, id: "c000", config: { x: 1 }, steps: 10, seed: 0, phase: "sweep", metricsFile: join(dir, "c000.metrics.jsonl"), configFile: join(dir, "c000.config.json"), logFile: join(dir, "c000.log"), logEvery: 5, timeoutMs: 20_000, pollMs: 20, ...extra };
}

function script(name: string, body: string, mode = 0o755): string {
  const f = tmp.write(name, `#!/bin/sh\n${body}\n`);
  chmodSync(f, mode);
  return f;
}

describe("a trainer command that cannot start is found before the first candidate", () => {
  it("names what is wrong: missing, a folder, not executable, not on PATH", () => {
    const cwd = tmp.dir();
    script("train.sh", "exit 0");
    script("plain.py", "exit 0", 0o644);
    mkdirSync(join(cwd, "bin"));
    script("bin/tool", "exit 0", 0o644);
    expect(trainerCommandProblem(["./train.sh"], cwd)).toBeUndefined();
    expect(trainerCommandProblem(["sh", "-c", "true"], cwd)).toBeUndefined();
    expect(trainerCommandProblem(["train.sh"], cwd, `/nonexistent:${cwd}`)).toBeUndefined();
    expect(trainerCommandProblem(["./nope.sh"], cwd)).toBe(`the trainer ./nope.sh does not exist (${cwd}/nope.sh)`);
    expect(trainerCommandProblem(["./bin"], cwd)).toBe("the trainer ./bin is a folder, not a program");
    expect(trainerCommandProblem(["./plain.py"], cwd)).toBe(`the trainer ${cwd}/plain.py is not executable: chmod +x it, or name its interpreter first (-- python ./plain.py)`);
    expect(trainerCommandProblem(["tool"], cwd, `/nonexistent:${cwd}/bin`)).toBe(`the trainer tool is found on PATH only as ${cwd}/bin/tool, which is not executable: chmod +x it, or name its interpreter first (-- python tool)`);
    expect(trainerCommandProblem(["pyhton3"], cwd, "/nonexistent:/also-not")).toBe("the trainer pyhton3 is not on PATH (2 folder(s) searched)");
  });
});

describe("runTrainer", () => {
  it("names early stopping's rungs in WINDTUNNEL_EVAL_STEPS, and only when there are some", () => {
    expect(trainerEnv(spec(["t"], { evalSteps: [20, 40] }))["WINDTUNNEL_EVAL_STEPS"]).toBe("20,40");
    expect(trainerEnv(spec(["t"]))).not.toHaveProperty("WINDTUNNEL_EVAL_STEPS");
    expect(trainerEnv(spec(["t"], { evalSteps: [] }))).not.toHaveProperty("WINDTUNNEL_EVAL_STEPS");
  });

  it("tells onPoints whether the trainer still runs: a stop is asked of a live run, never of one that exited", async () => {
    const seen: boolean[] = [];
    const t = script("t.sh", `echo '{"step": 5, "loss": 1, "val_bpb": 1}' >> "$WINDTUNNEL_METRICS"; sleep 0.3; echo '{"step": 10, "loss": 1, "val_bpb": 1}' >> "$WINDTUNNEL_METRICS"`);
    const o = await runTrainer(spec([t], { onPoints: (_p, running) => (seen.push(running), undefined) }));
    expect(o.status).toBe("ok");
    expect(seen[0]).toBe(true);
    const stopped = await runTrainer(spec([t], { onPoints: (_p, running) => (running ? "enough" : undefined) }));
    expect(stopped).toMatchObject({ status: "stopped", steps: 5, error: "enough" });
  });

  it("marks a trainer that could not be spawned as an environmental crash", async () => {
    const gone = script("gone.sh", "exit 0");
    chmodSync(gone, 0o644); // checked before, and broken since: a spawn error (EACCES)
    const o = await runTrainer(spec([gone]));
    expect(o).toMatchObject({ status: "crash", environmental: true });
    expect(o.error).toMatch(/^the trainer could not be started: spawn .*gone\.sh EACCES$/);
    const missing = await runTrainer(spec([join(tmp.dir(), "missing")]));
    expect(missing).toMatchObject({ status: "crash", environmental: true });
    expect(missing.error).toMatch(/ENOENT/);
  });

  it.each([
    [127, true, 'trainer exited with code 127 (the shell\'s "command not found") at step 0'],
    [126, true, 'trainer exited with code 126 (the shell\'s "cannot execute") at step 0'],
    [3, false, "trainer exited with code 3 at step 0"],
  ])("takes exit code %i as the environment's fault: %s", async (code, environmental, error) => {
    const o = await runTrainer(spec([script("t.sh", `echo "python: not found" >&2; exit ${code}`)]));
    expect(o.status).toBe("crash");
    expect(o.environmental === true).toBe(environmental);
    expect(o.error).toBe(`${error}\npython: not found`);
  });

  it("does not write a log or config through a link planted in its folder", async () => {
    const victim = tmp.write("victim.txt", "precious\n");
    mkdirSync(join(tmp.dir(), "runs/sweep"), { recursive: true });
    symlinkSync(victim, join(tmp.dir(), "runs/sweep/c000.log"));
    const err = await runTrainer(spec([script("t.sh", "echo hi")])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toMatch(/c000\.log is a symbolic link; windtunnel does not write through links/);
    expect(readFileSync(victim, "utf8")).toBe("precious\n");
  });
});
