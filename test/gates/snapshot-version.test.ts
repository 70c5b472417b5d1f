// Monitor snapshots are typed and versioned: a snapshot round-trips through the watchdog's JSON
// exactly, and one of another version, or with any field missing or of another type, is refused
// with a SnapshotError that names the field (never resumed with it undefined or fresh).
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CurveMonitor } from "../../src/gates/stress.ts";
import { EnvelopeMonitor } from "../../src/gates/verify.ts";
import { decodeState, encodeState } from "../../src/gates/snapshot.ts";
import { InputError, SnapshotError } from "../../src/common/errors.ts";
import { forecast } from "../../src/forecast/envelope.ts";
import type { MetricPoint } from "../../src/evidence/schemas.ts";
import { DEFAULT_POLICY } from "../helpers/policy.ts";
import { REPO } from "../helpers/shared.ts";
import { readFile } from "../helpers/read.ts";

const read = async (dir: string, f: string): Promise<MetricPoint[]> => (await readFile(join(REPO, "test/fixtures", dir, f))).points;
const viaJson = <T>(x: T): T => decodeState<T>(encodeState(x));

/** Every field path of a snapshot, nested objects and the first element of each list included. */
function paths(o: unknown, prefix = ""): string[] {
  if (Array.isArray(o)) return o.length > 0 ? paths(o[0], `${prefix}[0]`) : [];
  if (o === null || typeof o !== "object") return [];
  return Object.entries(o).flatMap(([k, v]) => {
    const p = prefix === "" ? k : `${prefix}.${k}`;
    return [p, ...paths(v, p)];
  });
}

/** A deep copy of `o` with the field at `path` (as paths() writes it) deleted or replaced. */
function edit(o: unknown, path: string, value?: unknown): Record<string, unknown> {
  const copy = structuredClone(o) as Record<string, unknown>;
  const keys = path.replace(/\[(\d+)\]/g, ".$1").split(".");
  const last = keys.pop() as string;
  const parent = keys.reduce<Record<string, unknown>>((x, k) => x[k] as Record<string, unknown>, copy);
  if (value === undefined) delete parent[last];
  else parent[last] = value;
  return copy;
}

function refusal(restore: () => unknown): SnapshotError {
  try {
    restore();
  } catch (err) {
    if (err instanceof SnapshotError) return err;
    throw err;
  }
  throw new Error("the snapshot was resumed, not refused");
}

const lrJump = await read("stress", "lr-jump.jsonl");
const stressMonitor = (pts: readonly MetricPoint[]): CurveMonitor => {
  const m = new CurveMonitor("c", DEFAULT_POLICY.stress);
  for (const p of pts) m.push(p);
  return m;
};
const restoreCurve = (data: unknown): CurveMonitor => CurveMonitor.restore("c", DEFAULT_POLICY.stress, data);

const jumped = await read("cloud", "verify-lr-jump.jsonl");
const fit = forecast({ points: jumped.filter((p) => p.step <= 600).map((p) => ({ step: p.step, tokens: p.tokens as number, loss: p.loss as number })), policy: DEFAULT_POLICY.forecast });
if (!fit.ok) throw new Error(fit.reason);
const envelope = fit.envelope;
const envelopeMonitor = (pts: readonly MetricPoint[]): EnvelopeMonitor => {
  const m = new EnvelopeMonitor("c", envelope, DEFAULT_POLICY.verify);
  for (const p of pts) m.push(p);
  return m;
};
const restoreEnvelope = (data: unknown): EnvelopeMonitor => EnvelopeMonitor.restore("c", envelope, DEFAULT_POLICY.verify, data);

/** A monitor that has read the first `n` points of its curve, and a way to feed it the rest. */
interface Partway {
  snapshot(): object;
  readRest(): void;
}

