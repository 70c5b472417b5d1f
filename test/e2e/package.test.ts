// What `npm install windtunnel` gives a user: the bundled dist/ binary, with its policies and the demo evidence.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { execa } from "execa";
import { REPO } from "../helpers/shared.ts";

beforeAll(async () => {
  await execa("npm", ["run", "build"], { cwd: REPO });
}, 120_000);

describe("the published package", () => {
  it("runs the second time from the code cache the first run wrote, with the same output", async () => {
    const cache = mkdtempSync(join(tmpdir(), "windtunnel-code-cache-"));
    try {
      const args = [join(REPO, "dist/bin.js"), "gate", "--phase", "all", "--format", "json", ...["trajectory.jsonl", "curves/c078.jsonl", "curves/c023.jsonl", "curves/c086.jsonl", "campaign.yaml"].map((f) => join(REPO, "examples/demo", f))];
      // Node's compile-cache folder (a versioned folder under NODE_COMPILE_CACHE) holds ours too.
      const gate = () => execa(process.execPath, args, { cwd: REPO, reject: false, env: { NODE_COMPILE_CACHE: cache, NODE_DISABLE_COMPILE_CACHE: undefined } });
      const ours = (): string[] => (readdirSync(cache, { recursive: true }) as string[]).filter((f) => f.includes("windtunnel") && f.endsWith(".v8"));
      const strip = (s: string): string => s.replace(/"time": "[^"]+"/, "");
      const first = await gate();
      expect(first.exitCode, first.stderr).toBe(0);
      const caches = ours();
      expect(caches.map((f) => basename(f).split("-")[0])).toEqual(["gate"]);
      const mtime = statSync(join(cache, caches[0] ?? "")).mtimeMs;
      const second = await gate();
      expect(second.exitCode, second.stderr).toBe(0);
      expect(strip(second.stdout)).toBe(strip(first.stdout));
      // The cache file is not rewritten when it was used.
      expect(ours()).toEqual(caches);
      expect(statSync(join(cache, caches[0] ?? "")).mtimeMs).toBe(mtime);
      const off = await execa(process.execPath, args, { cwd: REPO, reject: false, env: { NODE_COMPILE_CACHE: join(cache, "off"), NODE_DISABLE_COMPILE_CACHE: "1" } });
      expect(off.exitCode, off.stderr).toBe(0);
      expect(existsSync(join(cache, "off"))).toBe(false);
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });

  it("builds, runs its binary, and ships the files the binary needs", async () => {
    // The bundled binary drives the bundled reference trainer (what `windtunnel demo` runs).
    const dir = mkdtempSync(join(tmpdir(), "windtunnel-pkg-"));
    try {
      const sweep = await execa(process.execPath, [join(REPO, "dist/bin.js"), "lab", "sweep", "--menu", join(REPO, "examples/menu.yaml"), "--dir", dir, "--candidates", "2", "--repeats", "0", "--", process.execPath, join(REPO, "dist/trainer.js")], { cwd: "/", reject: false, env: { CI: "true" } });
      expect(sweep.exitCode, sweep.stderr).toBe(0);
      const rows = readFileSync(join(dir, "trajectory.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { status: string; val_bpb: number });
      expect(rows.map((r) => r.status)).toEqual(["ok", "ok"]);
      expect(rows[0]?.val_bpb).toBeGreaterThan(3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const gate = await execa(process.execPath, [join(REPO, "dist/bin.js"), "gate", join(REPO, "examples/demo/trajectory.jsonl"), ...["c078", "c023", "c086"].map((c) => join(REPO, `examples/demo/curves/${c}.jsonl`)), join(REPO, "examples/demo/campaign.yaml")], { cwd: "/", reject: false });
    expect(gate.exitCode, gate.stderr).toBe(0);

    const pack = await execa("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: REPO });
    const files = (JSON.parse(pack.stdout) as { files: { path: string }[] }[])[0]?.files.map((f) => f.path) ?? [];
    expect(files).toContain("dist/cli.cjs");
    expect(files).toContain("dist/core.cjs");
    // The core script (gate, validate, cost, schema) leaves out the lab, the report, the stack and the watchdog.
    expect(statSync(join(REPO, "dist/core.cjs")).size).toBeLessThan(0.6 * statSync(join(REPO, "dist/cli.cjs")).size);
    // The bundled binary draws the report and plans the stack (the watchdog from its prebuilt bundle).
    const figs = mkdtempSync(join(tmpdir(), "windtunnel-pkg-figs-"));
    try {
      const rep = await execa(process.execPath, [join(REPO, "dist/bin.js"), "report", "--format", "png", "--out", figs, join(REPO, "examples/demo/trajectory.jsonl"), join(REPO, "examples/demo/curves/c078.jsonl")], { cwd: "/", reject: false });
      expect(rep.exitCode, rep.stderr).toBe(0);
      expect(rep.stdout).toContain("sweep.png, stress.png");
      // vega is an ES module imported from the bundled script: no experimental-loader warning.
      expect(rep.stderr).not.toContain("ExperimentalWarning");
    } finally {
      rmSync(figs, { recursive: true, force: true });
    }
    for (const needed of ["dist/bin.js", "dist/trainer.js", "dist/watchdog-handler.mjs", "dist/rehearse-bin/rehearse-run", "dist/rehearse-bin/docker", "Pulumi.yaml", "stacks/Pulumi.example.yaml", "examples/menu.yaml", "examples/menu-diverging.yaml", "examples/demo-policy.yaml", "examples/trainer/model.ts", "gates/default.yaml", "gates/strict.yaml", "examples/demo/trajectory.jsonl", "examples/demo/curves/c078.jsonl", "examples/demo/campaign.yaml", "package.json", "README.md"]) {
      expect(files).toContain(needed);
    }
    expect(files.some((f) => f.startsWith("test/") || f.startsWith("src/"))).toBe(false);
  });
});

// The error paths of the bundled binary, not only of the sources: a bundled CommonJS dependency
// once turned every located YAML error into exit 70 ("t is not a constructor").
describe("the published binary's bad-input paths", () => {
  const run = (args: readonly string[], cwd: string) => execa(process.execPath, [join(REPO, "dist/bin.js"), ...args], { cwd, reject: false, env: { WINDTUNNEL_DEBUG: "" } });
  let dir = "";
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "windtunnel-dist-errors-"));
    return () => rmSync(dir, { recursive: true, force: true });
  });
  const write = (name: string, text: string): string => {
    const f = join(dir, name);
    writeFileSync(f, text);
    return f;
  };

  it("reports the README's policy mistakes at their line and column (exit 2)", async () => {
    // README "Gate policy": gates/mine.yaml:4:8 and :5:3.
    const policy = write("mine.yaml", "extends: default\nsweep:\n  separation:\n    z: three\n  finalistz: 3\n");
    const r = await run(["gate", "--phase", "sweep", "--policy", policy, join(REPO, "examples/demo/trajectory.jsonl")], dir);
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toContain(`${policy}:4:8: sweep.separation.z: expected number, got "three"`);
    expect(r.stderr).toContain(`${policy}:5:3: sweep.finalistz: unknown key`);
    expect(r.stderr).not.toMatch(/internal error/);
  });

  it("reports the README's menu mistake at its line (exit 2)", async () => {
    const menu = write("menu.yaml", "knobs:\n  x: [1, 2]\nbaseline:\n  x: 1\n  y: 2\n");
    const r = await run(["lab", "sweep", "--menu", menu, "--dir", join(dir, "lab"), "--", "true"], dir);
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toContain(`${menu}:5:6: baseline.y: y is not a knob`);
  });

  it("reports a campaign plan mistake at its line (exit 2)", async () => {
    const plan = write("campaign.yaml", readFileSync(join(REPO, "examples/demo/campaign.yaml"), "utf8").replace("nodes: 1", "nodes: one"));
    const r = await run(["gate", "--phase", "spend", "--campaign", plan], dir);
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^${plan.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:4:8: nodes: expected .*got "one"`, "m"));
  });

  it("reports a stack file mistake at its line (exit 2)", async () => {
    const stack = write("Pulumi.bad.yaml", readFileSync(join(REPO, "stacks/Pulumi.example.yaml"), "utf8").replace("windtunnel:hours: 168", "windtunnel:hours: a week"));
    const r = await run(["plan", "--stack-file", stack], REPO);
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/Pulumi\.bad\.yaml:\d+:\d+: config\.windtunnel:hours: expected .*got "a week"/);
    expect(r.stderr).not.toMatch(/internal error/);
  });
});
