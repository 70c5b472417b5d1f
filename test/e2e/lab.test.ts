// `windtunnel lab sweep` against stand-in trainers that misbehave on request: kill -9 and
// resume, hangs, crashes, garbage metrics, and an external proposer that answers nonsense.
import { appendFileSync, chmodSync, copyFileSync, existsSync, linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { execa } from "execa";
import { spawn } from "node:child_process";
import { REPO } from "../helpers/shared.ts";
import { useTmpDir } from "../helpers/tmp.ts";

const tmp = useTmpDir();
const BIN = join(REPO, "src/cli/bin.ts");
const TRAINER = [process.execPath, join(REPO, "test/fixtures/lab/trainer.mjs")];
const PROPOSER = `${process.execPath} ${join(REPO, "test/fixtures/lab/proposer.mjs")}`;

function menu(fixed: Record<string, unknown>, xs = 12): string {
  const choices = Array.from({ length: xs }, (_, i) => i + 1).join(", ");
  const fixedYaml = Object.entries(fixed).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`).join("\n");
  return tmp.write("menu.yaml", `steps: 60\nknobs:\n  x: [${choices}]\nbaseline:\n  x: 1\nfixed:\n${fixedYaml || "  {}"}\n`);
}

function lab(args: string[], env: Record<string, string> = {}, trainer: readonly string[] = TRAINER) {
  return execa(process.execPath, [BIN, "lab", ...args, "--", ...trainer], { cwd: tmp.dir(), reject: false, env: { CI: "true", ...env } });
}

interface Row {
  id: string;
  status: string;
  val_bpb: number | null;
  config: Record<string, unknown>;
  config_hash: string;
  seed: number;
  error?: string;
  repeat_of?: string;
}

function rows(dir: string): Row[] {
  const text = readFileSync(join(dir, "trajectory.jsonl"), "utf8");
  expect(text.endsWith("\n"), "no torn last line").toBe(true);
  return text.trim().split("\n").map((l) => JSON.parse(l) as Row);
}

describe("windtunnel lab sweep", () => {
  it("trains N distinct candidates plus noise repeats, and the trajectory passes its own reader", async () => {
    const m = menu({ mode: "ok" });
    const r = await lab(["sweep", "--menu", m, "--dir", "runs", "--candidates", "8", "--repeats", "2", "--repeat-top", "2", "--parallel", "2"]);
    expect(r.exitCode, r.stderr).toBe(0);
    const got = rows(join(tmp.dir(), "runs"));
    expect(got).toHaveLength(8 + 2 * 3);
    expect(new Set(got.filter((g) => g.seed === 0).map((g) => g.config_hash)).size).toBe(8);
    // By id, not position: with two slots the candidate beside the baseline may finish first.
    expect(got.find((g) => g.id === "c000")).toMatchObject({ baseline: true, config: { x: 1, mode: "ok" } });
    // The two best (x = 3 and x = 2 or 4) get seeds 1 and 2, as does the baseline.
    const repeats = got.filter((g) => g.repeat_of !== undefined);
    expect(new Set(repeats.map((g) => g.repeat_of)).size).toBe(3);
    expect(repeats.map((g) => g.seed).sort()).toEqual([1, 1, 1, 2, 2, 2]);
    expect(r.stderr).toMatch(/\[14\/14\]/);
    // Slots get their own device.
    const logs = got.map((g) => readFileSync(join(tmp.dir(), "runs/sweep", `${g.id}.log`), "utf8"));
    expect(logs.some((l) => l.includes("device 0"))).toBe(true);
    expect(logs.some((l) => l.includes("device 1"))).toBe(true);
    const v = await execa(process.execPath, [BIN, "validate", join(tmp.dir(), "runs/trajectory.jsonl")], { reject: false });
    expect(v.exitCode, v.stdout + v.stderr).toBe(0);
    // Re-running the finished sweep trains nothing.
    const again = await lab(["sweep", "--menu", m, "--dir", "runs", "--candidates", "8", "--repeats", "2", "--repeat-top", "2"]);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).toContain("14 rows (0 trained now");
  });

  it("survives kill -9 mid-run: the re-run repairs the torn line and ends with exactly N rows", async () => {
    const m = menu({ mode: "ok", sleep_ms: 300 });
    const dir = join(tmp.dir(), "runs");
    const args = ["sweep", "--menu", m, "--dir", "runs", "--candidates", "12", "--repeats", "0", "--parallel", "2"];
    const first = lab(args);
    const file = join(dir, "trajectory.jsonl");
    for (let i = 0; i < 200 && !(existsSync(file) && readFileSync(file, "utf8").split("\n").length > 4); i++) await new Promise((r) => setTimeout(r, 50));
    first.kill("SIGKILL");
    await first;
    const before = rows(dir).length;
    expect(before).toBeGreaterThanOrEqual(4);
    expect(before).toBeLessThan(12);
    // What a kill in the middle of a write leaves behind.
    appendFileSync(file, '{"id":"c0');
    const second = await lab(args);
    expect(second.exitCode, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/resuming: \d+ row\(s\) already in trajectory\.jsonl; removed a torn last line/);
    expect(second.stderr).toMatch(/stopped \d trainer\(s\) left running by it|resuming/);
    const after = rows(dir);
    expect(after).toHaveLength(12);
    expect(new Set(after.map((g) => g.id)).size).toBe(12);
    expect(new Set(after.map((g) => g.config_hash)).size).toBe(12);
    expect(after.slice(0, before)).toEqual(rows(dir).slice(0, before));
  });

  it("keeps a whole last row that only lacks its newline instead of cutting it and training it again", async () => {
    const args = ["sweep", "--menu", menu({ mode: "ok" }), "--dir", "runs", "--candidates", "3", "--repeats", "0"];
    expect((await lab(args)).exitCode).toBe(0);
    const file = join(tmp.dir(), "runs/trajectory.jsonl");
    const whole = readFileSync(file, "utf8");
    writeFileSync(file, whole.slice(0, -1));
    const again = await lab(args);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stderr).toContain("resuming: 3 row(s) already in trajectory.jsonl; kept the last record (line 3), which was whole but for its newline, and added the newline");
    expect(again.stdout).toContain("3 rows (0 trained now");
    expect(readFileSync(file, "utf8")).toBe(whole);
  });

  it("keeps a whole but invalid last row without its newline, and refuses it at its line (nothing is lost)", async () => {
    const args = ["sweep", "--menu", menu({ mode: "ok" }), "--dir", "runs", "--candidates", "3", "--repeats", "0"];
    expect((await lab(args)).exitCode).toBe(0);
    const file = join(tmp.dir(), "runs/trajectory.jsonl");
    const third = readFileSync(file, "utf8").trim().split("\n")[2] as string;
    appendFileSync(file, third.replace(/"id":"c\d+"/, '"id":"c099"').replace('"status":"ok"', '"status":"okay"'));
    const again = await lab(args);
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toMatch(/trajectory\.jsonl:4: status: expected one of ok, crash, timeout, blocked, pruned, got "okay"/);
    expect(readFileSync(file, "utf8")).toContain('"id":"c099"');
  });

  it("after kill -9, stops the dead run's real trainer but not decoys planted in its lock", async () => {
    const dir = join(tmp.dir(), "runs");
    const lockFile = join(dir, ".lab.lock");
    const args = ["sweep", "--menu", menu({ mode: "hang" }), "--dir", "runs", "--candidates", "1", "--repeats", "0"];
    const first = lab([...args, "--timeout", "600"]);
    const recorded = async (): Promise<{ pid: number; start: string; cmdline: string[] } | undefined> => {
      for (let i = 0; i < 200; i++) {
        try {
          const t = (JSON.parse(readFileSync(lockFile, "utf8")) as { trainers: { pid: number; start: string; cmdline: string[] }[] }).trainers[0];
          if (t) return t;
        } catch {
          // not written yet
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      return undefined;
    };
    const trainer = await recorded();
    expect(trainer?.cmdline).toEqual(TRAINER);
    first.kill("SIGKILL");
    await first;
    const orphan = trainer?.pid as number;
    expect(procAlive(orphan), "the killed run's trainer is orphaned").toBe(true);
    // Decoys: what a hand-edited or hostile lock could name.
    const decoys = [spawn("sleep", ["1000"], { detached: true, stdio: "ignore" }), spawn("sleep", ["1000"], { detached: true, stdio: "ignore" })];
    try {
      await Promise.all(decoys.map((d) => new Promise((r) => d.once("spawn", r))));
      const [bare, reused] = decoys.map((d) => d.pid as number) as [number, number];
      const lock = JSON.parse(readFileSync(lockFile, "utf8")) as { trainers: unknown[] };
      lock.trainers.push(bare, { pid: reused, start: trainer?.start, cmdline: ["sleep", "1000"] });
      writeFileSync(lockFile, JSON.stringify(lock));
      const second = await lab([...args, "--timeout", "1"]);
      expect(second.exitCode, second.stderr).toBe(0);
      expect(second.stderr).toContain("stopped 1 trainer(s) left running by it");
      expect(second.stderr).toContain(`left 2 process(es) named in the lock alone, as they could not be verified as its trainers: pid ${bare}: the lock does not record its start time and command line; pid ${reused}: it started at another time than the trainer (the pid was reused)`);
      for (let i = 0; i < 40 && procAlive(orphan); i++) await new Promise((r) => setTimeout(r, 50));
      expect(procAlive(orphan), "the orphan is stopped").toBe(false);
      for (const d of decoys) expect(procAlive(d.pid as number), `decoy ${d.pid}`).toBe(true);
    } finally {
      for (const d of decoys) d.kill("SIGKILL");
    }
  });

  it("stops cleanly on Ctrl-C: running trainers stopped, finished rows kept, exit 130, and the re-run completes", async () => {
    const m = menu({ mode: "ok", sleep_ms: 400 });
    const dir = join(tmp.dir(), "runs");
    const args = ["sweep", "--menu", m, "--dir", "runs", "--candidates", "8", "--repeats", "0", "--parallel", "2"];
    const first = lab(args);
    const file = join(dir, "trajectory.jsonl");
    for (let i = 0; i < 200 && !(existsSync(file) && readFileSync(file, "utf8").split("\n").length > 2); i++) await new Promise((r) => setTimeout(r, 50));
    first.kill("SIGINT");
    const r = await first;
    expect(r.exitCode).toBe(130);
    expect(r.stderr).toMatch(/stopping — the running trainers are being stopped/);
    expect(r.stderr).toMatch(/interrupted after \d+ row\(s\); run the same command again to resume/);
    expect(existsSync(join(dir, ".lab.lock"))).toBe(false);
    const kept = rows(dir).length;
    expect(kept).toBeLessThan(8);
    const again = await lab(args);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(rows(dir)).toHaveLength(8);
  });

  it("kills a hanging trainer at its timeout and records a timeout row; the sweep goes on", async () => {
    const m = menu({ mode: "hang" });
    const t0 = Date.now();
    const r = await lab(["sweep", "--menu", m, "--dir", "runs", "--candidates", "2", "--repeats", "0", "--timeout", "1"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(Date.now() - t0).toBeLessThan(15_000);
    const got = rows(join(tmp.dir(), "runs"));
    expect(got.map((g) => g.status)).toEqual(["timeout", "timeout"]);
    expect(got[0]?.error).toMatch(/^no result within 1 s: killed at step 0\nfake trainer:/);
  });

  it("streams a chatty trainer's 150 MB of stdout to its log without holding it: the run is ok and windtunnel's memory stays flat", async () => {
    const MB = 150;
    const r = lab(["sweep", "--menu", menu({ mode: "ok", chatty_mb: MB }), "--dir", "runs", "--candidates", "1", "--repeats", "0"]);
    // VmHWM is the process's peak resident set so far: the last reading before it exits is its peak.
    let peakKb = 0;
    const status = `/proc/${r.pid}/status`;
    const sample = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(status, "utf8"));
        if (m) peakKb = Math.max(peakKb, Number(m[1]));
      } catch {
        // exited between two samples
      }
    }, 10);
    const done = await r.finally(() => clearInterval(sample));
    console.log(`chatty trainer (${MB} MiB on stdout): windtunnel's peak RSS ${Math.round(peakKb / 1024)} MB`);
    expect(done.exitCode, done.stderr).toBe(0);
    const [row] = rows(join(tmp.dir(), "runs"));
    expect(row).toMatchObject({ status: "ok", val_bpb: 2.2 });
    const log = join(tmp.dir(), "runs/sweep/c000.log");
    const firstLine = readFileSync(log, "utf8").slice(0, 4096).split("\n")[0] as string;
    expect(firstLine).toMatch(/^fake trainer:/);
    expect(statSync(log).size).toBe(Buffer.byteLength(firstLine) + 1 + MB * 1024 * 1024);
    expect(peakKb).toBeGreaterThan(0);
    // Before: a 659 MB peak, and execa's maxBuffer killed the trainer (crash: killed by SIGTERM).
    expect(peakKb).toBeLessThan(300 * 1024);
  });

  it("retries on resume the rows whose trainer could not run (exit 127), and only those", async () => {
    // A wrapper whose interpreter is missing for two candidates until the user fixes the
    // environment, and a third candidate that crashes on its own (exit 3: the recipe's fault).
    const wrapper = tmp.write("train.sh", `#!/bin/sh
if [ -n "$BROKEN" ]; then
  case "$WINDTUNNEL_CANDIDATE" in
    c001|c003) echo "train.sh: 4: python: not found" >&2; exit 127 ;;
    c002) echo "RuntimeError: CUDA out of memory" >&2; exit 3 ;;
  esac
fi
exec ${TRAINER.join(" ")}
`);
    chmodSync(wrapper, 0o755);
    const m = menu({ mode: "ok" });
    const args = ["sweep", "--menu", m, "--dir", "runs", "--candidates", "4", "--repeats", "0"];
    const broken = await lab(args, { BROKEN: "1" }, [wrapper]);
    expect(broken.exitCode, broken.stderr).toBe(0);
    const first = rows(join(tmp.dir(), "runs"));
    const summary = (rs: Row[]) => rs.map((g) => `${g.id} ${g.status}${(g as { environmental?: boolean }).environmental ? " environmental" : ""}`);
    expect(summary(first)).toEqual(["c000 ok", "c001 crash environmental", "c002 crash", "c003 crash environmental"]);
    expect(first[1]?.error).toBe('trainer exited with code 127 (the shell\'s "command not found") at step 0\ntrain.sh: 4: python: not found');
    // The marked rows are still a valid trajectory.
    const v = await execa(process.execPath, [BIN, "validate", join(tmp.dir(), "runs/trajectory.jsonl")], { reject: false });
    expect(v.exitCode, v.stdout + v.stderr).toBe(0);
    const fixed = await lab(args, {}, [wrapper]);
    expect(fixed.exitCode, fixed.stderr).toBe(0);
    expect(fixed.stderr).toContain("resuming: 2 row(s) already in trajectory.jsonl; retrying 2 row(s) whose trainer could not be started");
    const after = rows(join(tmp.dir(), "runs"));
    // The kept rows unchanged, then the retried ones under their ids and configs.
    expect(after.slice(0, 2)).toEqual([first[0], first[2]]);
    expect(summary(after)).toEqual(["c000 ok", "c002 crash", "c001 ok", "c003 ok"]);
    expect(after.slice(2).map((g) => g.config_hash)).toEqual([first[1]?.config_hash, first[3]?.config_hash]);
    const again = await lab(args, {}, [wrapper]);
    expect(again.stdout).toContain("4 rows (0 trained now");
  });

  it("turns a crash, garbage metrics and a missing val_bpb into crash rows with the reason", async () => {
    for (const [mode, reason] of [
      ["crash", /^trainer exited with code 3 at step 1\n[\s\S]*CUDA out of memory/],
      ["garbage", /^bad metrics: sweep\/c000\.metrics\.jsonl:2: loss: expected a number \(NaN and Infinity are allowed\), got "1\.2\.3"/],
      ["no-val", /^the trainer exited 0 without reporting val_bpb \(6 points, last step 60\)/],
    ] as const) {
      const dir = `runs-${mode}`;
      const r = await lab(["sweep", "--menu", menu({ mode }), "--dir", dir, "--candidates", "2", "--repeats", "0"]);
      expect(r.exitCode, r.stderr).toBe(0);
      const got = rows(join(tmp.dir(), dir));
      expect(got.map((g) => g.status), mode).toEqual(["crash", "crash"]);
      expect(got[0]?.error, mode).toMatch(reason);
      expect(got[0]?.val_bpb).toBeNull();
    }
  });

  it("reports an external proposer's invalid answer and goes on with the next proposal", async () => {
    const m = menu({ mode: "ok" });
    const r = await execa(process.execPath, [BIN, "lab", "sweep", "--menu", m, "--dir", "runs", "--candidates", "5", "--repeats", "0", "--proposer-cmd", PROPOSER, "--", ...TRAINER], { cwd: tmp.dir(), reject: false, env: { CI: "true", PROPOSER_MODE: "bad-json-at-2" } });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/proposal 2 \(command\) is invalid: answer is not JSON \(.*\): I think x=4 looks promising! \{x: 4\}/);
    const got = rows(join(tmp.dir(), "runs"));
    expect(got).toHaveLength(5);
    expect(got.map((g) => g.config["x"])).toEqual([1, 3, 4, 5, 6]);
    expect(r.stdout).toMatch(/1 invalid/);
  });

  it("stops a proposer that prints megabytes (memory stays bounded) and refuses an answer naming a key twice", async () => {
    const m = menu({ mode: "ok" });
    const r = await execa("/usr/bin/time", ["-f", "peak %M KB", process.execPath, BIN, "lab", "sweep", "--menu", m, "--dir", "runs", "--candidates", "3", "--repeats", "0", "--proposer-cmd", PROPOSER, "--", ...TRAINER], { cwd: tmp.dir(), reject: false, env: { CI: "true", PROPOSER_MODE: "chatty-dup" } });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain("proposal 1 (command) is invalid: printed more than 1024 KiB on stdout (an answer is one JSON object); stopped");
    expect(r.stderr).toMatch(/proposal 2 \(command\) is invalid: answer names x twice \(which value is meant\?\): \{"x": 3, "x": 4\}/);
    expect(rows(join(tmp.dir(), "runs")).map((g) => g.config["x"])).toEqual([1, 3, 4]);
    const peak = Number(/peak (\d+) KB/.exec(r.stderr)?.[1]);
    console.log(`lab sweep with a 150 MB proposer: peak RSS ${Math.round(peak / 1024)} MB`);
    expect(peak).toBeLessThan(400 * 1024); // it was 3.2 GB
  });

  it("refuses an external proposer's values outside the menu's range and type instead of training them", async () => {
    const m = menu({ mode: "ok" });
    const r = await execa(process.execPath, [BIN, "lab", "sweep", "--menu", m, "--dir", "runs", "--candidates", "3", "--repeats", "0", "--proposer-cmd", PROPOSER, "--", ...TRAINER], { cwd: tmp.dir(), reject: false, env: { CI: "true", PROPOSER_MODE: "off-menu" } });
    expect(r.exitCode, r.stderr).toBe(0);
    for (const [n, got] of [[1, "1e\\+308"], [2, "-1"], [3, '"3" \\(a string\\)'], [4, "2\\.5"]] as const) {
      expect(r.stderr).toMatch(new RegExp(`proposal ${n} \\(command\\) is invalid: x: expected a whole number from 1 to 12 \\(the menu's choices\\), got ${got}`));
    }
    expect(r.stdout).toMatch(/4 invalid/);
    const got = rows(join(tmp.dir(), "runs"));
    expect(got.map((g) => g.config["x"])).toEqual([1, 2, 3]);
  });

  it("answers an agent's repeated proposals from the trajectory instead of training them again", async () => {
    const m = menu({ mode: "ok" });
    const r = await execa(process.execPath, [BIN, "lab", "sweep", "--menu", m, "--dir", "runs", "--candidates", "10", "--repeats", "0", "--proposer-cmd", PROPOSER, "--", ...TRAINER], { cwd: tmp.dir(), reject: false, env: { CI: "true", PROPOSER_MODE: "repeat" } });
    // x cycles 2, 3, 1: three configs (x = 1 is the baseline) and then only repeats.
    expect(r.exitCode).toBe(1);
    expect(rows(join(tmp.dir(), "runs"))).toHaveLength(3);
    expect(r.stderr).toMatch(/proposal \d+ repeats c00\d: answered from the trajectory, not trained again/);
    expect(r.stderr).toMatch(/3 of 10 candidates evaluated: the proposer made 50 proposals in a row that were repeats or invalid/);
  });

  it("sweeps a menu of 10^310 configs (310 knobs × 10 choices) and stops promptly on SIGTERM", async () => {
    const knobs = Array.from({ length: 310 }, (_, k) => `  k${k}: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]`).join("\n");
    const baseline = Array.from({ length: 310 }, (_, k) => `  k${k}: 0`).join("\n");
    const m = tmp.write("huge.yaml", `steps: 20\nknobs:\n${knobs}\nbaseline:\n${baseline}\nfixed:\n  mode: ok\n`);
    const t0 = Date.now();
    const r = await lab(["sweep", "--menu", m, "--dir", "runs", "--candidates", "4", "--repeats", "0"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain("(10^310 configs on the menu, proposer random)");
    const got = rows(join(tmp.dir(), "runs"));
    expect(got).toHaveLength(4);
    expect(new Set(got.map((g) => g.config_hash)).size).toBe(4);
    expect(Date.now() - t0).toBeLessThan(30_000);
    // Before, the proposal loop spun after the baseline and never let the SIGTERM handler run.
    const long = lab(["sweep", "--menu", m, "--dir", "runs2", "--candidates", "500", "--repeats", "0"]);
    const file = join(tmp.dir(), "runs2/trajectory.jsonl");
    for (let i = 0; i < 200 && !(existsSync(file) && readFileSync(file, "utf8").split("\n").length > 2); i++) await new Promise((res) => setTimeout(res, 50));
    const sent = Date.now();
    long.kill("SIGTERM");
    const stopped = await long;
    console.log(`SIGTERM to exit: ${Date.now() - sent} ms`);
    expect(stopped.exitCode, stopped.stderr).toBe(130);
    expect(Date.now() - sent).toBeLessThan(10_000);
    expect(rows(join(tmp.dir(), "runs2")).length).toBeLessThan(500);
  });

  it("refuses a bad menu with file:line:col and a folder holding another menu's sweep", async () => {
    const bad = tmp.write("bad.yaml", "knobs:\n  x: [1, 2]\nbaseline:\n  x: 1\n  y: 2\nfixed:\n  x: 3\n");
    const r = await lab(["sweep", "--menu", bad, "--dir", "runs"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("bad.yaml:5:6: baseline.y: y is not a knob, got 2");
    expect(r.stderr).toContain("bad.yaml:7:6: fixed.x: x is a knob; a key is either turned or fixed, got 3");
    const ok = await lab(["sweep", "--menu", menu({ mode: "ok" }), "--dir", "runs", "--candidates", "1", "--repeats", "0"]);
    expect(ok.exitCode, ok.stderr).toBe(0);
    writeFileSync(join(tmp.dir(), "other.yaml"), "knobs:\n  x: [1, 2, 3]\nbaseline:\n  x: 1\n");
    const other = await lab(["sweep", "--menu", join(tmp.dir(), "other.yaml"), "--dir", "runs", "--candidates", "1"]);
    expect(other.exitCode).toBe(2);
    expect(other.stderr).toMatch(/holds a sweep of a different menu/);
    const none = await execa(process.execPath, [BIN, "lab", "sweep", "--menu", join(tmp.dir(), "other.yaml")], { cwd: tmp.dir(), reject: false });
    expect(none.exitCode).toBe(2);
    expect(none.stderr).toMatch(/no trainer command: put it after --/);
  });
});

/** Whether a process exists and is not a zombie (an orphan's zombie waits for a reaper that may not be there). */
function procAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 1).trim()[0] !== "Z";
  } catch {
    return false;
  }
}

