// The report's spot attempts: the watchdog's own record of each attempt of the node (its
// state.json, the file `watch` reads), through the same ledger `watch` prints, as a table: attempt,
// instance, market, launch and stop, hours, cost, how it ended, then the totals. Pure: the report
// command reads and checks the file.
import { attemptsLedger, endingOf, type AttemptsState } from "../campaign/attempt-ledger.ts";

/** A table section of the report (HTML only: a PNG export draws figures). */
export interface ReportTable {
  id: string;
  title: string;
  caption: string;
  head: string[];
  /** Each row's cells, and data attributes for machines (tests, scrapers) beside the words for people. */
  rows: { cells: string[]; data: Record<string, string> }[];
  foot?: string[];
}

const when = (iso: string | undefined): string => (iso === undefined ? "—" : `${iso.slice(0, 16).replace("T", " ")}Z`);
const dollars = (usd: number | undefined): string => (usd === undefined ? "—" : `$${usd.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`);
const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

export interface AttemptsSource {
  /** The file as given, and the sha256 of its bytes (what the report was made from). */
  file: string;
  sha256: string;
}

/**
 * `now` stands for "so far" only when the state does not say when its tick ran; `hourlyUsd` prices
 * attempts the state records no price for (from the campaign plan, when given).
 */
export function attemptsSection(state: AttemptsState, source: AttemptsSource, opts: { now: Date; hourlyUsd?: number | undefined }): ReportTable {
  const from = `${source.file} (sha256 ${source.sha256.slice(0, 12)})`;
  const base = { id: "attempts", title: "Spot attempts", head: ["attempt", "instance", "subnet", "market", "launched", "stopped", "hours", "cost", "ended"] };
  if (!state.recovery) return { ...base, caption: `The watchdog's state ${from} records no attempts: spot recovery is off for this stage (a single spot node with windtunnel:recovery.maxRestarts > 0 has it).`, rows: [] };
  const asOf = state.lastTickAt !== undefined ? new Date(state.lastTickAt) : opts.now;
  const l = attemptsLedger({ recovery: state.recovery, teardown: state.teardown, now: asOf, hourlyUsd: opts.hourlyUsd });
  const prices = [...new Set(l.rows.map((r) => state.recovery?.attempts.find((a) => a.attempt === r.attempt)?.hourlyUsd).filter((p): p is number => p !== undefined))];
  const caption = [
    `From the watchdog's state ${from}, as of ${state.lastTickAt !== undefined ? `its last tick at ${when(state.lastTickAt)}` : `this report (${when(asOf.toISOString())}; the state does not say when its tick ran)`}:`,
    `${plural(l.rows.length, "attempt")}, ${plural(l.restarts, "restart")}, ${plural(l.interruptions, "interruption")}, ${l.hours.toFixed(1)} node-hours, ${dollars(l.costUsd)}${prices.length > 1 ? " (each attempt at its own price)" : ""}.`,
    ...(l.gaveUp ? [`Recovery gave up at ${when(l.gaveUp.at)}: ${l.gaveUp.reason}.`] : []),
    ...(l.refusals > 0 ? [`AWS refused ${plural(l.refusals, "launch", "launches")} since the last one; the watchdog retries after a backoff.`] : []),
    ...(l.rows.some((r) => r.stoppedAt === undefined) ? ["An attempt not yet stopped is counted up to then."] : []),
  ].join(" ");
  return {
    ...base,
    caption,
    rows: l.rows.map((r) => ({
      cells: [String(r.attempt), r.instanceId, r.subnet ?? "—", r.market, when(r.launchedAt), when(r.stoppedAt), r.hours.toFixed(1), dollars(r.costUsd), endingOf(r, when)],
      data: { attempt: String(r.attempt), market: r.market, outcome: r.outcome, hours: r.hours.toFixed(3), ...(r.costUsd !== undefined ? { cost: r.costUsd.toFixed(2) } : {}) },
    })),
    foot: ["total", plural(l.restarts, "restart"), "", plural(l.interruptions, "interruption"), "", "", l.hours.toFixed(1), dollars(l.costUsd), ""],
  };
}
