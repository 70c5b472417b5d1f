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
 * only those past the last step kept from a later one, none from an earlier one (an interrupted
 * node's last upload, arriving after its replacement started: the replacement's steps stand). The
 * run's id (its first attempt's key) and the attempt the run is now at come with them.
 */
export function continueRun<P extends { step: number }>(run: RunProgress | undefined, key: string, points: readonly P[]): { id: string; attempt: number; points: readonly P[] } {
  const attempt = attemptOfKey(key);
  const current = run?.attempt ?? 1;
  const id = runIdOfKey(key);
  if (attempt < current) return { id, attempt: current, points: [] };
  const last = attempt > current ? run?.last?.step : undefined;
  return { id, attempt, points: last === undefined ? points : points.filter((p) => p.step > last) };
}

/** Batches in the order a run was written: by run, then attempt (a listing sorts attempt-2/ before the first attempt's object). */
export function inAttemptOrder<B extends { key: string }>(batches: readonly B[]): B[] {
  const firstSeen = new Map<string, number>();
  for (const [i, b] of batches.entries()) if (!firstSeen.has(runIdOfKey(b.key))) firstSeen.set(runIdOfKey(b.key), i);
  const rank = (b: B): number => firstSeen.get(runIdOfKey(b.key)) as number;
  return [...batches].sort((a, b) => rank(a) - rank(b) || attemptOfKey(a.key) - attemptOfKey(b.key));
}
