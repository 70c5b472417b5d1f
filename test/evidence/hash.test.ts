import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { canonicalJson, configHash } from "../../src/evidence/hash.ts";

describe("configHash", () => {
  it("is stable across key order at every depth", () => {
    const a = { lr: 3e-4, model: { d: 1024, n: 16 }, tags: ["x", "y"] };
    const b = { tags: ["x", "y"], model: { n: 16, d: 1024 }, lr: 0.0003 };
    expect(configHash(a)).toBe(configHash(b));
    expect(canonicalJson(b)).toBe('{"lr":0.0003,"model":{"d":1024,"n":16},"tags":["x","y"]}');
  });

  it("ignores the seed by default, so seed repeats share a hash", () => {
    expect(configHash({ lr: 1, seed: 0 })).toBe(configHash({ lr: 1, seed: 7 }));
    expect(configHash({ lr: 1, seed: 0 }, [])).not.toBe(configHash({ lr: 1, seed: 7 }, []));
  });

  it("tells different values and array orders apart", () => {
    expect(configHash({ lr: 1 })).not.toBe(configHash({ lr: 2 }));
    expect(configHash({ a: [1, 2] })).not.toBe(configHash({ a: [2, 1] }));
    expect(configHash({ a: "1" })).not.toBe(configHash({ a: 1 }));
  });

  it("is a 64-digit hex sha256", () => {
    expect(configHash({})).toMatch(/^[0-9a-f]{64}$/);
  });

  it("does not depend on key order for any JSON object (property)", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 8 }), (obj) => {
        const reversed = Object.fromEntries(Object.entries(obj).reverse());
        expect(configHash(reversed)).toBe(configHash(obj));
      }),
    );
  });
});
