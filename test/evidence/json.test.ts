import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { findDuplicateKey, parseJsonLine, parseJsonText } from "../../src/evidence/json.ts";

describe("parseJsonLine", () => {
  it("parses plain JSON on the fast path", () => {
    expect(parseJsonLine('{"step":1,"loss":2.5}')).toEqual({ ok: true, value: { step: 1, loss: 2.5 }, nonFiniteTokens: false });
  });

  it("accepts Python's NaN, Infinity and -Infinity tokens outside strings only", () => {
    const r = parseJsonLine('{"a":NaN,"b":Infinity,"c":-Infinity,"d":"NaN Infinity","e":[NaN]}');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const v = r.value as Record<string, unknown>;
    expect(v["a"]).toBeNaN();
    expect(v["b"]).toBe(Infinity);
    expect(v["c"]).toBe(-Infinity);
    expect(v["d"]).toBe("NaN Infinity");
    expect((v["e"] as number[])[0]).toBeNaN();
    expect(r.nonFiniteTokens).toBe(true);
  });

  it("refuses a key repeated inside a nested config, as a trajectory row carries one", () => {
    expect(parseJsonLine('{"id":"c1","config":{"lr":0.01,"lr":0.02},"val_bpb":1.2,"status":"ok"}')).toMatchObject({ ok: false, field: "config.lr" });
    expect(parseJsonLine('{"id":"c1","config":{"lr":0.01,"opt":{"b1":0.9}},"val_bpb":1.2,"status":"ok"}')).toMatchObject({ ok: true });
  });

  it.each([
    ['{"step":1,NaN:0,"loss":NaN,"loss":2.1}', "json"], // a bare token as a key is not JSON, and must not hide the repeat
    ['{"a":1,"a":"\\u003a"}', "a"], // an escaped colon the text does not show
    ['{"time":"12:00:00","time":"1"}', "time"],
    ['{"a:b":1,"a:b":2}', "a:b"],
    ['{"x":["1:2",{"y":"3:4","y":5}]}', "x.1.y"],
  ])("refuses a repeated key among colons in strings: %s", (text, field) => {
    expect(parseJsonLine(text)).toMatchObject({ ok: false, field });
  });

  it("tells a repeated key from colons in keys and strings exactly as the scanner does (property)", () => {
    // A key or a value may also be a bare NaN/Infinity token (`raw`), as Python writes them.
    type Node = { obj: [string | { raw: string }, Node][] } | { arr: Node[] } | { leaf: string | number | boolean | null } | { raw: string };
    const token = fc.record({ raw: fc.constantFrom("NaN", "Infinity", "-Infinity") });
    const text = fc.string({ unit: fc.constantFrom(":", "a", "b", '"', "\\", "é", "\u2028"), maxLength: 5 });
    const key = fc.oneof({ arbitrary: text, weight: 4 }, { arbitrary: fc.constantFrom("a", "time", "a:b"), weight: 4 }, { arbitrary: token, weight: 1 });
    const tree = fc.letrec<{ node: Node; obj: Node }>((tie) => ({
      node: fc.oneof({ depthSize: "small", withCrossShrink: true }, fc.record({ leaf: fc.oneof(text, fc.integer(), fc.constant(null), fc.boolean()) }), token, fc.record({ arr: fc.array(tie("node"), { maxLength: 3 }) }), tie("obj")),
      obj: fc.record({ obj: fc.array(fc.tuple(key, tie("node")), { maxLength: 4 }) }),
    })).obj;
    // Written by hand, so a key may repeat in one object.
    const write = (n: Node): string =>
      "obj" in n
        ? `{${n.obj.map(([k, v]) => `${typeof k === "string" ? JSON.stringify(k) : k.raw}:${write(v)}`).join(",")}}`
        : "arr" in n
          ? `[${n.arr.map(write).join(",")}]`
          : "raw" in n
            ? n.raw
            : JSON.stringify(n.leaf);
    const bareKey = (n: Node): boolean => ("obj" in n ? n.obj.some(([k, v]) => typeof k !== "string" || bareKey(v)) : "arr" in n ? n.arr.some(bareKey) : false);
    let repeats = 0;
    fc.assert(
      fc.property(tree, fc.boolean(), (root, escape) => {
        let line = write(root);
        // A colon the text does not show: the string's first character written as an escape (the
        // text can spell NaN or Infinity only as tokens, so a line without them is plain JSON).
        if (escape && !/NaN|Infinity/.test(line)) {
          line = line.replace(/:"/, ':"\\u003a');
          let valid = true;
          try {
            JSON.parse(line);
          } catch {
            valid = false; // the escape landed inside a string's closing quote
          }
          fc.pre(valid);
        }
        const r = parseJsonLine(line);
        // A key is a string: a bare token there is invalid JSON, however the rest reads.
        if (bareKey(root)) {
          expect(r, line).toMatchObject({ ok: false, field: "json" });
          return;
        }
        if (!r.ok) expect(r.field, line).not.toBe("json");
        const dup = findDuplicateKey(line);
        if (dup !== undefined) repeats++;
        expect(r.ok, line).toBe(dup === undefined);
      }),
      { numRuns: 3000, seed: 16 },
    );
    expect(repeats).toBeGreaterThan(100);
  });

  it("never turns a string that spells its NaN marker into a number or a function", () => {
    for (const suffix of ["NaN", "constructor", "x"]) {
      const r = parseJsonLine(`{"a":"\\u0000windtunnel-nonfinite:${suffix}","b":NaN}`);
      expect(r.ok && typeof (r.value as Record<string, unknown>)["a"] !== "string").toBe(false);
    }
    expect(parseJsonLine('{"a":"\\u0000windtunnel-nonfinite:NaN"}')).toMatchObject({ ok: true, value: { a: "\u0000windtunnel-nonfinite:NaN" } });
  });

  it("does not mistake an escaped quote for the end of a string", () => {
    expect(parseJsonLine('{"x":"a\\"NaN","y":NaN}')).toMatchObject({ ok: true, value: { x: 'a"NaN' } });
  });

  it.each([
    ['{"step": 1, "loss": 1.2.3}', "json", /column 24/],
    ['{"step": 1, "loss": "1.2}', "json", /unterminated string/],
    ['{"step": 1, "lo', "json", /unterminated string|ends early/],
    ['{"step": 1, "loss": 2', "json", /ends early/],
    ["", "json", /empty line/],
    ["nan", "json", /unexpected character/],
    ['{"a":NaN,"b":1e999}', "b", /overflows/],
  ])("rejects %j naming field %s", (text, field, message) => {
    const r = parseJsonLine(text);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.field).toBe(field);
    expect(r.message).toMatch(message);
    expect(r.message).not.toContain("\n");
  });
});

