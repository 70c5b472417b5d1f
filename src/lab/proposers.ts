// Where Phase 1 candidates come from: the whole grid in order, a seeded random walk through it
// (the same seed proposes the same sequence, which is also how a resumed sweep finds its place),
// a model of the results so far (tpe-proposer.ts), or an external command, typically an LLM agent
// loop, that reads the trajectory so far on stdin and answers one config as JSON.
import { readFileSync } from "node:fs";
import { execa, parseCommandString } from "execa";
import { candidateConfig, configFromAnswer, gridConfig, menuSize, menuSizeText, type Config, type KnobValue, type LoadedMenu } from "./menu.ts";
import { mulberry32 } from "./random.ts";
import { parseJsonLine, parseJsonText } from "../evidence/json.ts";
import { jsonLine } from "./journal.ts";
import type { ProposerInput } from "./names.ts";
import type { Prior } from "./priors.ts";
import type { Result } from "./planner.ts";

export type Proposal = { kind: "config"; config: Config } | { kind: "invalid"; reason: string } | { kind: "exhausted"; reason: string };

export interface ProposalContext {
  /** The trajectory file so far (what an agent reads). */
  trajectoryFile: string;
  /** 1-based number of this proposal. */
  n: number;
  /** The results so far, as the planner holds them (what a model-based proposer learns from). Absent: none yet. */
  results?: readonly Result[];
  /** Configs in flight or queued, whose results are not in yet (not to be proposed again). */
  pending?: readonly Config[];
  signal?: AbortSignal;
}

export interface Proposer {
  readonly name: string;
  next(ctx: ProposalContext): Promise<Proposal>;
}


/** The most an external proposer may print before it has answered too much. */
const MAX_ANSWER_BYTES = 1 << 20;

/** Every config of the menu, first knob varying slowest. */
export function gridProposer(menu: LoadedMenu): Proposer {
  let i = 0;
  const size = menuSize(menu);
  return {
    name: "grid",
    next: async () => (i < size ? { kind: "config", config: gridConfig(menu, i++) } : { kind: "exhausted", reason: `the grid's ${menuSizeText(menu)} configs are all proposed` }),
  };
}

/** Largest menu shuffled as a whole; beyond it each knob is drawn on its own and repeats are skipped by the sweep. */
export const SHUFFLE_LIMIT = 1 << 20;

/**
 * The grid in a seeded random order, without repeats. Beyond a million configs, each knob's
 * value is drawn on its own (the same distribution as a uniform grid index): a grid index would
 * overflow, and floor(rand() × Infinity) names no config at all.
 */
export function randomProposer(menu: LoadedMenu, seed: number): Proposer {
  const size = menuSize(menu);
  const rand = mulberry32(seed);
  if (size <= SHUFFLE_LIMIT) {
    const order = Uint32Array.from({ length: size }, (_, k) => k);
    for (let k = size - 1; k > 0; k--) {
      const j = Math.floor(rand() * (k + 1));
      const t = order[k] as number;
      order[k] = order[j] as number;
      order[j] = t;
    }
    let i = 0;
    return { name: "random", next: async () => (i < size ? { kind: "config", config: gridConfig(menu, order[i++] as number) } : { kind: "exhausted", reason: `all ${size} configs of the menu are proposed` }) };
  }
  const knobs = Object.entries(menu.knobs);
  return { name: "random", next: async () => ({ kind: "config", config: candidateConfig(menu, Object.fromEntries(knobs.map(([k, choices]) => [k, choices[Math.floor(rand() * choices.length)] as KnobValue]))) }) };
}

export interface CommandProposerOptions {
  /** @default 120 s: an LLM call may take a while */
  timeoutMs?: number;
  cwd?: string;
  /** What stdin carries (the proposer also finds it in WINDTUNNEL_PROPOSER_INPUT). @default "jsonl" */
  input?: ProposerInput;
  /** Earlier campaigns' trajectories, matched to the menu: the document's `priors`. */
  priors?: readonly Prior[];
}

/**
 * An external proposer's stdin (ProposerInput). `jsonl`: the trajectory so far as written, one
 * row a line (what every proposer got before documents existed). `document`: one JSON document,
 * {format, proposal, trajectory: [rows as written], priors: [...]}, the only form that can carry
 * the priors, as a field of their own, apart from the rows the sweep trained.
 */

/** The `format` of a proposer document; a later, incompatible document gets another number. */
export const PROPOSER_DOCUMENT_FORMAT = "windtunnel-proposer-input/1";

