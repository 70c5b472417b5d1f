// The committed sanity-day and cloud curves are exactly what really training the small model
// produces (examples/cloud-cases/generate.ts): anyone can remake them, nobody hand-edited them.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { writeCloudCases } from "../../examples/cloud-cases/generate.ts";
import { REPO } from "../helpers/shared.ts";
import { useTmpDir } from "../helpers/tmp.ts";

const tmp = useTmpDir();

describe("examples/cloud-cases", () => {
  it("regenerates test/fixtures/cloud byte for byte", () => {
    const files = writeCloudCases(tmp.dir());
    expect(files).toEqual(["sanity-fp64.jsonl", "sanity-bf16.jsonl", "sanity-shards2.jsonl", "sanity-seed2.jsonl", "verify-steady.jsonl", "verify-lr-jump.jsonl", "cases.json"]);
    for (const f of files) expect(readFileSync(join(tmp.dir(), f), "utf8"), f).toBe(readFileSync(join(REPO, "test/fixtures/cloud", f), "utf8"));
  });
});
