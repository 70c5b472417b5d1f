// One run's curve across its attempts (issue 17). A node replaced after a spot interruption writes
// its own metrics object (node-<rank>/attempt-<n>/<run>.metrics.jsonl) and resumes from the last
// checkpoint, which may be older than the last step the interrupted attempt logged: those steps
// come twice. The join keeps each step once, from the earliest attempt that logged it (the points
// the watchdog already judged live), so the stress gates read one curve ordered by step. Pure.
import { attemptOfKey, runIdOfKey } from "./layout.ts";

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
        if (n !== first && top !== undefined && p.step <= top) {
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
