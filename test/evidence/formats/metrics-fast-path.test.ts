// The ingest fast path may only accept what the zod schema accepts, and must build the same point.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { isPlainPoint, toPoint } from "../../../src/evidence/formats/metrics.ts";
import { metricPointSchema } from "../../../src/evidence/schemas.ts";

const value = fc.oneof(
  fc.integer({ min: -5, max: 5 }),
  fc.double(),
  fc.constantFrom(Number.NaN, Infinity, -Infinity, -0, 2 ** 53, 2 ** 53 + 2, 1e308, 0.5),
  fc.string({ maxLength: 3 }),
  fc.constantFrom("", "x".repeat(129), "bf16"),
  fc.constant(null),
  fc.boolean(),
  fc.constant([1]),
  fc.constant({ a: 1 }),
);
const KEYS = ["step", "loss", "val_loss", "val_bpb", "grad_norm", "lr", "tokens", "time_s", "tag", "mfu"] as const;
const candidate = fc.record(Object.fromEntries(KEYS.map((k) => [k, value])) as Record<(typeof KEYS)[number], typeof value>, { requiredKeys: [] });
const nearlyValid = fc.record({
  step: fc.oneof(fc.nat(), value),
  loss: fc.oneof(fc.double(), value),
  lr: fc.option(fc.oneof(fc.double({ min: 0, max: 1 }), value), { nil: undefined }),
  tag: fc.option(fc.oneof(fc.string({ minLength: 1, maxLength: 8 }), value), { nil: undefined }),
});

describe("metrics fast path", () => {
  it.each([
    ["arbitrary objects", candidate],
    ["nearly valid points", nearlyValid],
  ])("never accepts what metricPointSchema rejects (%s)", (_name, arb) => {
    fc.assert(
      fc.property(arb, (o) => {
        const obj = JSON.parse(JSON.stringify(o, (_k, v: unknown) => v)) as Record<string, unknown>;
        // JSON.stringify loses NaN/Infinity; test the in-memory object too.
        for (const x of [o as Record<string, unknown>, obj]) {
          const clean = Object.fromEntries(Object.entries(x).filter(([, v]) => v !== undefined));
          if (!isPlainPoint(clean)) continue;
          const r = metricPointSchema().safeParse(clean);
          expect(r.success).toBe(true);
          if (r.success) expect(toPoint(clean, 1)).toEqual(toPoint(r.data, 1));
        }
      }),
      { numRuns: 3000 },
    );
  });

  it("takes the common line", () => {
    expect(isPlainPoint({ step: 10, loss: 3.2, grad_norm: Number.NaN, lr: 3e-4, tokens: 1e6, time_s: 1.5, tag: "fp8" })).toBe(true);
    expect(isPlainPoint({ step: 10, loss: 3.2, val_loss: null })).toBe(false); // null goes through zod (accepted there)
  });
});
