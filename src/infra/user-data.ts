// The node's bootstrap script (EC2 user data), as a pure function so it is tested on its own and
// checked with shellcheck. What it guarantees, in order: a hard stop at the hours cap (scheduled
// before anything else can fail), metrics shipped to the bucket every interval, the spot
// interruption notice polled every 5 s (checkpoint signal + a record in the bucket), the stage's
// commands in the user's container, and a power-off (= terminate) when they end or the script fails.
import type { Stage } from "./config.ts";
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
  /** Seconds between spot-notice polls (may be fractional). @default SPOT_POLL_S */
  spotPollS?: number;
}

/**
 * The script, or an Error naming every reason it cannot be one. The stack schema refuses the
 * same inputs first, with their config keys; reaching this throw means a caller skipped it.
 */
export function renderUserData(u: UserDataInput, o: RenderOptions = {}): string {
  const problems = userDataProblems(u);
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
  const logFile = o.logFile ?? LOG_FILE;
  const outDir = o.outDir ?? OUT_DIR;
  const ecr = ecrRepositoryOf(u.image);
  const runs = u.runs.map((r) => `run_stage ${shq(r.name)} ${shq(r.command)}`).join("\n");
  return `#!/bin/bash
# The stage commands are single-quoted on purpose: they expand inside the container (NNODES, …).
# shellcheck disable=SC2016
# windtunnel node bootstrap: campaign ${u.campaign}, stage ${u.stage}, node ${u.rank + 1} of ${u.nodes}.
# Generated by windtunnel (src/infra/user-data.ts); the Pulumi stack owns it. Log: ${logFile}
set -euo pipefail
exec > >(tee -a ${logFile}) 2>&1

readonly CAMPAIGN=${shq(u.campaign)}
readonly STAGE=${shq(u.stage)}
readonly BUCKET=${shq(u.bucket)}
readonly PREFIX=${shq(`${u.prefix}/${u.stage}/node-${u.rank}`)}
readonly CHECKPOINTS=${shq(`s3://${u.bucket}/${u.prefix}/checkpoints/`)}
readonly REGION=${shq(u.region)}
readonly IMAGE=${shq(u.image)}
readonly NODE_RANK=${u.rank}
readonly NNODES=${u.nodes}
readonly MASTER_PORT=29500
readonly METRICS_INTERVAL_S=${u.metricsIntervalS}
readonly VERDICT=${shq(u.verdictDigest)}
readonly TARGET=${shq(JSON.stringify(u.target))}
readonly OUT=${outDir}

# The hard stop comes first, before anything can fail: the node powers off at its hours cap and,
# with instance-initiated shutdown set to terminate, cannot outlive its budget.
shutdown -P +${u.hardStopMinutes} "windtunnel: hours cap reached"

mkdir -p "$OUT"

imds() {
  local token
  token="$(curl -sS -f -X PUT http://169.254.169.254/latest/api/token -H 'X-aws-ec2-metadata-token-ttl-seconds: 300')"
  curl -sS -f -H "X-aws-ec2-metadata-token: $token" "http://169.254.169.254/latest/meta-data/$1"
}

INSTANCE_ID="$(imds instance-id)"
readonly INSTANCE_ID
${u.rank === 0 ? 'MASTER_ADDR="$(imds local-ipv4)"' : `MASTER_ADDR=${shq(u.masterAddr ?? "")}`}
readonly MASTER_ADDR

event() {
  printf '{"time":"%s","instance_id":"%s","node_rank":%d,"event":"%s","detail":%s}\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$INSTANCE_ID" "$NODE_RANK" "$1" "\${2:-null}" >> "$OUT/events.jsonl"
}

ship() {
  aws s3 sync --only-show-errors --region "$REGION" "$OUT" "s3://$BUCKET/$PREFIX/" || echo "windtunnel: upload to s3://$BUCKET/$PREFIX/ failed; retrying next interval"
}

ship_every_interval() {
  while true; do
    sleep "$METRICS_INTERVAL_S"
    ship
  done
}

# AWS gives two minutes' notice; the trainer checkpoints on SIGUSR1, and the record tells the
# watchdog that this stop is an interruption, not a divergence.
watch_spot_interruption() {
  local notice
  while true; do
    if notice="$(imds spot/instance-action 2>/dev/null)"; then
      event spot_interruption "$notice"
      docker kill --signal=SIGUSR1 windtunnel-run >/dev/null 2>&1 || true
      ship
      return 0
    fi
    sleep ${o.spotPollS ?? SPOT_POLL_S}
  done
}

finish() {
  local status=$?
  event node_done "{\\"status\\":$status}"
  ship
  jobs -p | xargs -r kill 2>/dev/null || true
  shutdown -P +${GRACE_MINUTES} "windtunnel: runs ended (status $status)"
}
trap finish EXIT

event node_started "{\\"stage\\":\\"$STAGE\\",\\"verdict\\":\\"$VERDICT\\"}"
ship_every_interval &
watch_spot_interruption &
${ecr ? `
aws ecr get-login-password --region ${shq(ecr.region)} | docker login --username AWS --password-stdin ${shq(ecr.registry)}` : ""}
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
  event run_started "{\\"name\\":\\"$name\\"}"
  docker run --name windtunnel-run --rm --gpus all --network host --ipc host \\
    --ulimit memlock=-1 --ulimit stack=67108864 "\${DEVICES[@]}" \\
    -v "$OUT:/out" \\
    -e WINDTUNNEL_CAMPAIGN="$CAMPAIGN" -e WINDTUNNEL_STAGE="$STAGE" -e WINDTUNNEL_TAG="$name" \\
    -e WINDTUNNEL_METRICS="/out/$name.metrics.jsonl" -e WINDTUNNEL_CHECKPOINTS="$CHECKPOINTS" \\
    -e WINDTUNNEL_TARGET="$TARGET" -e AWS_REGION="$REGION" \\
    -e NODE_RANK="$NODE_RANK" -e NNODES="$NNODES" -e MASTER_ADDR="$MASTER_ADDR" -e MASTER_PORT="$MASTER_PORT" \\
    -- "$IMAGE" /bin/bash -lc "$command" || status=$?
  event run_ended "{\\"name\\":\\"$name\\",\\"status\\":$status}"
  ship
}

${runs}
`;
}

/** The hard stop a rendered script schedules, in minutes (for plans and tests). */
export function hardStopOf(script: string): number | undefined {
  const m = /^shutdown -P \+(\d+) "windtunnel: hours cap reached"$/m.exec(script);
  return m ? Number(m[1]) : undefined;
}
