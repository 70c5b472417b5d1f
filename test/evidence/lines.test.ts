import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { readLines } from "../../src/evidence/lines.ts";
import { Diagnostics } from "../../src/common/problems.ts";
import { useTmpDir } from "../helpers/tmp.ts";

const tmp = useTmpDir();

async function collect(file: string, opts: { chunkBytes?: number; maxLineChars?: number } = {}) {
  const diag = new Diagnostics(file);
  const lines: { no: number; text: string | null }[] = [];
  let unterminated = false;
  for await (const b of readLines(file, diag, opts)) {
    b.lines.forEach((text, i) => lines.push({ no: b.first + i, text }));
    if (b.unterminatedLast) unterminated = true;
  }
  return { lines, diag, unterminated };
}

describe("readLines", () => {
  it("numbers LF lines and flags a last line without newline", async () => {
    const { lines, unterminated } = await collect(tmp.write("a.txt", "one\ntwo\nthree"));
    expect(lines).toEqual([
      { no: 1, text: "one" },
      { no: 2, text: "two" },
      { no: 3, text: "three" },
    ]);
    expect(unterminated).toBe(true);
  });

  it("strips CR of CRLF endings and a UTF-8 BOM, keeping line numbers", async () => {
    const { lines, unterminated } = await collect(tmp.write("b.txt", "\uFEFFone\r\ntwo\r\n"));
    expect(lines.map((l) => l.text)).toEqual(["one", "two"]);
    expect(unterminated).toBe(false);
  });

  it("keeps multi-byte characters split across chunks intact", async () => {
    const text = "αβγ δ\n€ 12\n😀 emoji\n";
    const { lines } = await collect(tmp.write("c.txt", text), { chunkBytes: 3 });
    expect(lines.map((l) => l.text)).toEqual(["αβγ δ", "€ 12", "😀 emoji"]);
  });

  it("skips an over-long line, reports it, and keeps numbering the lines after it", async () => {
    const { lines, diag } = await collect(tmp.write("d.txt", `ok\n${"x".repeat(100)}\nafter\n`), { maxLineChars: 50, chunkBytes: 16 });
    expect(lines).toEqual([
      { no: 1, text: "ok" },
      { no: 2, text: null },
      { no: 3, text: "after" },
    ]);
    expect(diag.problems).toMatchObject([{ line: 2, field: "line", kind: "error" }]);
  });

  it("stops at a NUL byte with the line it was on", async () => {
    const { diag, lines } = await collect(tmp.write("e.bin", Buffer.concat([Buffer.from("a\nb\n"), Buffer.from([0x41, 0x00, 0x42])])));
    expect(lines.length).toBeLessThanOrEqual(2);
    expect(diag.problems).toMatchObject([{ line: 3, field: "encoding" }]);
  });

  it("stops at invalid UTF-8 with the line it was on", async () => {
    const { diag } = await collect(tmp.write("f.txt", Buffer.concat([Buffer.from("a\nb\nc"), Buffer.from([0xff, 0xfe]), Buffer.from("\n")])));
    expect(diag.problems).toMatchObject([{ line: 3, field: "encoding" }]);
  });

  it("yields the same lines as a plain split for any text, ending and chunk size", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.string({ unit: "grapheme", maxLength: 20 }).map((s) => s.replace(/[\r\n\u0000]/g, "")), { maxLength: 30 }),
        fc.constantFrom("\n", "\r\n"),
        fc.boolean(),
        fc.integer({ min: 1, max: 64 }),
        async (parts, eol, finalNewline, chunkBytes) => {
          const text = parts.join(eol) + (finalNewline && parts.length > 0 ? eol : "");
          const { lines, diag } = await collect(tmp.write("p.txt", text), { chunkBytes });
          // A trailing line break ends the last line; it does not start an empty one.
          const expected = text.split(eol);
          if (expected[expected.length - 1] === "") expected.pop();
          expect(diag.ok).toBe(true);
          expect(lines.map((l) => l.text)).toEqual(expected);
          expect(lines.map((l) => l.no)).toEqual(expected.map((_, i) => i + 1));
        },
      ),
      { numRuns: 150 },
    );
  });
});
