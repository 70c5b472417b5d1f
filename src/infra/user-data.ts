// The node's bootstrap script (EC2 user data), as a pure function so it is tested on its own and
// checked with shellcheck. What it guarantees, in order: a hard stop at the hours cap (scheduled
// before anything else can fail), metrics shipped to the bucket every interval, the spot
// interruption notice polled every 5 s (checkpoint signal + a record in the bucket), the stage's
// commands in the user's container, and a power-off (= terminate) when they end or the script fails.
import type { Stage } from "./config.ts";
import { checkpointsPrefix, EVENTS_FILE, METRICS_SUFFIX, nodePrefix } from "../campaign/layout.ts";
import { ecrRepositoryOf } from "./policies.ts";

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

/** Quote a string for bash: single quotes, with embedded ones closed, escaped and reopened. */
export function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export const SPOT_POLL_S = 5;
/** Minutes the node stays up after its runs end, for a look through SSM, before it powers off. */
export const GRACE_MINUTES = 5;
/**
 * The shortest hard stop we schedule. `shutdown -P +0` powers the node off at boot (red-team
 * finding 22); below half an hour the node spends its life booting and pulling a multi-GB training
 * image before any run starts. A judgement, not a measurement; the stack schema enforces the same.
 */
export const MIN_HARD_STOP_MINUTES = 30;
/** EC2 refuses user data over 16 KB, counted before base64 (RunInstances, UserData). */
export const EC2_USER_DATA_LIMIT_BYTES = 16_384;
/** Where the script logs and collects the runs' output on the node (tests point them elsewhere). */
export const LOG_FILE = "/var/log/windtunnel.log";
export const OUT_DIR = "/opt/windtunnel/out";

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

export const byteLength = (s: string): number => new TextEncoder().encode(s).length;

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

/**
 * Issue 15: an unreachable S3 cost ~12 s per sync with the CLI's defaults (and a silent one the
 * read timeout's 60 s per attempt). Bounded, the final upload's 4 tries take at most ~4 × 3 × 40 s
 * plus 14 s of waits: under the 5-minute grace, and the power-off comes after it either way.
 */
export const RETRY_WAITS_S: readonly number[] = [2, 4, 8];
export const AWS_CONNECT_TIMEOUT_S = 10;
export const AWS_READ_TIMEOUT_S = 30;
export const AWS_MAX_ATTEMPTS = 3;

