// Runs the rendered user data for real: bash executes the script with src/rehearse/bin first on
// PATH (docker, curl for IMDS, shutdown) and the real aws CLI talking to moto_server, in a temp
// folder that holds the log, the out folder, the stand-ins' state and their call log.
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { renderUserData } from "../../src/infra/user-data.ts";
import type { RenderOptions, UserDataInput } from "../../src/infra/user-data-input.ts";
import { standInsDir } from "../../src/rehearse/stand-ins.ts";

/** The stand-ins `windtunnel rehearse` ships: the tests use the same files. */
export const NODE_FIXTURES = standInsDir();
export const hasAwsCli = (): boolean => spawnSync("aws", ["--version"], { stdio: "ignore" }).status === 0;

/** Waits short enough that a scenario takes seconds; the production values are the defaults. */
export const FAST: RenderOptions = { spotPollS: 0.2, retryWaitsS: [0.1, 0.2, 0.4], awsConnectTimeoutS: 1, awsReadTimeoutS: 1, awsMaxAttempts: 1 };

export interface NodeEvent {
  time: string;
  instance_id: string;
  node_rank: number;
  event: string;
  detail: unknown;
}

export interface Cues {
  /** Every IMDS call fails like an unreachable host (curl exit 7). */
  imdsDown?: boolean;
  /** This many IMDS calls fail, then it answers. */
  imdsFails?: number;
  /** The spot notice IMDS serves from the start. */
  spotNotice?: string;
  /** `docker pull` exits with this. */
  pullExit?: number;
  /** Files put in the stand-ins' state folder ($STUB_STATE) before the script starts. */
  stateFiles?: Record<string, string>;
  /** The instance's tags, as IMDS serves them (tags/instance/<key>). */
  tags?: Record<string, string>;
}

export interface Control {
  pid: number;
  out: string;
  state: string;
  /** The events written so far on the node (not the bucket). */
  events: () => NodeEvent[];
  until: (what: string, ok: () => boolean, ms?: number) => Promise<void>;
}

export interface Scenario {
  input: UserDataInput;
  options?: RenderOptions;
  /** AWS_ENDPOINT_URL for every aws call the script makes. */
  endpoint: string;
  cues?: Cues;
  /** Called once the script has started (send it a signal, drop a cue). */
  during?: (c: Control) => Promise<void>;
  /** The script is killed after this long. @default 30_000 */
  timeoutMs?: number;
}

export interface NodeRun {
  status: number | null;
  signal: NodeJS.Signals | null;
  ms: number;
  output: string;
  log: string;
  events: NodeEvent[];
  calls: string[][];
  shutdowns: string[][];
  /** What docker kill delivered, "<SIGNAL> <container>". */
  signals: string[];
  /** A process of the script's group (a background loop, a sleep) outlived it by 3 s. */
  survivors: boolean;
}

/** The file's text, or "" when it is missing or not a file (a test may put a directory in its place). */
const readIf = (p: string): string => (statSync(p, { throwIfNoEntry: false })?.isFile() ? readFileSync(p, "utf8") : "");
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const groupAlive = (pid: number): boolean => {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
};

export function parseEvents(text: string): NodeEvent[] {
  return text.split("\n").filter((l) => l !== "").map((l, i) => {
    try {
      return JSON.parse(l) as NodeEvent;
    } catch {
      throw new Error(`events.jsonl:${i + 1}: not JSON: ${l}`);
    }
  });
}

