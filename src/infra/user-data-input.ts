// What the node's script is made of, and what each part may hold: the renderer's checks, apart
// from the script itself (user-data.ts) so that the template reads top to bottom on its own.
import type { Stage } from "./config.ts";

export interface UserDataInput {
  campaign: string;
  stage: Exclude<Stage, "plan">;
  bucket: string;
  /** The campaign's prefix in the bucket; the node's role may write only below it. */
  prefix: string;
  region: string;
  image: string;
  /** The stage's runs, in order: one for full, the sanity commands for sanity. */
  runs: readonly { name: string; command: string }[];
  /** Minutes until the node powers itself off, whatever happens. */
  hardStopMinutes: number;
  metricsIntervalS: number;
  rank: number;
  nodes: number;
  /** Rendezvous address for ranks > 0 (the first node's private IP); rank 0 uses its own. */
  masterAddr?: string;
  efa: boolean;
  target: Record<string, number | string>;
  verdictDigest: string;
}

/**
 * The shortest hard stop we schedule. `shutdown -P +0` powers the node off at boot (red-team
 * finding 22); below half an hour the node spends its life booting and pulling a multi-GB training
 * image before any run starts. A judgement, not a measurement; the stack schema enforces the same.
 */
export const MIN_HARD_STOP_MINUTES = 30;

/**
 * C0 and C1 control characters but tab and newline. Single quotes stop the shell from expanding
 * them, but they still reach bash, docker and the trainer raw: a NUL ends a C string early, a CR
 * or an escape sequence rewrites what the log shows (red-team finding 24).
 */
export const CONTROL_CHARACTER = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

/** Where the first control character of `s` is, in words ("U+0000 at index 15"), or undefined. */
export function controlCharacterAt(s: string): string | undefined {
  const m = CONTROL_CHARACTER.exec(s);
  return m ? `U+${m[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")} at index ${m.index}` : undefined;
}

/**
 * What each name the script writes may hold. They land inside shell quotes, JSON strings, S3 keys
 * and file names on the node; a charset with no quote, backslash, space, `$` or newline keeps them
 * inert in all four without escaping (issue 15: a campaign with a newline executed, a run named
 * `x"y` wrote invalid events JSON). The stack schema is stricter still; this is the renderer's own floor.
 */
const NAME_RULES: readonly [field: string, pick: (u: UserDataInput) => string | undefined, rule: RegExp, expected: string][] = [
  ["campaign", (u) => u.campaign, /^[a-z0-9][a-z0-9-]*$/, "a-z, 0-9 and -, starting with a letter or digit"],
  ["stage", (u) => u.stage, /^(sanity|full)$/, "sanity or full"],
  ["bucket", (u) => u.bucket, /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "an S3 bucket name (3–63 characters of a-z, 0-9, . and -)"],
  ["prefix", (u) => u.prefix, /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/, "segments of A-Z, a-z, 0-9, ., _ and - separated by /"],
  ["region", (u) => u.region, /^[a-z0-9-]+$/, "a region name (a-z, 0-9 and -)"],
  ["masterAddr", (u) => u.masterAddr, /^[A-Za-z0-9.:-]*$/, "an IP address or host name"],
  ["verdictDigest", (u) => u.verdictDigest, /^[0-9a-f]{64}$/, "a sha256 digest (64 hex digits)"],
];
const RUN_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Why these inputs cannot become a safe script: every reason, or none. */
export function userDataProblems(u: UserDataInput): string[] {
  const problems: string[] = [];
  const whole = (field: string, v: number, min: number, why = ""): void => {
    if (!Number.isInteger(v) || v < min) problems.push(`${field}: expected a whole number ≥ ${min}${why}, got ${v}`);
  };
  whole("hardStopMinutes", u.hardStopMinutes, MIN_HARD_STOP_MINUTES, " (the node powers itself off that many minutes after boot)");
  whole("metricsIntervalS", u.metricsIntervalS, 1);
  whole("rank", u.rank, 0);
  whole("nodes", u.nodes, u.rank + 1);
  const text: [string, string | undefined][] = [
    ["campaign", u.campaign], ["stage", u.stage], ["bucket", u.bucket], ["prefix", u.prefix], ["region", u.region], ["image", u.image],
    ["masterAddr", u.masterAddr], ["verdictDigest", u.verdictDigest],
    ...u.runs.flatMap((r, i): [string, string][] => [[`runs[${i}].name`, r.name], [`runs[${i}].command`, r.command]]),
    ...Object.entries(u.target).flatMap(([k, v]): [string, string][] => [[`target key ${JSON.stringify(k)}`, k], [`target.${k}`, String(v)]]),
  ];
  for (const [field, v] of text) {
    const at = v === undefined ? undefined : controlCharacterAt(v);
    if (at !== undefined) problems.push(`${field}: control character ${at} (only tab and newline may appear)`);
  }
  for (const [field, pick, rule, expected] of NAME_RULES) {
    const v = pick(u);
    if (v !== undefined && !rule.test(v)) problems.push(`${field}: expected ${expected}, got ${JSON.stringify(v)}`);
  }
  u.runs.forEach((r, i) => {
    if (!RUN_NAME.test(r.name)) problems.push(`runs[${i}].name: expected A-Z, a-z, 0-9, ., _ and -, starting with a letter or digit, got ${JSON.stringify(r.name)}`);
  });
  return problems;
}

