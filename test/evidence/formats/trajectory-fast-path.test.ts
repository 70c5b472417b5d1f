// The trajectory fast path may only accept what the zod schema accepts; what it accepts is used
// as parsed, so the schema's output must carry the same fields.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { isPlainRow } from "../../../src/evidence/formats/trajectory.ts";
import { trajectoryRecordSchema, STATUSES } from "../../../src/evidence/schemas.ts";

const value = fc.oneof(
  fc.integer({ min: -5, max: 5 }),
  fc.double(),
  fc.constantFrom(Number.NaN, Infinity, -Infinity, -0, 2 ** 53, 2 ** 53 + 2, 1e308, 0.5, -1),
  fc.string({ maxLength: 3 }),
  fc.constantFrom("", "ok", "crash", "pruned", "a".repeat(64), "0".repeat(64), "0".repeat(63)),
  fc.constant(null),
  fc.boolean(),
  fc.constant([1]),
  fc.constant({ lr: 1 }),
  fc.constant([]),
);
const rung = fc.oneof(fc.record({ step: fc.oneof(fc.nat(), value), val_bpb: fc.oneof(fc.double({ min: 0, max: 5 }), value) }), value);
const KEYS = ["id", "config", "config_hash", "val_bpb", "status", "steps", "seed", "params", "wall_s", "baseline", "error", "time", "extra"] as const;
const candidate = fc.record(Object.fromEntries(KEYS.map((k) => [k, value])) as Record<(typeof KEYS)[number], typeof value>, { requiredKeys: [] });
/** Usually a valid value of the field, sometimes anything. */
const mostly = <T,>(good: fc.Arbitrary<T>) => fc.oneof({ arbitrary: good, weight: 9 }, { arbitrary: value, weight: 1 });
const nearlyValid = fc.record(
  {
    id: mostly(fc.string({ minLength: 1, maxLength: 4 })),
    config: mostly(fc.dictionary(fc.string({ maxLength: 3 }), fc.oneof(fc.double(), fc.string(), fc.boolean()))),
    config_hash: mostly(fc.stringMatching(/^[0-9a-f]{64}$/)),
    val_bpb: mostly(fc.double({ min: 0, max: 5 })),
    status: mostly(fc.constantFrom(...STATUSES)),
    steps: mostly(fc.nat()),
    seed: mostly(fc.integer()),
    params: mostly(fc.double({ min: 0, max: 1e9 })),
    wall_s: mostly(fc.double({ min: 0, max: 1e3 })),
    baseline: mostly(fc.boolean()),
    pruned_at: rung,
    rungs: fc.oneof(fc.array(rung, { maxLength: 3 }), value),
  },
  { requiredKeys: ["id", "config", "val_bpb", "status"] },
);
const FIELDS = ["id", "config", "config_hash", "val_bpb", "status", "steps", "seed", "params", "wall_s", "baseline", "error", "time", "pruned_at", "rungs"] as const;

describe("trajectory fast path", () => {
  it.each([
    ["arbitrary objects", candidate, 0],
    ["nearly valid rows", nearlyValid, 100],
  ])("never accepts what trajectoryRecordSchema rejects (%s)", (_name, arb, atLeast) => {
    let accepted = 0;
    fc.assert(
      fc.property(arb, (o) => {
        const obj = JSON.parse(JSON.stringify(o)) as Record<string, unknown>;
        // JSON.stringify loses NaN/Infinity and undefined; test the in-memory object too.
        for (const x of [o as Record<string, unknown>, obj]) {
          const clean = Object.fromEntries(Object.entries(x).filter(([, v]) => v !== undefined));
          if (!isPlainRow(clean)) continue;
          accepted++;
          const r = trajectoryRecordSchema().safeParse(clean);
          expect(r.success, JSON.stringify(clean)).toBe(true);
          if (r.success) for (const f of FIELDS) expect((r.data as Record<string, unknown>)[f]).toEqual(clean[f]);
        }
      }),
      { numRuns: 3000 },
    );
    // Not vacuous: the fast path did take rows, each checked against the schema.
    expect(accepted).toBeGreaterThanOrEqual(atLeast);
  });

  it("takes the row lab sweep writes, and leaves the rest to the schema", () => {
    const row = { id: "c001", config: { lr: 0.01, opt: { b1: 0.9 } }, config_hash: "0".repeat(64), val_bpb: 1.25, status: "ok", steps: 60, seed: 0, wall_s: 3.2, time: "2026-12-01T00:00:00Z", proposer: "random" };
    expect(isPlainRow(row)).toBe(true);
    expect(isPlainRow({ ...row, val_bpb: Number.NaN })).toBe(true);
    expect(isPlainRow({ ...row, val_bpb: null, status: "crash", error: "OOM" })).toBe(true);
    const pruned = { ...row, val_bpb: null, status: "pruned", steps: 20, pruned_at: { step: 20, val_bpb: 2.5 }, rungs: [{ step: 20, val_bpb: 2.5 }] };
    expect(isPlainRow(pruned)).toBe(true);
    expect(isPlainRow({ ...pruned, rungs: [{ step: 20, val_bpb: Number.NaN }] })).toBe(false);
    // An overflowed val_bpb (1e999 read as Infinity) and a null optional go through zod, which reports or accepts them.
    expect(isPlainRow({ ...row, val_bpb: Infinity })).toBe(false);
    expect(isPlainRow({ ...row, steps: null })).toBe(false);
    expect(isPlainRow({ ...row, config: [1, 2] })).toBe(false);
  });
});