/**
 * The document form of a proposer's stdin (pure): the trajectory's rows as written (a torn or
 * unreadable line is left out; the sweep repairs the file before it starts), then the priors.
 * Non-finite numbers are written as the trajectory writes them (NaN, Infinity: Python's json reads them).
 */
export function proposerDocument(trajectoryText: string, priors: readonly Prior[], n: number): string {
  const trajectory: unknown[] = [];
  for (const line of trajectoryText.split("\n")) {
    if (line.trim() === "") continue;
    const row = parseJsonLine(line);
    if (row.ok) trajectory.push(row.value);
  }
  const prior = priors.map((p) => ({
    file: p.file,
    format: p.format,
    read: p.read,
    used: p.rows.length,
    ignored: p.ignored.map((i) => (i.kind === "key" ? { key: i.key, rows: i.rows } : { reason: i.reason, rows: i.rows })),
    rows: p.rows.map((r) => ({ id: r.id, config: r.knobs, val_bpb: r.value, status: r.status, ...(r.seed !== undefined ? { seed: r.seed } : {}) })),
  }));
  return `${jsonLine({ format: PROPOSER_DOCUMENT_FORMAT, proposal: n, trajectory, priors: prior })}\n`;
}

/**
 * An external proposer: `command` runs once per proposal with the trajectory so far on stdin (as
 * JSONL, or inside a document with the priors: `input`), WINDTUNNEL_MENU naming the menu file and
 * WINDTUNNEL_PROPOSER_INPUT the form of stdin; it prints one JSON object of knob values (a
 * partial object keeps the baseline's other values). Anything else is an invalid proposal,
 * reported with the reason; the sweep asks again.
 */
export function commandProposer(menu: LoadedMenu, command: string, options: CommandProposerOptions = {}): Proposer {
  const [file, ...args] = parseCommandString(command);
  if (file === undefined) throw new Error("empty proposer command");
  return {
    name: "command",
    async next(ctx) {
      let trajectory = "";
      try {
        trajectory = readFileSync(ctx.trajectoryFile, "utf8");
      } catch {
        trajectory = "";
      }
      const form = options.input ?? "jsonl";
      const input = form === "document" ? proposerDocument(trajectory, options.priors ?? [], ctx.n) : trajectory;
      const r = await execa(file, args, {
        input,
        ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
        env: { WINDTUNNEL_MENU: menu.file, WINDTUNNEL_PROPOSAL: String(ctx.n), WINDTUNNEL_PROPOSER_INPUT: form },
        timeout: options.timeoutMs ?? 120_000,
        reject: false,
        stripFinalNewline: true,
        // An answer is one small JSON object: a proposer that prints megabytes first must not cost
        // that much memory (150 MB of it peaked at 3.2 GB).
        maxBuffer: { stdout: MAX_ANSWER_BYTES, stderr: 64 * 1024 },
        ...(ctx.signal ? { cancelSignal: ctx.signal } : {}),
      });
      const stderr = r.stderr.trim().split("\n").slice(-3).join(" | ");
      if (r.isCanceled) return { kind: "exhausted", reason: "interrupted" };
      if (r.isMaxBuffer) return { kind: "invalid", reason: `printed more than ${MAX_ANSWER_BYTES >> 10} KiB on ${r.stdout.length >= MAX_ANSWER_BYTES ? "stdout" : "stderr"} (an answer is one JSON object); stopped` };
      if (r.timedOut) return { kind: "invalid", reason: `no answer within ${Math.round((options.timeoutMs ?? 120_000) / 1000)} s` };
      if (r.exitCode !== 0) return { kind: "invalid", reason: `exited with code ${r.exitCode ?? r.signal}${stderr ? `: ${stderr}` : ""}` };
      const text = r.stdout.trim();
      if (text === "") return { kind: "invalid", reason: "answered nothing (expected one JSON object on stdout)" };
      const answer = parseJsonText(text);
      if (!answer.ok) return { kind: "invalid", reason: answer.problem === "duplicate" ? `answer names ${answer.key} twice (which value is meant?): ${clip(text)}` : `answer is not JSON (${answer.message}): ${clip(text)}` };
      const config = configFromAnswer(menu, answer.value);
      return typeof config === "string" ? { kind: "invalid", reason: `${config}: ${clip(text)}` } : { kind: "config", config };
    },
  };
}

const clip = (s: string): string => (s.length > 120 ? `${s.slice(0, 117)}…` : s).replace(/\s+/g, " ");