describe.each([
  {
    name: "stress monitor",
    what: "the stress monitor's snapshot",
    snap: () => stressMonitor(lrJump).snapshot(),
    restore: restoreCurve,
    partway: (n: number): Partway => {
      const m = stressMonitor(lrJump.slice(0, n));
      return { snapshot: () => m.snapshot(), readRest: () => lrJump.slice(n).forEach((p) => m.push(p)) };
    },
  },
  {
    name: "verify monitor",
    what: "the verify monitor's snapshot",
    snap: () => envelopeMonitor(jumped).snapshot(),
    restore: restoreEnvelope,
    partway: (n: number): Partway => {
      const m = envelopeMonitor(jumped.slice(0, n));
      return { snapshot: () => m.snapshot(), readRest: () => jumped.slice(n).forEach((p) => m.push(p)) };
    },
  },
])("$name snapshots", ({ what, snap, restore, partway }) => {
  const full = snap();

  it("carry version 1 and hold no undefined: a value that may be absent is null, so every field survives JSON", () => {
    expect(full.version).toBe(1);
    expect(paths(viaJson(full))).toEqual(paths(full));
  });

  it("round-trip through the watchdog's JSON to the same snapshot", () => {
    expect(restore(viaJson(full)).snapshot()).toEqual(full);
  });

  it.each(paths(full).filter((p) => p !== "version"))("refuse a snapshot without %s, naming it", (path) => {
    const err = refusal(() => restore(edit(full, path)));
    expect(err.problems.map((p) => `${p.field}: ${p.message}`)).toContain(`${path}: missing`);
    expect(err.message).toContain(`${what}: ${path}: missing`);
  });

  it("refuse a field of another type, saying what was found", () => {
    const path = Object.keys(full).find((k) => k !== "version" && typeof (full as unknown as Record<string, unknown>)[k] === "number") as string;
    const err = refusal(() => restore(edit(full, path, "12")));
    expect(err.message).toBe(`${what}: ${path}: expected a number, received "12"`);
  });

  it.each([
    { data: () => ({ ...full, version: 2 }), says: "version: expected 1, received 2" },
    { data: () => edit(full, "version"), says: "version: missing (this version reads version 1)" },
    { data: () => null, says: "version: missing (this version reads version 1)" },
    { data: () => "a string", says: "version: missing (this version reads version 1)" },
  ])("refuse another version on its version alone: $says", ({ data, says }) => {
    const err = refusal(() => restore(data()));
    expect(err.message).toBe(`${what}: ${says}`);
    expect(err).toBeInstanceOf(InputError);
    expect(err.exitCode).toBe(2);
  });

  it("ignore a field this version does not know (it reads only its own)", () => {
    expect(restore({ ...viaJson(full), addedLater: [1, 2] }).snapshot()).toEqual(full);
  });

  it("are values: the monitor reading on leaves a snapshot taken before as it was", () => {
    const m = partway(40);
    const before = m.snapshot();
    const copy = structuredClone(before);
    m.readRest();
    expect(m.snapshot()).not.toEqual(copy);
    expect(before).toEqual(copy);
  });
});

describe("snapshot edge cases", () => {
  it("a fresh stress monitor keeps its running minimum at Infinity through JSON", () => {
    const fresh = new CurveMonitor("c", DEFAULT_POLICY.stress).snapshot();
    expect(viaJson(fresh).tracks.loss.min).toBe(Infinity);
    expect(restoreCurve(viaJson(fresh)).snapshot()).toEqual(fresh);
  });

  it("a refusal names many fields at most ten times, then counts the rest", () => {
    const full = stressMonitor(lrJump).snapshot();
    const err = refusal(() => restoreCurve({ version: 1, tracks: { loss: {}, val_loss: {} } }));
    expect(err.problems).toHaveLength(11);
    expect(err.problems[10]).toMatchObject({ field: "(more)", message: expect.stringMatching(/^\d+ more fields refused$/) });
    expect(paths(full).length).toBeGreaterThan(11);
  });
});
