// The recipe-lab menu (examples/menu.yaml): which knobs a Phase 1 sweep may turn and to what, the
// baseline every candidate is measured against, and the target's shape that every proxy keeps
// (seed §2.3, proxy substitution: same activation, head_dim, FFN ratio; a fraction of the size).
import "../common/zod-setup.ts";
import * as z from "zod/mini";
import { readTextFile } from "../common/files.ts";
import { canonicalJson } from "../evidence/hash.ts";
import { described, lazy } from "../evidence/schemas.ts";
import { parseYaml, validateYaml } from "../evidence/yaml.ts";

export type KnobValue = string | number | boolean;
export type Config = Record<string, KnobValue>;

const value = () => z.union([z.string(), z.number(), z.boolean()], { error: "expected a string, number or boolean" });
const valueMap = () => z.record(z.string().check(z.minLength(1)), value());

export const menuSchema = lazy(() =>
  z
    .strictObject({
      steps: described(z._default(z.int().check(z.positive()), 60), "training steps per Phase 1 candidate (seed §2.3: 60)"),
      seed: described(z._default(z.int(), 0), "seed of every first evaluation; noise repeats use seed + 1, seed + 2, …"),
      knobs: described(
        z.record(z.string().check(z.minLength(1)), z.array(value()).check(z.minLength(1, { error: "expected at least one choice" }))),
        "each knob and the values the proposers may choose",
      ),
      baseline: described(valueMap(), "the reference config: a value for every knob"),
      fixed: described(z._default(valueMap(), {}), "keys every candidate carries unchanged: the target's shape"),
      target: described(z.optional(valueMap()), "the target architecture; a fixed key it also names must have the same value"),
    })
    .check(
      z.superRefine((m, ctx) => {
        // The seed is the lab's: the config hash leaves it out (another seed is a noise repeat),
        // so a knob or fixed key named seed would make different configs look identical.
        if ("seed" in m.knobs) ctx.issues.push({ code: "custom", path: ["knobs", "seed"], message: "seed is the lab's own (noise repeats run other seeds; the config hash leaves it out): name the knob otherwise", input: m.knobs["seed"] });
        if ("seed" in m.fixed) ctx.issues.push({ code: "custom", path: ["fixed", "seed"], message: "seed is the lab's own (WINDTUNNEL_SEED gives each run its seed): leave it out of fixed", input: m.fixed["seed"] });
        for (const [k, choices] of Object.entries(m.knobs)) {
          const seen = new Set<string>();
          for (const [i, c] of choices.entries()) {
            const key = canonicalJson(c);
            if (seen.has(key)) ctx.issues.push({ code: "custom", path: ["knobs", k, i], message: `${JSON.stringify(c)} is listed twice`, input: c });
            seen.add(key);
          }
          if (k in m.fixed) ctx.issues.push({ code: "custom", path: ["fixed", k], message: `${k} is a knob; a key is either turned or fixed`, input: m.fixed[k] });
          if (!(k in m.baseline)) ctx.issues.push({ code: "custom", path: ["baseline"], message: `no value for knob ${k}`, input: m.baseline });
        }
        for (const k of Object.keys(m.baseline)) {
          if (!(k in m.knobs)) ctx.issues.push({ code: "custom", path: ["baseline", k], message: `${k} is not a knob${k in m.fixed ? " (it is fixed; leave it out of the baseline)" : ""}`, input: m.baseline[k] });
        }
        for (const [k, v] of Object.entries(m.fixed)) {
          const t = m.target?.[k];
          if (t !== undefined && t !== v) ctx.issues.push({ code: "custom", path: ["fixed", k], message: `the proxy must keep the target's ${k} = ${JSON.stringify(t)}`, input: v });
        }
      }),
    )
    .register(z.globalRegistry, { title: "windtunnel recipe-lab menu" }),
);

export type Menu = z.infer<ReturnType<typeof menuSchema>>;

export interface LoadedMenu extends Menu {
  file: string;
}

export async function loadMenu(file: string): Promise<LoadedMenu> {
  const menu = await validateYaml(parseYaml(file, readTextFile(file)), menuSchema());
  return { ...menu, file };
}

/** The full config a trainer receives: the knobs, then the fixed shape. */
export function candidateConfig(menu: Menu, knobs: Config): Config {
  return { ...knobs, ...menu.fixed };
}

export function baselineConfig(menu: Menu): Config {
  return candidateConfig(menu, menu.baseline);
}