function optionProblems(o: RenderOptions): string[] {
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

/**
 * The script, or an Error naming every reason it cannot be one. The stack schema refuses the
 * same inputs first, with their config keys; reaching this throw means a caller skipped it.
 */
export function renderUserData(u: UserDataInput, o: RenderOptions = {}): string {
  const problems = [...userDataProblems(u), ...optionProblems(o)];
  if (problems.length > 0) throw new Error(`renderUserData: ${problems.join("; ")}`);
  const script = render(u, o);
  const size = byteLength(script);
  if (size > EC2_USER_DATA_LIMIT_BYTES) throw new Error(`renderUserData: the script is ${size} bytes, over EC2's limit of ${EC2_USER_DATA_LIMIT_BYTES} bytes (before base64)`);
  return script;
}

/** The script's size in bytes as EC2 counts it (UTF-8, before base64), whatever the size. */
export function userDataBytes(u: UserDataInput): number {
  return byteLength(render(u));
}

function render(u: UserDataInput, o: RenderOptions = {}): string {
  const ecr = ecrRepositoryOf(u.image);
  const runs = u.runs.map((r) => `run_stage ${shq(r.name)} ${shq(r.command)}`).join("\n");
  const waits = o.retryWaitsS ?? RETRY_WAITS_S;
  const upload = 'upload to s3://$BUCKET/$PREFIX/';
  return `#!/bin/bash
# windtunnel node bootstrap, generated by windtunnel (src/infra/user-data.ts); the Pulumi stack owns it.
# The stage commands are single-quoted on purpose: they expand inside the container (NNODES, …).
# shellcheck disable=SC2016
set -euo pipefail
# Every line the script and its commands print goes to the log and the console, stamped in UTC.
exec > >(export TZ=UTC; while IFS= read -r l || [ -n "$l" ]; do printf '%(%Y-%m-%dT%H:%M:%SZ)T %s\\n' -1 "$l"; done | tee -a ${shq(o.logFile ?? LOG_FILE)}) 2>&1

readonly CAMPAIGN=${shq(u.campaign)}
readonly STAGE=${shq(u.stage)}
readonly BUCKET=${shq(u.bucket)}
readonly PREFIX=${shq(nodePrefix(u.prefix, u.stage, u.rank).replace(/\/$/, ""))}
readonly CHECKPOINTS=${shq(`s3://${u.bucket}/${checkpointsPrefix(u.prefix)}`)}
readonly REGION=${shq(u.region)}
readonly IMAGE=${shq(u.image)}
readonly NODE_RANK=${u.rank}
readonly NNODES=${u.nodes}
readonly MASTER_PORT=29500
readonly METRICS_INTERVAL_S=${o.metricsIntervalS ?? u.metricsIntervalS}
readonly VERDICT=${shq(u.verdictDigest)}
readonly TARGET=${shq(JSON.stringify(u.target))}
readonly OUT=${shq(o.outDir ?? OUT_DIR)}
readonly SPOT_POLL_S=${o.spotPollS ?? SPOT_POLL_S}
readonly RETRY_WAITS_S=(${waits.join(" ")})

# The hard stop comes first, before anything can fail: the node powers off at its hours cap and,
# with instance-initiated shutdown set to terminate, cannot outlive its budget.
shutdown -P +${u.hardStopMinutes} "windtunnel: hours cap reached"

export AWS_RETRY_MODE=standard AWS_MAX_ATTEMPTS=${o.awsMaxAttempts ?? AWS_MAX_ATTEMPTS}
INSTANCE_ID=unknown
FIRST_FAILURE=0
LOOPS=()
RUN_PID=""
NAP=""

say() { echo "windtunnel: $*"; }

# The names are a safe charset (the renderer checks); this is for what IMDS sends.
json_str() {
  local s=$1
  s=\${s//\\\\/\\\\\\\\}; s=\${s//\\"/\\\\\\"}; s=\${s//$'\\n'/\\\\n}; s=\${s//$'\\r'/\\\\r}; s=\${s//$'\\t'/\\\\t}
  printf '"%s"' "$s"
}

event() {
  printf '{"time":"%s","instance_id":"%s","node_rank":%d,"event":"%s","detail":%s}\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$INSTANCE_ID" "$NODE_RANK" "$1" "\${2:-null}" >> "$OUT/${EVENTS_FILE}"
}

# Timeouts and a bounded retry on every call: a dead endpoint costs seconds (issue 15).
awsc() { aws --cli-connect-timeout ${o.awsConnectTimeoutS ?? AWS_CONNECT_TIMEOUT_S} --cli-read-timeout ${o.awsReadTimeoutS ?? AWS_READ_TIMEOUT_S} "$@"; }

ship() { awsc s3 sync --only-show-errors --region "$REGION" "$OUT" "s3://$BUCKET/$PREFIX/"; }

# The last upload: a few tries with backoff, then the power-off goes ahead without it.
final_ship() {
  local try=1 wait
  for wait in "\${RETRY_WAITS_S[@]}" ""; do
    ship && return 0
    [ -n "$wait" ] || break
    say "final ${upload} failed (try $try); retrying in $wait s"
    sleep "$wait"
    try=$((try + 1))
  done
  say "final ${upload} failed after $try tries; powering off without it"
  return 1
}

# A sleep that a TERM to the loop ends at once, with the loop.
nap() {
  sleep "$1" &
  NAP=$!
  wait "$NAP"
}

imds_once() {
  local token
  token="$(curl -sS -f --connect-timeout 2 --max-time 5 -X PUT http://169.254.169.254/latest/api/token -H 'X-aws-ec2-metadata-token-ttl-seconds: 300')" || return
  curl -sS -f --connect-timeout 2 --max-time 5 -H "X-aws-ec2-metadata-token: $token" "http://169.254.169.254/latest/meta-data/$1"
}

# IMDS may not answer in the first seconds of boot: a few tries with backoff, then fail.
imds() {
  local try=1 wait status=0
  for wait in "\${RETRY_WAITS_S[@]}" ""; do
    if imds_once "$1"; then return 0; else status=$?; fi
    [ -n "$wait" ] || break
    say "IMDS $1 failed (exit $status), try $try of $((\${#RETRY_WAITS_S[@]} + 1)); retrying in $wait s" >&2
    sleep "$wait"
    try=$((try + 1))
  done
  say "IMDS $1 failed (exit $status) after $try tries" >&2
  return "$status"
}

ship_every_interval() {
  trap 'kill "$NAP" 2>/dev/null; exit 0' TERM
  while true; do
    nap "$METRICS_INTERVAL_S"
    ship || say "${upload} failed; retrying next interval"
  done
}

# True once AWS has given notice; the first to see it records it. Runs check it before they start.
spot_noticed() {
  local notice
  [ ! -e "$OUT/spot-notice.json" ] || return 0
  notice="$(imds_once spot/instance-action 2>/dev/null)" || return 1
  mkdir "$OUT/.spot" 2>/dev/null || return 0
  printf '%s\\n' "$notice" > "$OUT/spot-notice.json" || true
  if [[ $notice != "{"*"}" || $notice == *$'\\n'* ]]; then notice="$(json_str "$notice")"; fi
  event spot_interruption "$notice" || say "could not record spot_interruption"
}

# AWS gives two minutes' notice; the trainer checkpoints on SIGUSR1, and the record tells the
# watchdog that this stop is an interruption, not a divergence. Every container running after
# the notice gets the signal once: a run can start between its check and the notice.
watch_spot_interruption() {
  local id signalled="" shipped=""
  trap 'kill "$NAP" 2>/dev/null; exit 0' TERM
  until spot_noticed; do nap "$SPOT_POLL_S"; done
  while true; do
    id="$(docker ps -q --filter 'name=^windtunnel-run$' 2>/dev/null)" || id=""
    if [ -n "$id" ] && [ "$id" != "$signalled" ]; then
      docker kill --signal=SIGUSR1 windtunnel-run >/dev/null 2>&1 || true
      signalled=$id
    fi
    [ -n "$shipped" ] || { ship || true; shipped=1; }
    nap "$SPOT_POLL_S"
  done
}

# Runs on every exit and must not abort: each step is guarded and the power-off is always
# reached. The status: the first failed stage's, else the script's own (a signal is 128 + n).
finish() {
  local status=$? pid
  set +e
  trap '' HUP INT TERM
  [ "$FIRST_FAILURE" -eq 0 ] || status=$FIRST_FAILURE
  for pid in "\${LOOPS[@]}" \${RUN_PID:+"$RUN_PID"}; do kill "$pid" 2>/dev/null; done
  [ \${#LOOPS[@]} -eq 0 ] || wait "\${LOOPS[@]}" 2>/dev/null
  say "runs ended (status $status); shipping and powering off in ${GRACE_MINUTES} minutes"
  event node_done "{\\"status\\":$status}" || say "could not record node_done (status $status)"
  final_ship
  shutdown -P +${GRACE_MINUTES} "windtunnel: runs ended (status $status)" || say "could not schedule the power-off; the hard stop stands"
  exit "$status"
}
trap finish EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$OUT"
id="$(imds instance-id)"
[[ $id =~ ^i-[0-9a-f]+$ ]] || { say "IMDS gave no instance id: $id"; exit 1; }
INSTANCE_ID=$id
readonly INSTANCE_ID
${u.rank === 0 ? 'MASTER_ADDR="$(imds local-ipv4)"' : `MASTER_ADDR=${shq(u.masterAddr ?? "")}`}
readonly MASTER_ADDR

event node_started "{\\"stage\\":\\"$STAGE\\",\\"verdict\\":\\"$VERDICT\\"}"
ship_every_interval &
LOOPS+=("$!")
watch_spot_interruption &
LOOPS+=("$!")
${ecr ? `
awsc ecr get-login-password --region ${shq(ecr.region)} | docker login --username AWS --password-stdin ${shq(ecr.registry)}` : ""}
# "--" ends docker's options (spf13/pflag): an image named "-v/:/host" stays an image.
docker pull -- "$IMAGE"

DEVICES=()
${u.efa ? `shopt -s nullglob
for dev in /dev/infiniband/uverbs*; do
  DEVICES+=(--device "$dev")
done
shopt -u nullglob
` : ""}
run_stage() {
  local name=$1 command=$2 status=0
  if spot_noticed; then
    event run_skipped "{\\"name\\":\\"$name\\",\\"reason\\":\\"spot interruption\\"}"
    say "run $name skipped: the node has a spot interruption notice"
    return 0
  fi
  event run_started "{\\"name\\":\\"$name\\"}"
  say "run $name started"
  # In the background, so that a signal to this script is handled now, not when the run ends.
  docker run --name windtunnel-run --rm --gpus all --network host --ipc host \\
    --ulimit memlock=-1 --ulimit stack=67108864 "\${DEVICES[@]}" \\
    -v "$OUT:/out" \\
    -e WINDTUNNEL_CAMPAIGN="$CAMPAIGN" -e WINDTUNNEL_STAGE="$STAGE" -e WINDTUNNEL_TAG="$name" \\
    -e WINDTUNNEL_METRICS="/out/$name${METRICS_SUFFIX}" -e WINDTUNNEL_CHECKPOINTS="$CHECKPOINTS" \\
    -e WINDTUNNEL_TARGET="$TARGET" -e AWS_REGION="$REGION" \\
    -e NODE_RANK="$NODE_RANK" -e NNODES="$NNODES" -e MASTER_ADDR="$MASTER_ADDR" -e MASTER_PORT="$MASTER_PORT" \\
    -- "$IMAGE" /bin/bash -lc "$command" &
  RUN_PID=$!
  wait "$RUN_PID" || status=$?
  RUN_PID=""
  [ "$FIRST_FAILURE" -ne 0 ] || FIRST_FAILURE=$status
  say "run $name ended (status $status)"
  event run_ended "{\\"name\\":\\"$name\\",\\"status\\":$status}"
  ship || say "${upload} failed; retrying next interval"
}

${runs}
`;
}

/** The hard stop a rendered script schedules, in minutes (for plans and tests). */
export function hardStopOf(script: string): number | undefined {
  const m = /^shutdown -P \+(\d+) "windtunnel: hours cap reached"$/m.exec(script);
  return m ? Number(m[1]) : undefined;
}
