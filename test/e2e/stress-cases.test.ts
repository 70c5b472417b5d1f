// The committed Phase 2 stress curves are exactly what really training the small model produces
// (examples/stress-cases/generate.ts): anyone can remake them, nobody hand-edited them.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { writeCases } from "../../examples/stress-cases/generate.ts";
import { REPO } from "../helpers/shared.ts";
import { useTmpDir } from "../helpers/tmp.ts";

const tmp = useTmpDir();

describe("examples/stress-cases", () => {
  it("regenerates test/fixtures/stress byte for byte", () => {
    const manifest = writeCases(tmp.dir());
    expect(manifest.map((m) => m.name)).toEqual(["healthy", "lr-too-high", "lr-jump", "fp16-overflow", "lr-too-small"]);
    for (const f of [...manifest.map((m) => m.file), "cases.json"]) {
      expect(readFileSync(join(tmp.dir(), f), "utf8"), f).toBe(readFileSync(join(REPO, "test/fixtures/stress", f), "utf8"));
    }
  });
});