/** How many distinct configs the menu offers (Infinity beyond 1.8e308: 310 knobs of 10 choices get there). */
export function menuSize(menu: Menu): number {
  return Object.values(menu.knobs).reduce((n, c) => n * c.length, 1);
}

/** The menu's size for people: exact below 10^10, then in powers of ten (`10^310`, `2.4×10^45`), never Infinity. */
export function menuSizeText(menu: Menu): string {
  const exact = Object.values(menu.knobs).reduce((n, c) => n * BigInt(c.length), 1n).toString();
  if (exact.length <= 10) return exact;
  const exponent = exact.length - 1;
  if (/^10*$/.test(exact)) return `10^${exponent}`;
  // Two significant digits, cut rather than rounded: a start-up line, not a measurement.
  return `${exact[0]}${exact[1] === "0" ? "" : `.${exact[1]}`}×10^${exponent}`;
}

/** The i-th config of the grid (0 ≤ i < menuSize, i a safe integer), the last knob varying fastest. */
export function gridConfig(menu: Menu, index: number): Config {
  const names = Object.keys(menu.knobs);
  const out: Config = {};
  let rest = index;
  for (let k = names.length - 1; k >= 0; k--) {
    const name = names[k] as string;
    const choices = menu.knobs[name] as KnobValue[];
    out[name] = choices[rest % choices.length] as KnobValue;
    rest = Math.floor(rest / choices.length);
  }
  // Key order as written in the menu, for readable trajectories.
  return candidateConfig(menu, Object.fromEntries(names.map((n) => [n, out[n] as KnobValue])));
}

/**
 * What an external proposer may answer for one knob, or why `v` is not it. The menu bounds the
 * search: numbers anywhere in the range of a knob's numeric choices (an agent may explore between
 * them, whole numbers only when every choice is whole), strings and booleans only as listed. A
 * value of another type is refused rather than coerced: "3" and 3 hash differently, so a string
 * would also slip past the dedupe by config hash.
 */
export function knobValueProblem(knob: string, choices: readonly KnobValue[], v: unknown): string | undefined {
  const numbers = choices.filter((c): c is number => typeof c === "number");
  const others = choices.filter((c) => typeof c !== "number");
  const listed = others.some((c) => c === v);
  const min = Math.min(...numbers);
  const max = Math.max(...numbers);
  const whole = numbers.every((n) => Number.isInteger(n));
  const inRange = typeof v === "number" && Number.isFinite(v) && v >= min && v <= max && (!whole || Number.isInteger(v));
  if (listed || (numbers.length > 0 && inRange)) return undefined;
  const range = numbers.length === 0 ? undefined : min === max ? `the number ${min}` : `a ${whole ? "whole " : ""}number from ${min} to ${max}`;
  const list = others.length === 0 ? undefined : `${others.length === 1 ? "" : "one of "}${others.map((c) => JSON.stringify(c)).join(", ")}`;
  return `${knob}: expected ${[list, range].filter(Boolean).join(", or ")} (the menu's choices), got ${v === undefined ? "nothing" : typeof v === "number" && !Number.isFinite(v) ? String(v) : JSON.stringify(v)}${typeof v === "string" && range !== undefined ? " (a string)" : ""}`;
}

/**
 * Check an external proposer's answer against the menu: a JSON object whose keys are knobs (a
 * partial answer keeps the baseline's other values), never changing a fixed key, each value
 * within what the menu allows for its knob (knobValueProblem).
 */
export function configFromAnswer(menu: Menu, answer: unknown): Config | string {
  if (answer === null || typeof answer !== "object" || Array.isArray(answer)) return `expected a JSON object of knob values, got ${answer === null ? "null" : Array.isArray(answer) ? "an array" : typeof answer}`;
  const knobs: Config = { ...menu.baseline };
  for (const [k, v] of Object.entries(answer as Record<string, unknown>)) {
    // Own keys only: an answer naming "constructor" must not find Object.prototype's.
    if (Object.hasOwn(menu.fixed, k)) {
      if (v !== menu.fixed[k]) return `${k} is fixed to ${JSON.stringify(menu.fixed[k])} (the target's shape), got ${JSON.stringify(v)}`;
      continue;
    }
    const choices = Object.hasOwn(menu.knobs, k) ? menu.knobs[k] : undefined;
    if (choices === undefined) return `${JSON.stringify(k)} is not a knob of the menu (knobs: ${Object.keys(menu.knobs).join(", ")})`;
    const problem = knobValueProblem(k, choices, v);
    if (problem !== undefined) return problem;
    knobs[k] = v as KnobValue;
  }
  return candidateConfig(menu, knobs);
}
