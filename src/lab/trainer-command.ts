// Whether the user's trainer command can start at all, found before the first candidate: a
// command that cannot would otherwise fill the trajectory with one crash row per candidate.
import { accessSync, closeSync, constants, openSync, readSync, statSync } from "node:fs";
import { delimiter, join, resolve } from "node:path";
import { UsageError } from "../common/errors.ts";

/**
 * Why the trainer command cannot be started, found before the first candidate instead of as a
 * crash row per candidate: a name without a slash is looked up on PATH as the shell would, a path
 * is taken from `cwd`. Undefined when it can be started.
 */
export function trainerCommandProblem(command: readonly string[], cwd: string = process.cwd(), path: string = process.env["PATH"] ?? ""): string | undefined {
  const [file] = command;
  if (file === undefined || file === "") return "no trainer command: put it after --, e.g. windtunnel lab sweep --menu menu.yaml -- python train.py";
  const runnable = (p: string): "ok" | "missing" | "folder" | "not executable" => {
    let st;
    try {
      st = statSync(p);
    } catch {
      return "missing";
    }
    if (st.isDirectory()) return "folder";
    try {
      accessSync(p, constants.X_OK);
      return st.isFile() ? "ok" : "not executable";
    } catch {
      return "not executable";
    }
  };
  const fix = `chmod +x it, or name its interpreter first (-- python ${file})`;
  // A script's interpreter (its #! line) must exist too: else every candidate fails to spawn
  // with ENOENT, which reads as if the script itself were missing.
  const interpreterProblem = (script: string): string | undefined => {
    const m = /^#!\s*(\S+)(?:\s+(\S+))?/.exec(headOf(script));
    if (!m) return undefined;
    const [, interpreter = "", arg] = m;
    if (runnable(interpreter) !== "ok") return `the trainer ${file} starts with #!${interpreter}, which ${runnable(interpreter) === "missing" ? "does not exist" : "cannot be run"} here: fix its first line, or name the interpreter (-- python ${file})`;
    if (/\/env$/.test(interpreter) && arg !== undefined && !arg.startsWith("-") && trainerCommandProblem([arg], cwd, path) !== undefined) return `the trainer ${file} starts with #!${interpreter} ${arg}, and ${arg} is not on PATH`;
    return undefined;
  };
  if (file.includes("/")) {
    const abs = resolve(cwd, file);
    const how = runnable(abs);
    if (how === "ok") return interpreterProblem(abs);
    if (how === "missing") return `the trainer ${file} does not exist${abs !== file ? ` (${abs})` : ""}`;
    if (how === "folder") return `the trainer ${file} is a folder, not a program`;
    return `the trainer ${abs} is not executable: ${fix}`;
  }
  // An empty PATH entry means the current folder, as in the shell.
  const dirs = path.split(delimiter).map((d) => resolve(cwd, d || "."));
  let notExecutable: string | undefined;
  for (const d of dirs) {
    const how = runnable(join(d, file));
    if (how === "ok") return interpreterProblem(join(d, file));
    if (how === "not executable") notExecutable ??= join(d, file);
  }
  if (notExecutable !== undefined) return `the trainer ${file} is found on PATH only as ${notExecutable}, which is not executable: ${fix}`;
  return `the trainer ${file} is not on PATH (${dirs.length} folder(s) searched)`;
}

/** The first bytes of a file (for its #! line); empty when it cannot be read. */
function headOf(file: string): string {
  let fd: number | undefined;
  try {
    fd = openSync(file, "r");
    const b = Buffer.alloc(256);
    return b.subarray(0, readSync(fd, b, 0, b.length, 0)).toString("latin1").split("\n")[0] ?? "";
  } catch {
    return "";
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Refuse a trainer command that cannot start (exit 2), before anything is written. */
export function checkTrainerCommand(command: readonly string[], cwd?: string): void {
  const problem = trainerCommandProblem(command, cwd);
  if (problem !== undefined) throw new UsageError(`cannot start the trainer: ${problem}`);
}

