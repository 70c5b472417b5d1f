// Where the reference trainer keeps its checkpoints (WINDTUNNEL_CHECKPOINTS): a local folder, or an
// s3:// folder reached through the aws CLI (which honours AWS_ENDPOINT_URL). Each checkpoint is a
// folder of its own, complete before the marker (latest.json) is written to name it: locally a
// folder renamed into place after its files are synced, on S3 an upload that has finished, then
// the marker, itself one PUT. So a marker never names a checkpoint that is not all there.
import { execFileSync } from "node:child_process";
import { closeSync, fsyncSync, mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CHECKPOINT_MARKER } from "../../src/campaign/layout.ts";

export interface CheckpointStore {
  /** Where it is, as WINDTUNNEL_CHECKPOINTS said, with a trailing /. */
  readonly root: string;
  /** Writes the files into `<root>/<folder>`, complete when this returns. */
  put(folder: string, files: Readonly<Record<string, Uint8Array>>): void;
  /** Writes the marker, after the checkpoint it names. */
  putMarker(text: string): void;
  /** The named files of `<root>/<folder>`. */
  get(folder: string, names: readonly string[]): Record<string, Uint8Array>;
}

export function checkpointStore(where: string, env: NodeJS.ProcessEnv = process.env): CheckpointStore {
  const root = where.endsWith("/") ? where : `${where}/`;
  return root.startsWith("s3://") ? s3Store(root, env) : localStore(root);
}

function writeSynced(path: string, data: Uint8Array | string): void {
  const fd = openSync(path, "w");
  try {
    writeSync(fd, typeof data === "string" ? Buffer.from(data) : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function localStore(root: string): CheckpointStore {
  return {
    root,
    put(folder, files) {
      const final = join(root, folder);
      const partial = `${final.replace(/\/$/, "")}.partial-${process.pid}`;
      rmSync(partial, { recursive: true, force: true });
      mkdirSync(partial, { recursive: true });
      for (const [name, data] of Object.entries(files)) writeSynced(join(partial, name), data);
      rmSync(final, { recursive: true, force: true });
      renameSync(partial, final);
    },
    putMarker(text) {
      const tmp = join(root, `${CHECKPOINT_MARKER}.partial-${process.pid}`);
      writeSynced(tmp, text);
      renameSync(tmp, join(root, CHECKPOINT_MARKER));
    },
    get(folder, names) {
      return Object.fromEntries(names.map((n) => [n, readFileSync(join(root, folder, n))]));
    },
  };
}

function s3Store(root: string, env: NodeJS.ProcessEnv): CheckpointStore {
  const region = env["AWS_REGION"] ? ["--region", env["AWS_REGION"]] : [];
  const aws = (args: string[], input?: string): void => {
    try {
      execFileSync("aws", ["s3", "cp", "--only-show-errors", ...region, ...args], { env, input: input ?? "", stdio: ["pipe", "pipe", "pipe"] });
    } catch (err) {
      const e = err as { stderr?: Buffer; message: string };
      throw new Error(`aws s3 cp ${args.join(" ")}: ${e.stderr?.toString().trim() || e.message}`, { cause: err });
    }
  };
  const scratch = <T>(use: (dir: string) => T): T => {
    const dir = mkdtempSync(join(tmpdir(), "windtunnel-checkpoint-"));
    try {
      return use(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  return {
    root,
    put(folder, files) {
      scratch((dir) => {
        for (const [name, data] of Object.entries(files)) writeSynced(join(dir, name), data);
        aws(["--recursive", dir, `${root}${folder}`]);
      });
    },
    putMarker(text) {
      aws(["-", `${root}${CHECKPOINT_MARKER}`], text);
    },
    get(folder, names) {
      return scratch((dir) => {
        aws(["--recursive", `${root}${folder}`, dir]);
        return Object.fromEntries(names.map((n) => [n, readFileSync(join(dir, n))]));
      });
    },
  };
}