/** A finished 12-candidate sweep in runs/, ready for `lab stress --ignore-sweep-gate`. */
async function swept(fixed: Record<string, unknown> = { mode: "ok" }): Promise<string> {
  const r = await lab(["sweep", "--menu", menu(fixed), "--dir", "runs", "--candidates", "12", "--repeats", "2"]);
  expect(r.exitCode, r.stderr).toBe(0);
  return join(tmp.dir(), "runs");
}

describe("windtunnel lab: bad input is one clear line and exit 2, and nothing is written", () => {
  it("refuses a lab folder holding symbolic links (the red-team's links overwrote two files elsewhere)", async () => {
    const dir = join(tmp.dir(), "runs");
    mkdirSync(join(dir, "sweep"), { recursive: true });
    const log = tmp.write("victim-log.txt", "precious log\n");
    const cfg = tmp.write("victim-config.txt", "precious config\n");
    symlinkSync(log, join(dir, "sweep/c000.log"));
    symlinkSync(cfg, join(dir, "sweep/c000.config.json"));
    const r = await lab(["sweep", "--menu", menu({ mode: "ok" }), "--dir", "runs", "--candidates", "2", "--repeats", "0"]);
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toContain(`windtunnel: ${dir}/sweep/c000.log is a symbolic link to ${log}`);
    expect(r.stderr).toContain(`windtunnel: ${dir}/sweep/c000.config.json is a symbolic link to ${cfg}`);
    expect(r.stderr).toContain("a lab folder holds only files windtunnel writes, and it does not write through links: remove them, or use another --dir");
    expect(readFileSync(log, "utf8")).toBe("precious log\n");
    expect(readFileSync(cfg, "utf8")).toBe("precious config\n");
    expect(existsSync(join(dir, "trajectory.jsonl"))).toBe(false);
    expect(existsSync(join(dir, ".lab.lock"))).toBe(false);
  });

  it("lab stress refuses a link in curves/ too, and --dir may itself be a link", async () => {
    const dir = await swept();
    const victim = tmp.write("victim.txt", "precious\n");
    mkdirSync(join(dir, "curves"));
    symlinkSync(victim, join(dir, "curves/c003.log"));
    const r = await lab(["stress", "--dir", "runs", "--ignore-sweep-gate"]);
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toContain(`windtunnel: ${dir}/curves/c003.log is a symbolic link to ${victim}`);
    expect(readFileSync(victim, "utf8")).toBe("precious\n");
    expect(existsSync(join(dir, "stress.jsonl"))).toBe(false);
    rmSync(join(dir, "curves/c003.log"));
    symlinkSync(dir, join(tmp.dir(), "chosen"));
    const viaLink = await lab(["stress", "--dir", "chosen", "--ignore-sweep-gate"]);
    expect(viaLink.exitCode, viaLink.stderr).toBe(0);
    expect(readFileSync(join(dir, "stress.jsonl"), "utf8").trim().split("\n")).toHaveLength(3);
  });

  it("refuses a trainer that cannot start before the first candidate, instead of a sweep full of crash rows", async () => {
    const m = menu({ mode: "ok" });
    const plain = tmp.write("train.py", "print('hi')\n");
    chmodSync(plain, 0o644);
    // Scripts whose #! interpreter is missing: they spawn with ENOENT as if they did not exist.
    const badShebang = tmp.write("bad-shebang.sh", "#!/nonexistent/python9\nprint(1)\n");
    chmodSync(badShebang, 0o755);
    const badEnv = tmp.write("bad-env.sh", "#!/usr/bin/env pyhton9\nprint(1)\n");
    chmodSync(badEnv, 0o755);
    for (const [trainer, message] of [
      [["./bad-shebang.sh"], "windtunnel: cannot start the trainer: the trainer ./bad-shebang.sh starts with #!/nonexistent/python9, which does not exist here"],
      [["./bad-env.sh"], "windtunnel: cannot start the trainer: the trainer ./bad-env.sh starts with #!/usr/bin/env pyhton9, and pyhton9 is not on PATH"],
      [["./missing.sh"], `windtunnel: cannot start the trainer: the trainer ./missing.sh does not exist (${tmp.dir()}/missing.sh)`],
      [["./train.py"], `windtunnel: cannot start the trainer: the trainer ${plain} is not executable: chmod +x it, or name its interpreter first (-- python ./train.py)`],
      [["pyhton3", "train.py"], "windtunnel: cannot start the trainer: the trainer pyhton3 is not on PATH ("],
    ] as const) {
      const r = await lab(["sweep", "--menu", m, "--dir", "runs", "--candidates", "3", "--repeats", "0"], {}, trainer);
      expect(r.exitCode, r.stderr).toBe(2);
      expect(r.stderr).toContain(message);
      expect(existsSync(join(tmp.dir(), "runs")), "nothing written").toBe(false);
    }
    const dir = await swept();
    const stress = await lab(["stress", "--dir", "runs", "--ignore-sweep-gate"], {}, ["./missing.sh"]);
    expect(stress.exitCode, stress.stderr).toBe(2);
    expect(stress.stderr).toContain("windtunnel: cannot start the trainer: the trainer ./missing.sh does not exist");
    expect(existsSync(join(dir, "stress.jsonl"))).toBe(false);
  });

  it("refuses a malformed lock naming the file and what is wrong, and takes an empty one as stale", async () => {
    const dir = join(tmp.dir(), "runs");
    mkdirSync(dir);
    const args = ["sweep", "--menu", menu({ mode: "ok" }), "--dir", "runs", "--candidates", "1", "--repeats", "0"];
    for (const [text, message] of [
      ['{"pid":5,"trainers":5}', `${dir}/.lab.lock: trainers: expected array, got 5: not a lock windtunnel wrote; if no windtunnel lab run uses this folder, remove ${dir}/.lab.lock and run again`],
      ["<<<<<<< HEAD", `${dir}/.lab.lock: lock: not JSON (`],
    ] as const) {
      writeFileSync(join(dir, ".lab.lock"), text);
      const r = await lab(args);
      expect(r.exitCode, r.stderr).toBe(2);
      expect(r.stderr).toContain(message);
      expect(r.stderr).not.toMatch(/internal error/);
      expect(readFileSync(join(dir, ".lab.lock"), "utf8")).toBe(text);
    }
    writeFileSync(join(dir, ".lab.lock"), "");
    const stale = await lab(args);
    expect(stale.exitCode, stale.stderr).toBe(0);
    expect(existsSync(join(dir, ".lab.lock"))).toBe(false);
  });

  it("refuses a --dir that cannot be created with a sentence (here: under a regular file; root is never refused with EACCES)", async () => {
    const file = tmp.write("not-a-folder", "");
    const sweep = await lab(["sweep", "--menu", menu({ mode: "ok" }), "--dir", "not-a-folder/runs", "--candidates", "1", "--repeats", "0"]);
    expect(sweep.exitCode, sweep.stderr).toBe(2);
    expect(sweep.stderr).toContain(`windtunnel: cannot create the lab folder ${file}/runs: a part of the path is a file, not a folder`);
    const dir = await swept();
    const stress = await lab(["stress", "--dir", "not-a-folder/runs", "--trajectory", join(dir, "trajectory.jsonl"), "--ignore-sweep-gate"]);
    expect(stress.exitCode, stress.stderr).toBe(2);
    expect(stress.stderr).toContain(`windtunnel: cannot create the lab folder ${file}/runs: a part of the path is a file, not a folder`);
  });

  it("refuses a --dir under /proc at once (Node's recursive mkdir loops there forever)", async () => {
    const r = await execa(process.execPath, [BIN, "lab", "sweep", "--menu", menu({ mode: "ok" }), "--dir", "/proc/1/runs", "--", ...TRAINER], { cwd: tmp.dir(), reject: false, timeout: 30_000 });
    expect(r.timedOut).toBe(false);
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toContain("windtunnel: cannot create the lab folder /proc/1/runs: the file system does not allow a folder there");
  });

  it("refuses a hard link in the lab folder: writing it would overwrite the file's other name", async () => {
    const dir = join(tmp.dir(), "runs");
    mkdirSync(join(dir, "sweep"), { recursive: true });
    const notes = tmp.write("notes.txt", "precious notes\n");
    linkSync(notes, join(dir, "sweep/c000.log"));
    const r = await lab(["sweep", "--menu", menu({ mode: "ok" }), "--dir", "runs", "--candidates", "1", "--repeats", "0"]);
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toContain(`windtunnel: ${dir}/sweep/c000.log is a hard link (the file has 2 names; one may be outside the folder)`);
    expect(readFileSync(notes, "utf8")).toBe("precious notes\n");
  });

  it("an unwritable --dir is a sentence and exit 2, not an internal error (run as an unprivileged user)", async (ctx) => {
    // Root writes anywhere, so the permission check runs as nobody, with a node binary nobody can run.
    if (process.getuid?.() !== 0 || !existsSync("/usr/bin/setpriv")) return ctx.skip();
    const dir = tmp.dir();
    chmodSync(dir, 0o755);
    const node = join(dir, "node");
    copyFileSync(process.execPath, node);
    chmodSync(node, 0o755);
    const m = menu({ mode: "ok" });
    chmodSync(m, 0o644);
    mkdirSync(join(dir, "ro"), { mode: 0o755 });
    const r = await execa("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", node, BIN, "lab", "sweep", "--menu", m, "--dir", join(dir, "ro"), "--", node, join(REPO, "test/fixtures/lab/trainer.mjs")], { cwd: dir, reject: false });
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toContain(`windtunnel: cannot write in the lab folder: ${join(dir, "ro")}: permission denied`);
    expect(r.stderr).not.toMatch(/internal error/);
  });
});

