// Our JSON files are read in one place: every schema problem is reported at once, each naming
// the file and the field, and the sha256 is that of the bytes read.
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import "../../src/common/zod-setup.ts";
import * as z from "zod/mini";
import { InputError } from "../../src/common/errors.ts";
import { readJsonFile } from "../../src/evidence/json-file.ts";
import { useTmpDir } from "../helpers/tmp.ts";

const { write } = useTmpDir();
const schema = z.object({ a: z.number(), b: z.string(), c: z.array(z.number()) });

describe("readJsonFile", () => {
  it("returns the value and the sha256 of the bytes", () => {
    const text = '{"a": 1, "b": "x", "c": [1, 2]}\n';
    const f = write("ok.json", text);
    expect(readJsonFile(f, schema, "thing")).toEqual({ value: { a: 1, b: "x", c: [1, 2] }, sha256: createHash("sha256").update(text).digest("hex") });
  });

  it("reports every schema problem, not the first, each at its field", () => {
    const f = write("bad.json", '{"a": "1", "c": [1, "2"]}');
    let err: unknown;
    try {
      readJsonFile(f, schema, "thing");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    const lines = (err as InputError).message.split("\n");
    expect(lines).toHaveLength(3);
    expect(lines.some((l) => l.startsWith(`${f}`) && l.includes("a:"))).toBe(true);
    expect(lines.some((l) => l.includes("b:"))).toBe(true);
    expect(lines.some((l) => l.includes("c.1:"))).toBe(true);
    for (const l of lines) expect(l).toContain("not a windtunnel thing");
  });

  it("refuses a key written twice and text that is not JSON, naming the file", () => {
    expect(() => readJsonFile(write("dup.json", '{"a": 1, "a": 2}'), schema, "thing")).toThrow(/a: written twice/);
    expect(() => readJsonFile(write("no.json", "{a:"), schema, "thing")).toThrow(/no\.json.*not JSON/);
  });
});