describe("parseJsonText", () => {
  it.each([
    ['{"a":{"b":1,"c":2}}', { ok: true, value: { a: { b: 1, c: 2 } } }],
    ['{"a":1,"a":2}', { ok: false, problem: "duplicate", key: "a" }],
    ['{"a":{"b":1,"b":2}}', { ok: false, problem: "duplicate", key: "a.b" }],
    // Nested objects are proved duplicate-free by counting keys at every depth against colons;
    // a repeat anywhere, or a colon inside a string, must still reach the scanner.
    ['{"a":[{"x":1},{"x":1}],"b":{"c":{"d":2}}}', { ok: true, value: { a: [{ x: 1 }, { x: 1 }], b: { c: { d: 2 } } } }],
    ['{"a":[{"x":1},{"x":1,"x":2}]}', { ok: false, problem: "duplicate", key: "a.1.x" }],
    ['{"a":{"b":{"c":1,"c":2}},"d":"e:f"}', { ok: false, problem: "duplicate", key: "a.b.c" }],
    ['{"a":"x:y","b":{"c":1}}', { ok: true, value: { a: "x:y", b: { c: 1 } } }],
    ["{nope", { ok: false, problem: "syntax" }],
  ])("%s", (text, want) => expect(parseJsonText(text)).toMatchObject(want));
});
