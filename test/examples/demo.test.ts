// The committed demo evidence is exactly what its generator writes: nobody hand-edited it.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { writeDemo } from "../../examples/demo/generate.ts";
import { REPO } from "../helpers/shared.ts";
import { useTmpDir } from "../helpers/tmp.ts";

const tmp = useTmpDir();

describe("examples/demo", () => {
  it("is reproduced byte for byte by examples/demo/generate.ts", () => {
    const written = writeDemo(tmp.dir());
    expect(written).toHaveLength(4);
    for (const f of written) {
      const rel = f.slice(tmp.dir().length + 1);
      expect(readFileSync(f, "utf8"), rel).toBe(readFileSync(join(REPO, "examples/demo", rel), "utf8"));
    }
  });
});

describe("examples/demo curves", () => {
  it("are named by the sweep gate's finalists, so the stress gates tie each to its finalist", async () => {
    const { evaluateSweep } = await import("../../src/gates/sweep.ts");
    const { readTrajectoryFile } = await import("../../src/evidence/read.ts");
    const { DEFAULT_POLICY } = await import("../helpers/policy.ts");
    const { CURVES } = await import("../../examples/demo/generate.ts");
    const t = await readTrajectoryFile(join(REPO, "examples/demo/trajectory.jsonl"));
    const sweep = evaluateSweep({ subject: "trajectory.jsonl", rows: t.rows, unreadable: t.unreadable }, DEFAULT_POLICY);
    expect(CURVES.map((c) => c.name)).toEqual(sweep.finalists.map((f) => f.id));
  });
});