export async function runNodeScript(dir: string, s: Scenario): Promise<NodeRun> {
  const out = join(dir, "out");
  const state = join(dir, "state");
  const home = join(dir, "home");
  for (const d of [state, home]) mkdirSync(d, { recursive: true });
  const log = join(dir, "windtunnel.log");
  const calls = join(dir, "calls");
  if (s.cues?.imdsDown) writeFileSync(join(state, "imds-down"), "");
  if (s.cues?.imdsFails !== undefined) writeFileSync(join(state, "imds-fails"), String(s.cues.imdsFails));
  if (s.cues?.spotNotice !== undefined) writeFileSync(join(state, "spot-notice"), s.cues.spotNotice);
  for (const [name, body] of Object.entries(s.cues?.stateFiles ?? {})) writeFileSync(join(state, name), body);
  if (s.cues?.tags) mkdirSync(join(state, "tags"));
  for (const [key, value] of Object.entries(s.cues?.tags ?? {})) writeFileSync(join(state, "tags", key), value);
  const script = join(dir, "user-data.sh");
  writeFileSync(script, renderUserData(s.input, { ...FAST, ...s.options, logFile: log, outDir: out }));
  const env: Record<string, string> = {
    PATH: `${NODE_FIXTURES}:${process.env["PATH"] ?? ""}`,
    HOME: home,
    STUB_LOG: calls,
    STUB_STATE: state,
    AWS_ENDPOINT_URL: s.endpoint,
    AWS_ACCESS_KEY_ID: "testing",
    AWS_SECRET_ACCESS_KEY: "testing",
    AWS_CONFIG_FILE: join(home, "aws-config"),
    AWS_SHARED_CREDENTIALS_FILE: join(home, "aws-credentials"),
    ...(s.cues?.pullExit !== undefined ? { STUB_DOCKER_PULL_EXIT: String(s.cues.pullExit) } : {}),
  };
  const started = Date.now();
  // Its own process group, so the test can see what outlives the script and clean it up.
  const child = spawn("bash", [script], { env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (b: Buffer) => (output += b.toString()));
  child.stderr.on("data", (b: Buffer) => (output += b.toString()));
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((r) => child.once("exit", (code, signal) => r([code, signal])));
  const pid = child.pid ?? 0;
  const killer = setTimeout(() => {
    if (groupAlive(pid)) process.kill(-pid, "SIGKILL");
  }, s.timeoutMs ?? 30_000);
  if (s.during) {
    const control: Control = {
      pid, out, state,
      events: () => parseEvents(readIf(join(out, "events.jsonl"))),
      until: async (what, ok, ms = 10_000) => {
        for (const t0 = Date.now(); !ok(); await sleep(50)) if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}\n${output}`);
      },
    };
    await s.during(control);
  }
  const [status, signal] = await exited;
  const ms = Date.now() - started;
  clearTimeout(killer);
  let survivors = true;
  for (const t0 = Date.now(); Date.now() - t0 < 3000; await sleep(50)) {
    if (!groupAlive(pid)) {
      survivors = false;
      break;
    }
  }
  if (survivors) process.kill(-pid, "SIGKILL");
  const recorded = readIf(calls).split("\x1e").filter((x) => x !== "").map((x) => x.split("\x1f"));
  return {
    status, signal, ms, output, log: readIf(log),
    events: parseEvents(readIf(join(out, "events.jsonl"))),
    calls: recorded,
    shutdowns: recorded.filter((c) => c[0] === "shutdown").map((c) => c.slice(1)),
    signals: readIf(join(state, "signals")).split("\n").filter((l) => l !== ""),
    survivors,
  };
}

/** A client for moto with dummy credentials, to make the bucket and read what landed in it. */
export function s3For(endpoint: string): S3Client {
  return new S3Client({ endpoint, region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId: "testing", secretAccessKey: "testing" } });
}

export async function createBucket(endpoint: string, bucket: string): Promise<void> {
  await s3For(endpoint).send(new CreateBucketCommand({ Bucket: bucket }));
}

/** An object put in the bucket before a scenario (an earlier attempt's objects, a checkpoint marker). */
export async function putObject(endpoint: string, bucket: string, key: string, body: string): Promise<void> {
  await s3For(endpoint).send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
}

/** Every object under the prefix, key (relative to it) → body. */
export async function bucketFiles(endpoint: string, bucket: string, prefix: string): Promise<Record<string, string>> {
  const s3 = s3For(endpoint);
  const files: Record<string, string> = {};
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  for (const o of listed.Contents ?? []) {
    const key = o.Key ?? "";
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    files[key.slice(prefix.length)] = (await got.Body?.transformToString()) ?? "";
  }
  return files;
}
