// `--proposer tpe`: the menu and the sweep's results in the terms tpe.ts works in (indices into
// each knob's choices), and back to a config. The proposal is a function of what is known (the
// results, the runs in flight, the priors and the menu's seed), so a resumed sweep proposes what
// the uninterrupted one would have from the same rows.
import { canonicalJson } from "../evidence/hash.ts";
import { candidateConfig, menuSizeText, type Config, type KnobValue, type LoadedMenu } from "./menu.ts";
import type { Result } from "./planner.ts";
import type { Prior } from "./priors.ts";
import type { Proposer } from "./proposers.ts";
import { mulberry32 } from "./random.ts";
import { keyOf, suggest, type Observation, type TpeKnob, type TpeOptions } from "./tpe.ts";

/**
 * What one prior observation weighs against one of this campaign's: another campaign (another
 * seed, step count or menu) is evidence about this one, but weaker, and this campaign's own
 * results take over as they come in.
 */
export const PRIOR_WEIGHT = 0.5;

export interface TpeProposerOptions extends Partial<TpeOptions> {
  /** @default PRIOR_WEIGHT */
  priorObservationWeight?: number;
}

export function tpeProposer(menu: LoadedMenu, seed: number, priors: readonly Prior[] = [], options: TpeProposerOptions = {}): Proposer {
  const names = Object.keys(menu.knobs);
  const space = spaceOf(menu);
  const weight = options.priorObservationWeight ?? PRIOR_WEIGHT;
  const fromPriors = priors.flatMap((p, i) =>
    observationsOf(
      p.rows.map((r) => ({ x: names.map((k) => (k in r.knobs ? indexOf(menu, k, r.knobs[k]) : undefined)), value: r.value, pruned: r.status === "pruned" })),
      weight,
      `prior ${i}`,
    ),
  );
  return {
    name: "tpe",
    async next(ctx) {
      const results = ctx.results ?? [];
      const pending = ctx.pending ?? [];
      const own = results.flatMap((r) => {
        const x = onMenu(menu, names, r.config);
        // A pruned run stopped early for looking hopeless: bad, whatever its last value.
        return x === undefined ? [] : [{ x, value: r.pruned !== undefined ? null : r.value, pruned: r.pruned !== undefined }];
      });
      const taken = new Set<string>(own.map((o) => keyOf(o.x)));
      for (const c of pending) {
        const x = onMenu(menu, names, c);
        if (x !== undefined) taken.add(keyOf(x));
      }
      const observations = [...observationsOf(own, 1, "this sweep"), ...fromPriors];
      const rand = mulberry32(mix(seed, results.length, pending.length));
      const s = suggest(space, observations, taken, rand, options);
      if (s.how === "exhausted") return { kind: "exhausted", reason: `all ${menuSizeText(menu)} configs of the menu are evaluated` };
      return { kind: "config", config: candidateConfig(menu, Object.fromEntries(names.map((k, j) => [k, (menu.knobs[k] as KnobValue[])[s.x[j] as number] as KnobValue]))) };
    },
  };
}

/** Each knob as tpe.ts sees it: a knob of numbers is ordered by value, any other categorical. */
export function spaceOf(menu: Pick<LoadedMenu, "knobs">): TpeKnob[] {
  return Object.values(menu.knobs).map((choices) => {
    if (choices.length < 2 || !choices.every((c) => typeof c === "number")) return { size: choices.length };
    const byValue = choices.map((c, i) => ({ c: c as number, i })).sort((a, b) => a.c - b.c);
    const rank: number[] = [];
    byValue.forEach((e, r) => (rank[e.i] = r));
    return { size: choices.length, rank };
  });
}

function indexOf(menu: Pick<LoadedMenu, "knobs">, knob: string, v: unknown): number | undefined {
  const i = (menu.knobs[knob] as KnobValue[]).findIndex((c) => canonicalJson(c) === canonicalJson(v));
  return i === -1 ? undefined : i;
}

/** A config's indices when every knob holds a listed choice (an agent's in-between value is not on the grid). */
function onMenu(menu: Pick<LoadedMenu, "knobs">, names: readonly string[], config: Config): number[] | undefined {
  const x: number[] = [];
  for (const k of names) {
    const i = indexOf(menu, k, config[k]);
    if (i === undefined) return undefined;
    x.push(i);
  }
  return x;
}

/**
 * One observation per config: the mean of its finite values (a noise repeat refines it), or a
 * failure when it has none. The grouping key keeps unknown knobs apart from known ones.
 */
function observationsOf(points: readonly { x: readonly (number | undefined)[]; value: number | null; pruned: boolean }[], weight: number, group: string): Observation[] {
  const byConfig = new Map<string, { x: readonly (number | undefined)[]; values: number[]; pruned: boolean }>();
  for (const p of points) {
    const key = p.x.map((i) => (i === undefined ? "?" : String(i))).join(",");
    const entry = byConfig.get(key) ?? { x: p.x, values: [], pruned: false };
    if (p.value !== null && Number.isFinite(p.value)) entry.values.push(p.value);
    entry.pruned ||= p.pruned;
    byConfig.set(key, entry);
  }
  return [...byConfig.values()].map((e) => {
    const value = e.values.length > 0 ? e.values.reduce((a, b) => a + b, 0) / e.values.length : null;
    // A config with no value failed, unless a run of it was stopped by the pruner.
    return { x: e.x, value, failed: value === null && !e.pruned, weight, group };
  });
}

/** The generator's seed for one proposal: the menu's seed and how much is known. */
function mix(seed: number, results: number, pending: number): number {
  let h = (seed ^ 0x5bd1e995) >>> 0;
  for (const v of [results, pending]) {
    h = Math.imul(h ^ v, 0x9e3779b1) >>> 0;
    h ^= h >>> 15;
  }
  return h >>> 0;
}
