// Plain training logs read through a regular expression with named groups, so curves from
// trainers that never wrote JSON (nanoGPT-style prints) are still evidence. Lines that do not
// match are ignored and counted; a line that matches but carries a bad number is an error.
import { NON_NEGATIVE, type MetricPoint } from "../schemas.ts";
import type { Diagnostics } from "../../common/problems.ts";
import type { LineBatch } from "../lines.ts";
import { UsageError } from "../../common/errors.ts";
import { LOG_PRESETS, type LogPreset } from "../names.ts";
import { StepOrder } from "./common.ts";
import { parseNumberText } from "../numbers.ts";

export { LOG_PRESETS, type LogPreset };

const NUMERIC_GROUPS = ["loss", "val_loss", "val_bpb", "grad_norm", "lr", "tokens", "time_s", "time_ms", "total_steps"] as const;
const LOSS_GROUPS = ["loss", "val_loss", "val_bpb"] as const;
const KNOWN_GROUPS = new Set<string>(["step", "tag", ...NUMERIC_GROUPS]);
/** Each series keeps its own step order: a log prints train and val lines for the same step. */
const SERIES_OF = ["loss", "val_loss", "val_bpb", "grad_norm"] as const;

export interface LogPattern {
  /** Preset name, or "custom" for a user-supplied regex. */
  name: string;
  regex: RegExp;
}

export function logPattern(spec: { preset?: string; regex?: string }): LogPattern {
  if (spec.regex !== undefined) {
    let regex: RegExp;
    try {
      regex = new RegExp(spec.regex);
    } catch (err) {
      throw new UsageError(`--log-regex: not a valid regular expression: ${(err as Error).message}`, { cause: err });
    }
    const groups = [...spec.regex.matchAll(/\(\?<([A-Za-z_][A-Za-z0-9_]*)>/g)].map((m) => m[1] ?? "");
    const unknown = groups.filter((g) => !KNOWN_GROUPS.has(g));
    if (!groups.includes("step")) throw new UsageError("--log-regex: needs a named group (?<step>…)");
    if (!LOSS_GROUPS.some((g) => groups.includes(g))) throw new UsageError("--log-regex: needs at least one of the named groups loss, val_loss, val_bpb");
    if (unknown.length > 0) throw new UsageError(`--log-regex: unknown named group(s) ${unknown.join(", ")}; known: ${[...KNOWN_GROUPS].join(", ")}`);
    return { name: "custom", regex };
  }
  const name = spec.preset ?? "modded-nanogpt";
  const source = (LOG_PRESETS as Record<string, string>)[name];
  if (source === undefined) throw new UsageError(`--log-preset: unknown preset ${JSON.stringify(name)}; known: ${Object.keys(LOG_PRESETS).join(", ")}`);
  return { name, regex: new RegExp(source) };
}

export interface LogInfo {
  pattern: string;
  ignoredLines: number;
}

export async function* logLines(batches: AsyncIterable<LineBatch>, diag: Diagnostics, pattern: LogPattern, info: LogInfo): AsyncGenerator<MetricPoint[]> {
  const order = new StepOrder();
  info.pattern = pattern.name;
  for await (const batch of batches) {
    const out: MetricPoint[] = [];
    for (let i = 0; i < batch.lines.length; i++) {
      const text = batch.lines[i];
      if (text === null || text === undefined) continue;
      const line = batch.first + i;
      const m = pattern.regex.exec(text);
      const g = m?.groups;
      if (!g) {
        info.ignoredLines++;
        continue;
      }
      const step = Number(g["step"]);
      if (!Number.isSafeInteger(step) || step < 0) {
        diag.error(line, "step", Number.isInteger(step) && step > 0 ? `too large to be an exact step (2^53 or more), got ${JSON.stringify(g["step"])}` : `expected a whole number ≥ 0, got ${JSON.stringify(g["step"])}`);
        continue;
      }
      const p: MetricPoint = { step, line };
      let bad = false;
      for (const k of NUMERIC_GROUPS) {
        const raw = g[k];
        if (raw === undefined || raw === "") continue;
        const v = parseNumberText(raw);
        if (!v.ok) {
          diag.error(line, k, v.message);
          bad = true;
          break;
        }
        if (v.value < 0 && k !== "total_steps") {
          diag.error(line, k, LOSS_GROUPS.includes(k as (typeof LOSS_GROUPS)[number]) || k === "grad_norm" ? `${NON_NEGATIVE}, got ${raw}` : `expected a number ≥ 0, got ${raw}`);
          bad = true;
          break;
        }
        if (k === "time_ms") p.time_s = v.value / 1000;
        else if (k !== "total_steps") p[k] = v.value;
      }
      if (bad) continue;
      if (g["tag"]) p.tag = g["tag"];
      if (!LOSS_GROUPS.some((k) => p[k] !== undefined)) {
        info.ignoredLines++;
        continue;
      }
      let why: string | undefined;
      for (const s of SERIES_OF) {
        if (p[s] === undefined) continue;
        why ??= order.check(p.tag ? `${p.tag}/${s}` : s, step, line);
      }
      if (why !== undefined) {
        diag.error(line, "step", why);
        continue;
      }
      out.push(p);
    }
    if (out.length > 0) yield out;
  }
}
