// How a command declares its flags and turns what the user typed into typed options: each
// command's `*.flags.ts` (next to its handler) lists its flags and coerces them with these, so a
// bad value is a UsageError naming the flag (exit 2) before any work starts. Light on purpose:
// main.ts loads every command's declaration for `--help`, and a handler only when it runs.
import { UsageError } from "../common/errors.ts";
import { LOG_PRESETS, STATUSES, type Status } from "../evidence/names.ts";
import { parseAmount } from "../cost/rates.ts";
import type { Io } from "./io.ts";

/** The options as the argument parser hands them over: camelCase keys, strings, booleans, arrays. */
export type Raw = Record<string, unknown>;

/** One flag: its spelling for the parser (`--name <value>`, `--switch`), its help, its default. */
export type Flag = readonly [rawName: string, description: string, options?: { default: unknown }];

export interface CommandSpec {
  /** The name and positional arguments, as the parser reads them: "gate [...evidence]". */
  name: string;
  description: string;
  flags: readonly Flag[];
  examples?: readonly string[];
  /** Coerce the flags and run the handler (imported here, lazily): the exit code. */
  run(args: readonly unknown[], o: Raw, io: Io): Promise<number>;
}

export const defineCommand = (spec: CommandSpec): CommandSpec => spec;

export function choice<T extends string>(option: string, v: unknown, choices: readonly T[]): T | undefined {
  if (v === undefined) return undefined;
  if (typeof v === "string" && (choices as readonly string[]).includes(v)) return v as T;
  throw new UsageError(`--${option}: expected one of ${choices.join(", ")}, got ${JSON.stringify(String(v))}`);
}

export function amount(option: string, v: unknown, opts: { integer?: boolean; positive?: boolean; max?: number } = {}): number | undefined {
  if (v === undefined) return undefined;
  const n = parseAmount(String(v), opts.integer ?? false, opts.positive ?? false);
  if (typeof n === "string") throw new UsageError(`--${option}: ${n}`);
  if (opts.max !== undefined && n > opts.max) throw new UsageError(`--${option}: expected at most ${opts.max}, got ${String(v)}`);
  return n;
}

/** A flag with a default: the parser always supplies a value, so it is never undefined. */
export function amountOr(option: string, v: unknown, opts: { integer?: boolean; positive?: boolean; max?: number } = {}): number {
  const n = amount(option, v, opts);
  if (n === undefined) throw new UsageError(`--${option}: expected a value`);
  return n;
}

export function text(option: string, v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v === "boolean" || Array.isArray(v)) throw new UsageError(`--${option}: expected one value`);
  return String(v);
}

/** The values of a repeatable flag, in the order given. */
export const many = (v: unknown): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]).map(String);

/** `{ key: value }` when the value is given, `{}` otherwise: optional options stay absent, never undefined. */
export function given<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

export const FORMATS_TABLE_JSON = ["table", "json"] as const;

/** The evidence-reading flags, one group for every command that reads curves or trajectories. */
export function readFlagSpecs(withStatusMap = true): Flag[] {
  return [
    ...(withStatusMap ? [["--status-map <raw=status>", "map a results.tsv status to ok|crash|timeout|blocked|pruned (repeatable)"] as const] : []),
    ["--log-preset <name>", `regex preset for plain training logs: ${Object.keys(LOG_PRESETS).join(", ")}`],
    ["--log-regex <regex>", "custom log regex with named groups: step and loss/val_loss/val_bpb (also grad_norm, lr, tokens, time_s, time_ms, tag)"],
  ];
}

export interface ReadFlags {
  statusMap?: Record<string, Status>;
  logPreset?: string;
  logRegex?: string;
}

/** The evidence-reading flags, coerced (only those given). */
export function readFlags(o: Raw): ReadFlags {
  const entries = many(o["statusMap"]).map((raw) => {
    const m = /^([^=]+)=(.+)$/.exec(raw);
    const status = m?.[2] as Status | undefined;
    if (!m || !status || !STATUSES.includes(status)) throw new UsageError(`--status-map: expected raw=${STATUSES.join("|")}, got ${JSON.stringify(raw)}`);
    return [(m[1] ?? "").toLowerCase(), status] as const;
  });
  return {
    ...(entries.length > 0 ? { statusMap: Object.fromEntries(entries) } : {}),
    ...given("logPreset", choice("log-preset", o["logPreset"], Object.keys(LOG_PRESETS))),
    ...given("logRegex", text("log-regex", o["logRegex"])),
  };
}

/** A value that starts like a negative number (`-5`, `-0.1,0.2`, `-1=curve`): no option starts with a digit. */
const NEGATIVE_NUMBER = /^-\.?\d/;

/**
 * `--until -5` as `--until=-5`: the argument parser takes "-5" for an unknown option, and the
 * user saw "Unknown option `-5`" instead of "--until: expected a positive number". Arguments after
 * `--` (the trainer's command) are left as they are.
 */
export function joinNegativeValues(argv: readonly string[], takesValue: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === "--") {
      out.push(...argv.slice(i));
      break;
    }
    const next = argv[i + 1];
    if (takesValue.has(a) && next !== undefined && NEGATIVE_NUMBER.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** Every `--name` (as typed, kebab-case) that takes a value, across the commands. */
export function valueFlags(specs: readonly CommandSpec[]): Set<string> {
  const names = new Set<string>();
  for (const s of specs) {
    for (const [raw] of s.flags) {
      if (!raw.includes("<") && !raw.includes("[")) continue;
      for (const part of raw.split(/[ ,]+/)) if (part.startsWith("--")) names.add(part);
    }
  }
  return names;
}
