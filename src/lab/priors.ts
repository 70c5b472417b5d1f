// Warm starts (`lab sweep --prior <trajectory>`, issue 18): earlier campaigns' trajectories, in any
// format `validate` reads, matched to this sweep's menu so a proposer can start from what they
// learned. Priors only ever reach the proposer: they are not rows of this sweep's trajectory, so
// the sweep gates, `lab stress` and `gate` never see them.
//
// Matching is by knob name, and nothing is guessed: a key this menu does not turn or fix is left
// out of the row (the row still says something about the knobs both share); a row whose knob
// holds a value the menu does not list, or whose fixed key differs from this menu's (another
// shape), or that sets none of this menu's knobs, is left out whole. A knob of this menu the row
// does not set stays unknown.
import { canonicalJson } from "../evidence/hash.ts";
import { detectFormat, readTrajectoryFile, type ReadOptions, type TrajectoryFormat } from "../evidence/read.ts";
import type { Status, TrajectoryRow } from "../evidence/schemas.ts";
import type { KnobValue, Menu } from "./menu.ts";

export interface PriorRow {
  id: string;
  /** The knobs of this menu the row sets, each to one of the menu's choices. */
  knobs: Record<string, KnobValue>;
  /** The val_bpb of a finished run; null for a failure (crash, timeout, blocked, a NaN) or any other status. */
  value: number | null;
  status: Status;
  seed?: number;
}

export interface Prior {
  file: string;
  format: TrajectoryFormat;
  /** Rows read from the file. */
  read: number;
  /** The rows this menu can use. */
  rows: PriorRow[];
  /** What was left out: a key (the rows keep their other knobs) or whole rows, with how many rows each concerned. */
  ignored: Ignored[];
  /** This menu's knobs that used rows do not set (left unknown), with how many rows. */
  unset: { knob: string; rows: number }[];
  /** Rows the reader could not read (`validate` lists them). */
  unreadable: number;
}

export type Ignored = { kind: "key"; key: string; rows: number } | { kind: "rows"; reason: string; rows: number };

/** An earlier trajectory as this menu sees it (pure). */
export function matchPrior(menu: Menu, file: string, format: TrajectoryFormat, rows: readonly TrajectoryRow[], unreadable = 0): Prior {
  const keys = new Map<string, number>();
  const reasons = new Map<string, number>();
  const used: PriorRow[] = [];
  for (const row of rows) {
    const knobs: Record<string, KnobValue> = {};
    let drop: string | undefined;
    for (const [k, v] of Object.entries(row.config)) {
      if (k === "seed") continue;
      if (Object.hasOwn(menu.knobs, k)) {
        const listed = (menu.knobs[k] as KnobValue[]).find((c) => canonicalJson(c) === canonicalJson(v));
        if (listed === undefined) drop ??= `${k} = ${show(v)} (not one of this menu's choices)`;
        else knobs[k] = listed;
      } else if (Object.hasOwn(menu.fixed, k)) {
        if (canonicalJson(menu.fixed[k]) !== canonicalJson(v)) drop ??= `${k} = ${show(v)} (fixed to ${show(menu.fixed[k])} here)`;
      } else keys.set(k, (keys.get(k) ?? 0) + 1);
    }
    // A results.tsv names its experiments in prose: such a row says nothing about any knob here.
    if (drop === undefined && Object.keys(knobs).length === 0) drop = "none of this menu's knobs";
    if (drop === undefined && row.status === "ok" && row.val_bpb === null) drop = "status ok but no val_bpb";
    if (drop !== undefined) {
      reasons.set(drop, (reasons.get(drop) ?? 0) + 1);
      continue;
    }
    const finite = row.status === "ok" && row.val_bpb !== null && Number.isFinite(row.val_bpb);
    used.push({ id: row.id, knobs, value: finite ? row.val_bpb : null, status: row.status, ...(row.seed !== undefined ? { seed: row.seed } : {}) });
  }
  const unset = Object.keys(menu.knobs)
    .map((knob) => ({ knob, rows: used.filter((r) => !(knob in r.knobs)).length }))
    .filter((u) => u.rows > 0);
  const ignored: Ignored[] = [...[...keys].map(([key, n]) => ({ kind: "key" as const, key, rows: n })), ...[...reasons].map(([reason, n]) => ({ kind: "rows" as const, reason, rows: n }))];
  return { file, format, read: rows.length, rows: used, ignored, unset, unreadable };
}

const show = (v: unknown): string => canonicalJson(v);
const rowsText = (n: number): string => `${n} row${n === 1 ? "" : "s"}`;

/** The one line a prior file gets at the start of a sweep: how much of it is used and what was ignored. */
export function describePrior(p: Prior): string {
  const head = `prior ${p.file} [${p.format}]: ${p.rows.length === p.read ? `all ${p.read} rows used` : `${p.rows.length} of ${p.read} rows used`}`;
  const what = p.ignored.map((i) => (i.kind === "key" ? `${i.key} (not on this menu) in ${rowsText(i.rows)}` : `${rowsText(i.rows)} with ${i.reason}`));
  // One line per file: an agent's trajectory may hold hundreds of distinct off-menu values.
  const shown = what.length > 6 ? [...what.slice(0, 6), `${what.length - 6} more`] : what;
  const parts: string[] = [];
  if (shown.length > 0) parts.push(`ignored ${shown.join(", ")}`);
  if (p.unreadable > 0) parts.push(`${rowsText(p.unreadable)} unreadable (windtunnel validate lists them)`);
  if (p.unset.length > 0) parts.push(`not set there: ${p.unset.map((u) => `${u.knob} (${rowsText(u.rows)})`).join(", ")}`);
  return parts.length > 0 ? `${head}; ${parts.join("; ")}` : `${head}; nothing ignored`;
}

/** Read each prior file with validate's readers (detection, or `options.format`) and match it to the menu. */
export async function readPriors(menu: Menu, files: readonly string[], options: ReadOptions = {}): Promise<Prior[]> {
  const out: Prior[] = [];
  for (const file of files) {
    const detected = options.detected ?? (options.format !== undefined ? { format: options.format } : await detectFormat(file, options));
    const t = await readTrajectoryFile(file, { ...options, detected });
    // readTrajectoryFile refuses metrics formats, so the detected format is a trajectory one here.
    out.push(matchPrior(menu, file, detected.format as TrajectoryFormat, t.rows, t.unreadable));
  }
  return out;
}