describe("windtunnel lab stress", () => {
  it("keeps a whole last record without its newline, and refuses an edited stress.jsonl at its line", async () => {
    const dir = await swept();
    const args = ["stress", "--dir", "runs", "--ignore-sweep-gate"];
    expect((await lab(args)).exitCode).toBe(0);
    const file = join(dir, "stress.jsonl");
    const whole = readFileSync(file, "utf8");
    writeFileSync(file, whole.slice(0, -1));
    const again = await lab(args);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stderr).toContain("stress.jsonl: kept the last record (line 3), which was whole but for its newline, and added the newline");
    expect(again.stderr).toMatch(/resuming: c\d+, c\d+, c\d+ already done/);
    expect(readFileSync(file, "utf8")).toBe(whole);
    writeFileSync(file, `${whole}{"id":"c001"}\n`);
    const edited = await lab(args);
    expect(edited.exitCode, edited.stderr).toBe(2);
    expect(edited.stderr).toContain(`${file}:4: config: required field is missing`);
    expect(existsSync(join(dir, ".lab.lock"))).toBe(false);
  });

  it("retries on resume the runs whose trainer could not run, and keeps the finished ones", async () => {
    const dir = await swept();
    // The first run to start finds its interpreter missing (mkdir is atomic: exactly one does).
    const wrapper = tmp.write("train.sh", `#!/bin/sh\nif [ -n "$BREAK_FIRST" ] && mkdir "$BREAK_FIRST" 2>/dev/null; then echo "python: not found" >&2; exit 127; fi\nexec ${TRAINER.join(" ")}\n`);
    chmodSync(wrapper, 0o755);
    const first = await lab(["stress", "--dir", "runs", "--ignore-sweep-gate"], { BREAK_FIRST: join(tmp.dir(), "broke") }, [wrapper]);
    // What gate will say: a finalist without a curve fails stress.coverage.
    expect(first.exitCode, first.stderr).toBe(1);
    expect(first.stdout).toMatch(/^✗ stress\.coverage: no curve for finalist c\d+/m);
    const records = () => readFileSync(join(dir, "stress.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { id: string; status: string; environmental?: true });
    const [broken, ...rest] = records();
    expect(broken).toMatchObject({ status: "crash", environmental: true });
    expect(rest.map((r) => r.status)).toEqual(["completed", "completed"]);
    const fixed = await lab(["stress", "--dir", "runs", "--ignore-sweep-gate"], {}, [wrapper]);
    expect(fixed.exitCode, fixed.stderr).toBe(0);
    expect(fixed.stderr).toContain(`resuming: ${rest.map((r) => r.id).join(", ")} already done`);
    expect(fixed.stderr).toContain("retrying 1 run(s) whose trainer could not be started");
    expect(records().map((r) => `${r.id} ${r.status}`)).toEqual([`${broken?.id} crash`, ...rest.map((r) => `${r.id} completed`), `${broken?.id} completed`]);
    expect(fixed.stdout.split("\n").filter((l) => /^✓ c\d+: .*passes every stress gate/.test(l))).toHaveLength(3);
    expect(fixed.stdout).toMatch(/^✓ stress\.survivors: 3 of 3 pass every stress gate/m);
  });
});

describe("lab stress and a metrics file replaced during the run (issue 13, finding 10)", () => {
  it("drops a run whose metrics file became a link, and leaves no link in curves/", async () => {
    const dir = await swept();
    const outside = tmp.write("outside.txt", "precious\n");
    // What a third party with write access to the folder would do mid-run, done here by the first
    // trainer's wrapper before it starts (mkdir is atomic: exactly one does), so the test is deterministic.
    const wrapper = tmp.write("plant.sh", `#!/bin/sh\nif mkdir "$PLANT_ONCE" 2>/dev/null; then rm -f "$WINDTUNNEL_METRICS"; ln -s ${outside} "$WINDTUNNEL_METRICS"; fi\nexec ${TRAINER.join(" ")}\n`);
    chmodSync(wrapper, 0o755);
    const r = await lab(["stress", "--dir", "runs", "--ignore-sweep-gate"], { PLANT_ONCE: join(tmp.dir(), "planted") }, [wrapper]);
    const m = /^✗ (c\d+): crash at step \d+: curves\/\1\.jsonl was replaced during the run \(it is now a symbolic link\)/m.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    const target = m?.[1] as string;
    expect(existsSync(join(dir, "curves", `${target}.jsonl`))).toBe(false);
    expect(readdirSync(join(dir, "curves")).filter((f) => lstatSync(join(dir, "curves", f)).isSymbolicLink())).toEqual([]);
    expect(r.stdout).toMatch(new RegExp(`^✗ stress\\.coverage: no curve for finalist ${target}`, "m"));
    expect(r.exitCode).toBe(1); // a finalist without a curve, as gate says
  });
});

describe("lab stress says what gate will say (issue 13, finding 7)", () => {
  it("a trainer that exits 0 writing nothing is a crash with no curve, not '✓ ran 0 steps' (exit 1)", async () => {
    const dir = await swept();
    const r = await lab(["stress", "--dir", "runs", "--ignore-sweep-gate"], { STAND_IN_STRESS_MODE: "silent" });
    expect(r.exitCode, r.stderr).toBe(1);
    expect(r.stdout).not.toMatch(/✓ c\d+/);
    expect(r.stdout.match(/^✗ c\d+: crash at step 0: the trainer exited 0 without writing any metrics to WINDTUNNEL_METRICS$/gm)).toHaveLength(3);
    expect(r.stdout).toContain("✗ no finalist wrote a curve");
    expect(readdirSync(join(dir, "curves")).filter((f) => f.endsWith(".jsonl"))).toEqual([]);
  });

  it("a curve that completes its steps but flatlines is ✗, and lab stress exits as gate does", async () => {
    const dir = await swept();
    const r = await lab(["stress", "--dir", "runs", "--ignore-sweep-gate"], { STAND_IN_STRESS_MODE: "flat" });
    expect(r.exitCode, r.stderr).toBe(1);
    expect(r.stdout.match(/^✗ c\d+: ran 1000 steps in .*, fails stress\.flatline at step \d+: mean loss fell only/gm)).toHaveLength(3);
    expect(r.stdout).toMatch(/^✗ stress\.survivors: 0 of 3 pass every stress gate/m);
    // The command it suggests runs as printed, and says the same.
    const next = /^next: windtunnel (gate .*)$/m.exec(r.stdout)?.[1]?.split(" ") ?? [];
    const suggested = await execa(process.execPath, [BIN, ...next], { cwd: tmp.dir(), reject: false });
    expect(suggested.exitCode, suggested.stderr).toBe(1);
    expect(suggested.stdout).toMatch(/✗ +stress\.survivors/);
    // The same files through `windtunnel gate`: the same curves rejected, the same exit code.
    const curves = readdirSync(join(dir, "curves")).filter((f) => f.endsWith(".jsonl")).map((f) => join(dir, "curves", f));
    const g = await execa(process.execPath, [BIN, "gate", "--phase", "stress", "--format", "json", join(dir, "trajectory.jsonl"), ...curves], { reject: false });
    expect(g.exitCode).toBe(r.exitCode);
    const v = JSON.parse(g.stdout) as { stress: { curves: { subject: string; survived: boolean }[] } };
    expect(v.stress.curves.map((c) => c.survived)).toEqual([false, false, false]);
    for (const c of v.stress.curves) expect(r.stdout).toMatch(new RegExp(`^✗ ${c.subject}: `, "m"));
  });
});
