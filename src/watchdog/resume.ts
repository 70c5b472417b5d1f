// Resuming the runs the last tick saved. The gates refuse a monitor snapshot this version cannot
// read (another version's, or a field missing or of another type: a SnapshotError). Such a run is
// replayed: its saved state is dropped and its cursor with it, so this tick reads its whole
// metrics object again into fresh monitors, and it is judged on its whole curve as if the watchdog
// had just started. Both other ways out are worse. Throwing fails every tick: the Lambda errors
// where nobody reads it, and the dead-man switch that the watchdog is never fires. Fresh monitors
// fed only the new points judge a divergence from a minimum they never saw, and take a blown-up
// gradient norm for their reference. Pure: the tick reads the bytes, decide() judges them.
import { SnapshotError } from "../common/errors.ts";
import { formatProblem } from "../common/problems.ts";
import { readMonitorSnapshot } from "../gates/stress.ts";
import { readEnvelopeSnapshot } from "../gates/verify.ts";
import type { WatchdogState } from "./decide.ts";

export interface Replay {
  /** The metrics object read again from its first line. */
  key: string;
  /** Why its saved state was refused, one line (the fields, as the gates name them). */
  reason: string;
  /** The first line the refused state had not read: points before it are not news of the node. */
  fromLine: number;
}

/** The saved state with every run the gates cannot resume taken out, and those runs as replays. */
export function resumeRuns(saved: WatchdogState): { state: WatchdogState; replays: Replay[] } {
  const runs = { ...saved.runs };
  const cursors = { ...saved.cursors };
  const sanity = saved.sanity ? { ...saved.sanity } : undefined;
  const replays: Replay[] = [];
  for (const [key, run] of Object.entries(saved.runs)) {
    const reason = refusal(run);
    if (reason === undefined) continue;
    replays.push({ key, reason, fromLine: saved.cursors[key]?.line ?? 1 });
    // The replay reads every point again: what was counted from them goes too.
    delete runs[key];
    delete cursors[key];
    if (sanity) delete sanity[key];
  }
  if (replays.length === 0) return { state: saved, replays };
  return { state: { ...saved, runs, cursors, ...(sanity ? { sanity } : {}) }, replays };
}

/** Why a run's monitors cannot be resumed, or undefined when they can. */
function refusal(run: unknown): string | undefined {
  const r = (run ?? {}) as { monitor?: unknown; verify?: unknown };
  try {
    readMonitorSnapshot(r.monitor);
    if (r.verify !== undefined) readEnvelopeSnapshot(r.verify);
    return undefined;
  } catch (err) {
    if (!(err instanceof SnapshotError)) throw err;
    return err.problems.map(formatProblem).join("; ");
  }
}
