// The process's writer on a file descriptor: whole lines out through short writes, and a
// descriptor that would block handed to Node's stream with the bytes not yet written.
import { describe, expect, it } from "vitest";
import { fdWriter } from "../../src/cli/io.ts";

const errno = (code: string): NodeJS.ErrnoException => Object.assign(new Error(code), { code });

describe("fdWriter", () => {
  it("finishes a line the descriptor took a few bytes at a time", () => {
    const got: Buffer[] = [];
    const write = ((_fd: number, b: Uint8Array, offset: number, length: number) => {
      const n = Math.min(3, length);
      got.push(Buffer.from(b.subarray(offset, offset + n)));
      return n;
    }) as never;
    fdWriter(1, () => ({ write: () => true, on: () => undefined }) as never, write)("gate ✓ passed\n");
    expect(got.length).toBeGreaterThan(4);
    expect(Buffer.concat(got).toString()).toBe("gate ✓ passed\n");
  });

  it("hands the rest to the stream when the descriptor would block, and keeps using it", () => {
    let calls = 0;
    const write = ((_fd: number, _b: Uint8Array, _o: number, length: number) => {
      if (++calls > 1) throw errno("EAGAIN");
      return Math.min(4, length);
    }) as never;
    const streamed: string[] = [];
    const stream = { write: (t: string | Uint8Array) => (streamed.push(Buffer.from(t).toString()), true), on: () => stream };
    const out = fdWriter(1, () => stream as never, write);
    out("abcdefgh\n");
    out("next\n");
    expect(streamed).toEqual(["efgh\n", "next\n"]);
  });

  it("throws what is not a closed pipe or a full one", () => {
    const write = (() => {
      throw errno("EBADF");
    }) as never;
    expect(() => fdWriter(9, () => ({}) as never, write)("x\n")).toThrow("EBADF");
  });
});
