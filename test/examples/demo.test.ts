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
