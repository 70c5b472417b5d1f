// The stress monitor's snapshot, as the watchdog keeps it between ticks (state.json in the bucket):
// every field of the monitor and of its tracks, and a version. Read back through readSnapshot,
// so a snapshot of another version, or with a field missing or of another type, is refused by
// name (a SnapshotError) rather than resumed with an undefined in it. A field missing or of
// another type is refused by the schema already; bump the version when one keeps its name and
// type but changes meaning.
import "../common/zod-setup.ts";
import * as z from "zod/mini";
import { lazy } from "../evidence/schemas.ts";
import { anyNumber, readSnapshot } from "./snapshot.ts";
import { FINITE_FIELDS } from "./stress-results.ts";

export const MONITOR_SNAPSHOT_VERSION = 1;

const point = () => z.object({ step: anyNumber(), value: anyNumber() });
const windowSums = () => z.object({ sum: anyNumber(), sq: anyNumber(), n: anyNumber(), interp: z.nullable(anyNumber()) });

/** A SeriesTrack's state, every field. */
const trackSnapshotSchema = () =>
  z.object({
    n: anyNumber(),
    lastStep: z.nullable(anyNumber()),
    gaps: z.array(anyNumber()),
    window: z.array(point()),
    sorted: z.array(anyNumber()),
    min: anyNumber(),
    minStep: anyNumber(),
    streak: anyNumber(),
    leftFloor: z.nullable(anyNumber()),
    maxRise: anyNumber(),
    maxRiseStep: z.nullable(anyNumber()),
    longestStreak: anyNumber(),
    maxSustained: anyNumber(),
    recent: z.array(anyNumber()),
    diverged: z.nullable(z.object({ onset: anyNumber(), detectedAt: anyNumber(), min: anyNumber(), minStep: anyNumber(), value: anyNumber() })),
    history: z.array(z.object({ step: anyNumber(), smooth: anyNumber() })),
    early: windowSums(),
    late: windowSums(),
    prev: z.nullable(point()),
  }).check(
    // The smoothing reads its median from `sorted` in place, trusting it to hold the window's
    // values in ascending order: a snapshot where it does not would smooth wrongly, silently.
    z.refine((t) => sameSorted(t.sorted, t.window.map((p) => p.value)), { error: "must hold the window's values in ascending order", path: ["sorted"] }),
  );
export type TrackSnapshot = z.infer<ReturnType<typeof trackSnapshotSchema>>;

/** True when `sorted` is `values` in ascending order (NaN never enters the window). */
function sameSorted(sorted: readonly number[], values: readonly number[]): boolean {
  if (sorted.length !== values.length) return false;
  const want = [...values].sort((a, b) => a - b);
  return sorted.every((v, i) => v === want[i]);
}

/** A GradTrack's state, every field. */
const gradSnapshotSchema = () =>
  z.object({
    refMax: anyNumber(),
    refCount: anyNumber(),
    seen: anyNumber(),
    maxRatio: anyNumber(),
    maxRatioStep: z.nullable(anyNumber()),
    blown: z.nullable(z.object({ step: anyNumber(), value: anyNumber(), ref: anyNumber() })),
  });
export type GradSnapshot = z.infer<ReturnType<typeof gradSnapshotSchema>>;

const monitorSnapshotSchema = lazy(() =>
  z.object({
    version: z.literal(MONITOR_SNAPSHOT_VERSION),
    points: anyNumber(),
    lastStep: z.nullable(anyNumber()),
    nonFinite: z.nullable(z.object({ step: anyNumber(), line: anyNumber(), field: z.enum(FINITE_FIELDS), value: anyNumber() })),
    nonFiniteCount: anyNumber(),
    grad: gradSnapshotSchema(),
    tracks: z.object({ loss: trackSnapshotSchema(), val_loss: trackSnapshotSchema() }),
  }),
);
export type MonitorSnapshot = z.infer<ReturnType<typeof monitorSnapshotSchema>>;

/** A stress monitor's snapshot as stored (JSON decoded, unchecked), checked field by field. */
export function readMonitorSnapshot(data: unknown): MonitorSnapshot {
  return readSnapshot("the stress monitor's snapshot", MONITOR_SNAPSHOT_VERSION, monitorSnapshotSchema(), data);
}
