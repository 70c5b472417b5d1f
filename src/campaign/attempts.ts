// A run across its attempts, read incrementally: a replacement's object (node-<rank>/attempt-<n>/)
// continues the run of the first attempt's object, and the steps it logs again (from its
// checkpoint up to where the old node had got) are dropped, so each step is counted once. The
// watchdog's monitors and `watch`'s curves read a run through this one rule.
import { attemptOfKey, runIdOfKey } from "./layout.ts";

/** What is known of a run so far: the latest attempt read, and the last point kept. */
export interface RunProgress {
  attempt?: number;
  last?: { step: number };
}

/**
 * The points of a batch that continue the run: all of them from the attempt already being read,
 * only those past the last step kept from a later one. The run's id (its first attempt's key) and
 * the attempt the run is now at come with them.
 */
export function continueRun<P extends { step: number }>(run: RunProgress | undefined, key: string, points: readonly P[]): { id: string; attempt: number; points: readonly P[] } {
  const attempt = attemptOfKey(key);
  const current = run?.attempt ?? 1;
  const last = attempt > current ? run?.last?.step : undefined;
  return { id: runIdOfKey(key), attempt: Math.max(attempt, current), points: last === undefined ? points : points.filter((p) => p.step > last) };
}