/**
 * Where the script keeps its files and how long it waits. Production uses the defaults; the
 * tests that execute the script point the two root paths at a temp folder and shorten the waits.
 */
export interface RenderOptions {
  /** @default LOG_FILE */
  logFile?: string;
  /** @default OUT_DIR */
  outDir?: string;
  /** Seconds between metric uploads (may be fractional; `windtunnel rehearse` compresses time). @default the input's metricsIntervalS */
  metricsIntervalS?: number;
  /** Seconds between spot-notice polls (may be fractional). @default SPOT_POLL_S */
  spotPollS?: number;
  /** Waits between the tries of IMDS and of the final upload: one more try than waits. @default RETRY_WAITS_S */
  retryWaitsS?: readonly number[];
  /** Every aws call's `--cli-connect-timeout`. @default AWS_CONNECT_TIMEOUT_S */
  awsConnectTimeoutS?: number;
  /** Every aws call's `--cli-read-timeout` (0 would mean none). @default AWS_READ_TIMEOUT_S */
  awsReadTimeoutS?: number;
  /** AWS_MAX_ATTEMPTS (standard retry mode) for every aws call. @default AWS_MAX_ATTEMPTS */
  awsMaxAttempts?: number;
}

/** Why these options cannot make a safe script: every reason, or none. */
export function optionProblems(o: RenderOptions): string[] {
  const problems: string[] = [];
  for (const [field, v] of [["logFile", o.logFile], ["outDir", o.outDir]] as const) {
    if (v !== undefined && !/^\/[A-Za-z0-9._/-]+$/.test(v)) problems.push(`options.${field}: expected an absolute path of A-Z, a-z, 0-9, ., _, - and /, got ${JSON.stringify(v)}`);
  }
  const positive = (field: string, v: number | undefined, whole: boolean): void => {
    if (v !== undefined && !(Number.isFinite(v) && v > 0 && (!whole || Number.isInteger(v)))) problems.push(`options.${field}: expected a ${whole ? "whole " : ""}number > 0, got ${v}`);
  };
  positive("spotPollS", o.spotPollS, false);
  positive("metricsIntervalS", o.metricsIntervalS, false);
  o.retryWaitsS?.forEach((w, i) => positive(`retryWaitsS[${i}]`, w, false));
  positive("awsConnectTimeoutS", o.awsConnectTimeoutS, true);
  positive("awsReadTimeoutS", o.awsReadTimeoutS, true);
  positive("awsMaxAttempts", o.awsMaxAttempts, true);
  return problems;
}
