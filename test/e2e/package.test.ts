// What `npm install windtunnel` gives a user: the bundled dist/ binary, with its policies and the demo evidence.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { execa } from "execa";
import { REPO } from "../helpers/shared.ts";

describe("the published package", () => {
  it("builds, runs its binary, and ships the files the binary needs", async () => {
    await execa("npm", ["run", "build"], { cwd: REPO });
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
    const gate = await execa(process.execPath, [join(REPO, "dist/bin.js"), "gate", join(REPO, "examples/demo/trajectory.jsonl"), join(REPO, "examples/demo/curves/finalist-1.jsonl"), join(REPO, "examples/demo/campaign.yaml")], { cwd: "/", reject: false });
    expect(gate.exitCode, gate.stderr).toBe(0);

    const pack = await execa("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: REPO });
    const files = (JSON.parse(pack.stdout) as { files: { path: string }[] }[])[0]?.files.map((f) => f.path) ?? [];
    expect(files.some((f) => f.startsWith("dist/chunks/"))).toBe(true);
    // The bundled binary draws the report and plans the stack (the watchdog from its prebuilt bundle).
    const figs = mkdtempSync(join(tmpdir(), "windtunnel-pkg-figs-"));
    try {
      const rep = await execa(process.execPath, [join(REPO, "dist/bin.js"), "report", "--format", "png", "--out", figs, join(REPO, "examples/demo/trajectory.jsonl"), join(REPO, "examples/demo/curves/finalist-1.jsonl")], { cwd: "/", reject: false });
      expect(rep.exitCode, rep.stderr).toBe(0);
      expect(rep.stdout).toContain("sweep.png, stress.png");
    } finally {
      rmSync(figs, { recursive: true, force: true });
    }
    for (const needed of ["dist/bin.js", "dist/trainer.js", "dist/watchdog-handler.mjs", "Pulumi.yaml", "stacks/Pulumi.example.yaml", "examples/menu.yaml", "examples/menu-diverging.yaml", "examples/demo-policy.yaml", "examples/trainer/model.ts", "gates/default.yaml", "gates/strict.yaml", "examples/demo/trajectory.jsonl", "examples/demo/curves/finalist-1.jsonl", "examples/demo/campaign.yaml", "package.json", "README.md"]) {
      expect(files).toContain(needed);
    }
    expect(files.some((f) => f.startsWith("test/") || f.startsWith("src/"))).toBe(false);
  });
});
