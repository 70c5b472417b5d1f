import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { canonicalJson, configHash, nestedDeeperThan } from "../../src/evidence/hash.ts";

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

  it("writes what the first canonicalJson wrote, so every recorded config_hash still matches (property)", () => {
    // The earlier filter/map/join form, kept here as the reference.
    const reference = (value: unknown): string => {
      if (value === null || typeof value !== "object") {
        if (typeof value === "number" && !Number.isFinite(value)) return JSON.stringify(String(value));
        if (Object.is(value, -0)) return "0";
        return JSON.stringify(value) ?? "null";
      }
      if (Array.isArray(value)) return `[${value.map(reference).join(",")}]`;
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${reference(obj[k])}`).join(",")}}`;
    };
    const anything = fc.anything({ maxDepth: 3, withNullPrototype: false, values: [fc.double(), fc.constantFrom(-0, Number.NaN, Infinity, undefined)] });
    fc.assert(fc.property(fc.dictionary(fc.string({ maxLength: 6 }), anything, { maxKeys: 6 }), (obj) => {
      expect(canonicalJson(obj)).toBe(reference(obj));
    }), { numRuns: 2000 });
    expect(configHash({ lr: 0.001, d_hidden: 64, n_layer: 1, context: 8 })).toBe(configHash({ context: 8, n_layer: 1, d_hidden: 64, lr: 0.001, seed: 3 }));
  });
});

describe("nestedDeeperThan", () => {
  const depth = (v: unknown): number => (v === null || typeof v !== "object" ? 0 : 1 + Math.max(0, ...(Array.isArray(v) ? v : Object.values(v)).map(depth)));
  it("is true exactly when objects and arrays nest more than the limit (property)", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 5 }), fc.integer({ min: 0, max: 6 }), (v, limit) => {
        expect(nestedDeeperThan(v, limit)).toBe(depth(v) > limit);
      }),
      { numRuns: 3000 },
    );
  });

  it.each([
    [{ lr: 1, d: 2 }, 0, true],
    [{ lr: 1, d: 2 }, 1, false],
    [{ lr: 1, model: { d: 2 } }, 1, true],
    [{ lr: 1, model: { d: 2 } }, 2, false],
    [[[[]]], 2, true],
    [3, 0, false],
  ])("%j with limit %d: %s", (v, limit, want) => {
    expect(nestedDeeperThan(v, limit)).toBe(want);
  });
});
