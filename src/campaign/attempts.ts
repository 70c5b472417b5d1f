// A run across its attempts, read incrementally (continueRun: the watchdog, watch) or whole
// (joinAttempts: a synced folder, the tests): a replacement's object (node-<rank>/attempt-<n>/)
// continues the run of the first attempt's object, and the steps it logs again (from its
// checkpoint up to where the old node had got) are dropped, so each step is counted once. The
// watchdog's monitors and `watch`'s curves read a run through this one rule.
import { attemptOfKey, runIdOfKey } from "./layout.ts";

/** The one rule: a point of a later attempt at or below the highest step already kept is a repeat. */
const repeats = (laterAttempt: boolean, highest: number | undefined, step: number): boolean => laterAttempt && highest !== undefined && step <= highest;

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
  const last = run?.last?.step;
  return { id, attempt, points: points.filter((p) => !repeats(attempt > current, last, p.step)) };
}

/** Batches in the order a run was written: by run, then attempt (a listing sorts attempt-2/ before the first attempt's object). */
export function inAttemptOrder<B extends { key: string }>(batches: readonly B[]): B[] {
  const firstSeen = new Map<string, number>();
  for (const [i, b] of batches.entries()) if (!firstSeen.has(runIdOfKey(b.key))) firstSeen.set(runIdOfKey(b.key), i);
  const rank = (b: B): number => firstSeen.get(runIdOfKey(b.key)) as number;
  return [...batches].sort((a, b) => rank(a) - rank(b) || attemptOfKey(a.key) - attemptOfKey(b.key));
}

export interface AttemptObject<P> {
  /** The metrics object's key; its attempt-<n>/ folder says which attempt wrote it (none: 1). */
  key: string;
  points: readonly P[];
}

export interface JoinedRun<P> {
  /** The run, as runIdOfKey names it: the first attempt's key. */
  run: string;
  /** Its objects' keys, in attempt order. */
  keys: string[];
  points: P[];
  /** Points of later attempts left out: their step was already there. */
  dropped: number;
}

/**
 * Every run's points, attempts in order: a later attempt's point whose step is at or below the
 * highest step already kept (per tag, as the metrics reader orders steps) is dropped. The first
 * attempt's points are kept as they are. Runs come out in key order.
 */
export function joinAttempts<P extends { step: number; tag?: string | undefined }>(objects: readonly AttemptObject<P>[]): JoinedRun<P>[] {
  const byRun = new Map<string, AttemptObject<P>[]>();
  for (const o of objects) {
    const run = runIdOfKey(o.key);
    byRun.set(run, [...(byRun.get(run) ?? []), o]);
  }
  return [...byRun.keys()].sort().map((run) => {
    // A stable sort: two objects of one attempt stay in the order given.
    const attempts = (byRun.get(run) ?? []).map((o, i) => ({ o, i, n: attemptOfKey(o.key) })).sort((a, b) => a.n - b.n || a.i - b.i);
    const first = attempts[0]?.n;
    const highest = new Map<string, number>();
    const points: P[] = [];
    let dropped = 0;
    for (const { o, n } of attempts) {
      for (const p of o.points) {
        const tag = p.tag ?? "";
        const top = highest.get(tag);
        if (repeats(n !== first, top, p.step)) {
          dropped++;
          continue;
        }
        points.push(p);
        if (top === undefined || p.step > top) highest.set(tag, p.step);
      }
    }
    return { run, keys: attempts.map((a) => a.o.key), points, dropped };
  });
}
