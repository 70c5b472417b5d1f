// The checkpoint marker (issue 17): `latest.json` in a run's checkpoint folder, which the trainer
// writes last, after every file of the checkpoint it names is complete, so that a marker always
// names a complete checkpoint (an S3 PUT replaces an object whole: a reader sees the old marker or
// the new one). The node reads it before a run starts and hands its text to the container as
// WINDTUNNEL_RESUME; the trainer restores the checkpoint it names. Pure.

export const CHECKPOINT_FORMAT = "windtunnel-checkpoint/1";

export interface CheckpointMarker {
  format: typeof CHECKPOINT_FORMAT;
  /** The last step the checkpoint holds: the resumed run continues at step + 1. */
  step: number;
  /** The checkpoint's folder, relative to the run's checkpoint folder (WINDTUNNEL_CHECKPOINTS), ending in `/`. */
  path: string;
  /** When the checkpoint was complete (ISO 8601, UTC). */
  time: string;
}

export function checkpointMarker(step: number, path: string, time: Date): CheckpointMarker {
  return { format: CHECKPOINT_FORMAT, step, path, time: time.toISOString() };
}

/** A marker's text read back: the marker, or every reason it is not one (fields a trainer adds are kept out, not refused). */
export function parseCheckpointMarker(text: string): { marker: CheckpointMarker } | { problems: string[] } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { problems: [`not JSON: ${(err as Error).message}`] };
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) return { problems: [`expected a JSON object, got ${JSON.stringify(raw)}`] };
  const m = raw as Record<string, unknown>;
  const problems: string[] = [];
  const got = (k: string): string => `got ${JSON.stringify(m[k])}`;
  if (m["format"] !== CHECKPOINT_FORMAT) problems.push(`format: expected "${CHECKPOINT_FORMAT}", ${got("format")}`);
  if (!Number.isSafeInteger(m["step"]) || (m["step"] as number) < 0) problems.push(`step: expected a whole number ≥ 0, ${got("step")}`);
  const path = m["path"];
  if (typeof path !== "string" || !isFolderBelow(path)) problems.push(`path: expected a folder relative to the run's checkpoint folder, ending in / (no leading /, no .., no scheme), ${got("path")}`);
  if (typeof m["time"] !== "string" || Number.isNaN(Date.parse(m["time"]))) problems.push(`time: expected an ISO 8601 time, ${got("time")}`);
  if (problems.length > 0) return { problems };
  return { marker: { format: CHECKPOINT_FORMAT, step: m["step"] as number, path: path as string, time: m["time"] as string } };
}

/** A relative folder that stays below where it is resolved: `a/b/`, not `/a/`, `../a/`, `s3://x/` or `./`. */
function isFolderBelow(p: string): boolean {
  if (!p.endsWith("/") || p.startsWith("/") || p.includes("://") || p.includes("\\")) return false;
  const segments = p.slice(0, -1).split("/");
  return segments.every((s) => s !== "" && s !== "." && s !== "..");
}
