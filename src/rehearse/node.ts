// One rehearsed node: the stack's user data run by bash in its own process group, with the
// stand-ins first on PATH and the real aws CLI pointed at moto_server. What the node did is read
// back from the files it writes: its events (out/events.jsonl) and the stand-ins' call log.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { standInsDir } from "./stand-ins.ts";

export interface NodeSpawn {
  dir: string;
  script: string;
  endpoint: string;
  instanceId: string;
  /** The rehearsal's clock file (see bin/date). */
  clockFile: string;
  /** STUB_* cues for the stand-ins and the fault wrapper. */
  cues: Record<string, string>;
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
}

export interface RunningNode {
  out: string;
  state: string;
  log: string;
  child: ChildProcess;
  exited: Promise<number | null>;
  alive: () => boolean;
  kill: () => void;
  /** Output the script printed (its log, also on the console). */
  output: () => string;
}

const readIf = (p: string): string => (statSync(p, { throwIfNoEntry: false })?.isFile() ? readFileSync(p, "utf8") : "");

export function spawnNode(n: NodeSpawn): RunningNode {
  const out = join(n.dir, "out");
  const state = join(n.dir, "state");
  const home = join(n.dir, "home");
  for (const d of [state, home]) mkdirSync(d, { recursive: true });
  writeFileSync(join(state, "instance-id"), n.instanceId);
  const script = join(n.dir, "user-data.sh");
  writeFileSync(script, n.script);
  const env: Record<string, string> = {
    PATH: `${standInsDir()}:${n.env["PATH"] ?? ""}`,
    HOME: home,
    STUB_LOG: join(n.dir, "calls"),
    STUB_STATE: state,
    STUB_CLOCK: n.clockFile,
    STUB_REHEARSE_PATH: n.env["PATH"] ?? "/usr/bin:/bin",
    STUB_REHEARSE_TMP: n.dir,
    ...n.cues,
    AWS_ENDPOINT_URL: n.endpoint,
    AWS_ACCESS_KEY_ID: "testing",
    AWS_SECRET_ACCESS_KEY: "testing",
    AWS_CONFIG_FILE: join(home, "aws-config"),
    AWS_SHARED_CREDENTIALS_FILE: join(home, "aws-credentials"),
  };
  // Its own process group: when the node is "gone" (terminated), everything it started goes too.
  const child = spawn("bash", [script], { env, cwd: n.cwd, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout?.on("data", (b: Buffer) => (output += b.toString()));
  child.stderr?.on("data", (b: Buffer) => (output += b.toString()));
  let done = false;
  const exited = new Promise<number | null>((r) => child.once("exit", (code, signal) => {
    done = true;
    r(code ?? (signal ? null : 0));
  }));
  const pid = child.pid ?? 0;
  const groupAlive = (): boolean => {
    try {
      process.kill(-pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  return {
    out, state, log: join(n.dir, "windtunnel.log"), child, exited,
    alive: () => !done || groupAlive(),
    kill: () => {
      if (pid > 0 && groupAlive()) process.kill(-pid, "SIGKILL");
    },
    output: () => output,
  };
}

/** The stand-ins' recorded calls (argv each), from the call log (fields \x1f, records \x1e). */
export function callsOf(dir: string): string[][] {
  return readIf(join(dir, "calls")).split("\x1e").filter((x) => x !== "").map((x) => x.split("\x1f"));
}

export interface LocalEvent {
  time?: string;
  event: string;
  detail?: unknown;
}

/** The events the node wrote so far (complete lines only). */
export function localEvents(out: string): LocalEvent[] {
  const text = readIf(join(out, "events.jsonl"));
  const lines = text.split("\n");
  lines.pop();
  return lines.flatMap((l) => {
    try {
      return [JSON.parse(l) as LocalEvent];
    } catch {
      return [];
    }
  });
}
