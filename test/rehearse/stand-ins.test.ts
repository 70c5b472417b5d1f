// The rehearsal's own stand-ins, run for real: the fault wrapper (what each scenario does to the
// metrics the watchdog reads, and to the run's exit) and the date stand-in (the node's clock).
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { standInsDir } from "../../src/rehearse/stand-ins.ts";
import { useTmpDir } from "../helpers/tmp.ts";

const WRAPPER = join(standInsDir(), "rehearse-run");
// A trainer in one line: WINDTUNNEL_STEPS lines of loss 2.5, appended as it goes.
const TRAINER = 'for ((s = 1; s <= ${WINDTUNNEL_STEPS:-3}; s++)); do echo "{\\"step\\": $s, \\"loss\\": 2.5, \\"val_loss\\": 2.4}" >> "$WINDTUNNEL_METRICS"; done';

describe("rehearse-run, the fault wrapper", () => {
  const tmp = useTmpDir();
  const run = (fault: string, steps = 8) => {
    const metrics = join(tmp.dir(), "m.metrics.jsonl");
    const r = spawnSync(WRAPPER, [TRAINER], { env: { PATH: process.env["PATH"] ?? "", WINDTUNNEL_METRICS: metrics, STUB_REHEARSE_FAULT: fault, STUB_REHEARSE_STEPS: String(steps), STUB_REHEARSE_AFTER: "5" }, encoding: "utf8", timeout: 10_000 });
    const losses = readFileSync(metrics, "utf8").trim().split("\n").map((l) => /"loss": ([^,}]+)/.exec(l)?.[1]);
    return { status: r.status, losses, text: readFileSync(metrics, "utf8") };
  };

  it.each([
    ["healthy", 0, ["2.5", "2.5", "2.5", "2.5", "2.5", "2.5", "2.5", "2.5"]],
    ["diverge", 0, ["2.5", "2.5", "2.5", "2.5", "2.5", "5", "10", "20"]],
    ["nan", 0, ["2.5", "2.5", "2.5", "2.5", "2.5", "NaN", "NaN", "NaN"]],
    ["fail", 7, ["2.5", "2.5", "2.5", "2.5", "2.5", "2.5", "2.5", "2.5"]],
  ])("%s: exit %i, losses %j", (fault, status, losses) => {
    const r = run(fault);
    expect(r.status).toBe(status);
    expect(r.losses).toEqual(losses);
    // Only the loss is touched: val_loss stays.
    expect(r.text.match(/"val_loss": 2\.4/g)).toHaveLength(8);
  });

  it("silent: passes the first lines on, then hangs without writing", async () => {
    const metrics = join(tmp.dir(), "m.metrics.jsonl");
    const child = spawn(WRAPPER, [TRAINER], { env: { PATH: process.env["PATH"] ?? "", WINDTUNNEL_METRICS: metrics, STUB_REHEARSE_FAULT: "silent", STUB_REHEARSE_STEPS: "8", STUB_REHEARSE_AFTER: "5" }, stdio: "ignore" });
    await new Promise((r) => setTimeout(r, 1500));
    expect(child.exitCode).toBeNull();
    child.kill("SIGKILL");
    expect(readFileSync(metrics, "utf8").trim().split("\n")).toHaveLength(5);
  });

  it("SIGUSR1 (the spot notice's checkpoint signal) stops the run with 0", async () => {
    const child = spawn(WRAPPER, ["sleep 30"], { env: { PATH: process.env["PATH"] ?? "", WINDTUNNEL_METRICS: join(tmp.dir(), "m.jsonl") }, stdio: "ignore" });
    await new Promise((r) => setTimeout(r, 300));
    child.kill("SIGUSR1");
    const code = await new Promise((r) => child.once("exit", r));
    expect(code).toBe(0);
  });
});

describe("date, the node's clock", () => {
  const tmp = useTmpDir();
  const date = (args: string[], clock?: string) => {
    const env: Record<string, string> = { PATH: `${standInsDir()}:${process.env["PATH"] ?? ""}` };
    if (clock !== undefined) env["STUB_CLOCK"] = tmp.write("clock", clock);
    return spawnSync("date", args, { env, encoding: "utf8" }).stdout.trim();
  };

  it("the event format runs on the rehearsal's clock: launch + real elapsed × rate + offset", () => {
    const t0 = Date.now() - 2000;
    // 2 real seconds at 30 min/s = 60 min, plus 15 min of offset.
    const got = Date.parse(date(["-u", "+%Y-%m-%dT%H:%M:%SZ"], `${t0} 30 15\n`));
    const want = t0 + 75 * 60_000;
    expect(Math.abs(got - want)).toBeLessThan(5 * 60_000);
  });

  it("any other use, or no clock, is the real date", () => {
    expect(date(["+%Y"], `${Date.now()} 30 10000000\n`)).toBe(String(new Date().getFullYear()));
    expect(Math.abs(Date.parse(date(["-u", "+%Y-%m-%dT%H:%M:%SZ"])) - Date.now())).toBeLessThan(5000);
  });
});

const hasShellcheck = spawnSync("shellcheck", ["--version"]).status === 0;
describe.skipIf(!hasShellcheck && process.env["CI"] !== "true")("the shipped stand-ins", () => {
  it("pass shellcheck", () => {
    const files = ["curl", "date", "docker", "rehearse-run", "shutdown"];
    const r = spawnSync("shellcheck", ["-x", ...files], { cwd: standInsDir(), encoding: "utf8" });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });
});
