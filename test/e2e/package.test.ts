// What `npm install windtunnel` gives a user: the bundled dist/ binary, with its policies and the demo evidence.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { execa } from "execa";
import { REPO } from "../helpers/shared.ts";

describe("the published package", () => {
  it("builds, runs its binary, and ships the files the binary needs", async () => {
    await execa("npm", ["run", "build"], { cwd: REPO });
    const demo = await execa(process.execPath, [join(REPO, "dist/bin.js"), "demo"], { cwd: "/", reject: false });
    expect(demo.exitCode, demo.stderr).toBe(0);
    expect(demo.stdout).toContain("4 of 4 files valid");

    const pack = await execa("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: REPO });
    const files = (JSON.parse(pack.stdout) as { files: { path: string }[] }[])[0]?.files.map((f) => f.path) ?? [];
    expect(files.some((f) => f.startsWith("dist/chunks/"))).toBe(true);
    for (const needed of ["dist/bin.js", "gates/default.yaml", "gates/strict.yaml", "examples/demo/trajectory.jsonl", "examples/demo/curves/finalist-1.jsonl", "examples/demo/campaign.yaml", "package.json", "README.md"]) {
      expect(files).toContain(needed);
    }
    expect(files.some((f) => f.startsWith("test/") || f.startsWith("src/"))).toBe(false);
  });
});
