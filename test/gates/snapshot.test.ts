// A monitor resumed from its snapshot (as the watchdog does between ticks) judges exactly as one
// that saw the whole curve in one pass: on the real trained stress cases, split anywhere.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { CurveMonitor, type MonitorSnapshot } from "../../src/gates/stress.ts";
import { EnvelopeMonitor } from "../../src/gates/verify.ts";
import { decodeState, encodeState } from "../../src/gates/snapshot.ts";
import { SnapshotError } from "../../src/common/errors.ts";
import { forecast } from "../../src/forecast/envelope.ts";
import type { MetricPoint } from "../../src/evidence/schemas.ts";
import { DEFAULT_POLICY } from "../helpers/policy.ts";
import { REPO } from "../helpers/shared.ts";
import { readFile } from "../helpers/read.ts";

const read = async (dir: string, f: string): Promise<MetricPoint[]> => (await readFile(join(REPO, "test/fixtures", dir, f))).points;

describe("monitor snapshots", () => {
  it.each(["healthy.jsonl", "lr-jump.jsonl", "fp16-overflow.jsonl", "lr-too-small.jsonl"])("stress monitor on %s: resumed at random cuts = one pass", async (file) => {
    const pts = await read("stress", file);
    const whole = new CurveMonitor("c", DEFAULT_POLICY.stress);
    for (const p of pts) whole.push(p);
    const expected = whole.finish();
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: pts.length - 1 }), { maxLength: 6 }), (cuts) => {
        const bounds = [0, ...[...cuts].sort((a, b) => a - b), pts.length];
        let m = new CurveMonitor("c", DEFAULT_POLICY.stress);
        for (let i = 0; i + 1 < bounds.length; i++) {
          for (const p of pts.slice(bounds[i], bounds[i + 1])) m.push(p);
          m = CurveMonitor.restore("c", DEFAULT_POLICY.stress, decodeState<MonitorSnapshot>(encodeState(m.snapshot())));
        }
        expect(m.finish()).toEqual(expected);
      }),
      { numRuns: 25 },
    );
  });

  it("stress monitor: a snapshot whose sorted window is out of order or not the window's is refused, not smoothed from", async () => {
    const pts = await read("stress", "healthy.jsonl");
    const m = new CurveMonitor("c", DEFAULT_POLICY.stress);
    for (const p of pts.slice(0, 40)) m.push(p);
    const good = decodeState<MonitorSnapshot>(encodeState(m.snapshot()));
    expect(good.tracks.loss.sorted.length).toBeGreaterThan(2);
    expect(() => CurveMonitor.restore("c", DEFAULT_POLICY.stress, good)).not.toThrow();
    const reversed = structuredClone(good);
    reversed.tracks.loss.sorted.reverse();
    const other = structuredClone(good);
    other.tracks.loss.sorted[0] = (other.tracks.loss.sorted[0] as number) - 1;
    for (const bad of [reversed, other]) {
      expect(() => CurveMonitor.restore("c", DEFAULT_POLICY.stress, bad)).toThrow(SnapshotError);
      expect(() => CurveMonitor.restore("c", DEFAULT_POLICY.stress, bad)).toThrow("tracks.loss.sorted: must hold the window's values in ascending order");
    }
  });

  it("envelope monitor: resumed at every point = one pass", async () => {
    const steady = await read("cloud", "verify-lr-jump.jsonl");
    const r = forecast({ points: steady.filter((p) => p.step <= 600).map((p) => ({ step: p.step, tokens: p.tokens as number, loss: p.loss as number })), policy: DEFAULT_POLICY.forecast });
    if (!r.ok) throw new Error(r.reason);
    const whole = new EnvelopeMonitor("c", r.envelope, DEFAULT_POLICY.verify);
    let m = new EnvelopeMonitor("c", r.envelope, DEFAULT_POLICY.verify);
    for (const p of steady) {
      whole.push(p);
      m.push(p);
      m = EnvelopeMonitor.restore("c", r.envelope, DEFAULT_POLICY.verify, decodeState(encodeState(m.snapshot())));
    }
    expect(m.finish()).toEqual(whole.finish());
    expect(m.finish().status).toBe("fail");
  });

  it("envelope monitor: a snapshot from another version (a field missing, a stray one) is refused by the fields it lacks, never resumed with them fresh or undefined", async () => {
    const steady = await read("cloud", "verify-steady.jsonl");
    const r = forecast({ points: steady.filter((p) => p.step <= 600), policy: DEFAULT_POLICY.forecast });
    if (!r.ok) throw new Error(r.reason);
    const m = new EnvelopeMonitor("c", r.envelope, DEFAULT_POLICY.verify);
    for (const p of steady.slice(0, 30)) m.push(p);
    const { window: _w, judged: _j, ...older } = m.snapshot() as Record<string, unknown>;
    const refuse = () => EnvelopeMonitor.restore("c", r.envelope, DEFAULT_POLICY.verify, { ...older, renamedField: 1 });
    expect(refuse).toThrow(SnapshotError);
    expect(refuse).toThrow("the verify monitor's snapshot: window: missing\nthe verify monitor's snapshot: judged: missing");
  });

  it("keeps NaN and ±Infinity through JSON", () => {
    expect(decodeState(encodeState({ a: Number.NaN, b: [Infinity, -Infinity, 1], c: { $num: 2 } }))).toEqual({ a: Number.NaN, b: [Infinity, -Infinity, 1], c: { $num: 2 } });
  });
});
