// `windtunnel rehearse`: Phase 3 on this machine, before any money is spent (issue 15). Prints
// the rehearsal's timeline and verdict. Exit 0 when the run behaved as the stack expects (no
// teardown; every node done with status 0, or reclaimed by a spot interruption the watchdog only
// alerted on), 1 when the watchdog would tear the real node down (or a node failed), 2 on bad input.
import { join } from "node:path";
import { GateRefusal, UsageError } from "../../common/errors.ts";
import { stackFileOf } from "../../infra/stack-file.ts";
import { usd } from "../../common/format.ts";
import { hasMoto } from "../../rehearse/moto-server.ts";
import { rehearse, type Rehearsal } from "../../rehearse/rehearse.ts";
import type { Scenario } from "../../rehearse/scenario.ts";
import type { Io } from "../io.ts";
import { spawnSync } from "node:child_process";

export interface RehearseFlags {
  stack?: string;
  stackFile?: string;
  stage?: "sanity" | "full";
  runtime: "host" | "docker";
  scenario: Scenario;
  steps?: number;
  command?: string;
  minutesPerSecond: number;
  timeoutS: number;
  format: "table" | "json";
}

/** 0: behaved as the stack expects; 1: the real node would be torn down, or a node failed. */
export function exitCodeOf(r: Rehearsal): number {
  if (r.teardown || r.timedOut) return 1;
  return r.nodes.every((n) => n.status === 0 || n.spotNotice) ? 0 : 1;
}

const hm = (minutes: number): string => `${Math.floor(minutes / 60)}:${String(Math.floor(minutes % 60)).padStart(2, "0")}`;

export function renderRehearsal(r: Rehearsal, code: number): string {
  const lines = [`windtunnel rehearse: stack ${r.stack}, stage ${r.stage}, scenario ${r.scenario}, campaign ${r.campaign} — ${r.minutesPerSecond} simulated min per real second, ${(r.wallMs / 1000).toFixed(1)} s of wall time`, "", "Timeline (simulated h:mm since launch):"];
  const width = Math.max(...r.timeline.map((e) => e.source.length));
  for (const e of r.timeline) lines.push(`  ${hm(e.minute).padStart(6)}  ${e.source.padEnd(width)}  ${e.text}`);
  lines.push("", "Verdict:");
  const read = r.metrics.filter((m) => m.points > 0);
  lines.push(`  metrics:   ${read.length > 0 ? `the watchdog read ${read.map((m) => `${m.points} points from ${m.key}`).join(", ")}` : "the watchdog read no metrics"}${r.problems.length > 0 ? `; ${r.problems.length} unreadable lines (${r.problems.slice(0, 3).join("; ")})` : ""}`);
  if (r.sanity) lines.push(`  sanity:    ${r.sanity.failed.length > 0 ? `failed: ${r.sanity.failed.map((g) => `${g.id} (${g.subject}): ${g.message}`).join("; ")}` : r.sanity.judged ? "passed: every node finished and no sanity gate failed" : "not judged: not every node finished its runs"}`);
  for (const n of r.nodes) lines.push(`  ${n.node}:    ${n.status !== undefined ? `runs ended with status ${n.status}` : "never reported its runs done"}${n.spotNotice ? ", spot notice received" : ""}; ${n.endedAt !== undefined ? `${n.endedBy} at ${hm(n.endedAt)}` : "still up"}`);
  lines.push(`  teardown:  ${r.teardown ? `at ${hm(r.teardown.minute)} by ${[...new Set(r.teardown.gates.map((g) => `${g.id}${g.subject ? ` (${g.subject})` : ""}`))].join(", ")}: ${r.teardown.reasons.join("; ")}` : "none: the watchdog never tore the node down"}`);
  if (r.alerts.length > 0) lines.push(`  alerts:    ${r.alerts.length} (${r.alerts.map((a) => a.split(": ")[0]).join(", ")})`);
  lines.push(`  cost:      ${usd(r.costUsd)} (${r.nodes.length} × ${usd(r.hourlyUsd)}/h for the simulated node-hours)`);
  lines.push("", code === 0 ? "windtunnel rehearse: OK — the run behaved as the stack expects" : `windtunnel rehearse: the real node${r.nodes.length > 1 ? "s" : ""} would be ${r.teardown ? "torn down" : "left failed"} (exit 1)`);
  return lines.join("\n");
}

export async function rehearseCommand(flags: RehearseFlags, io: Io): Promise<number> {
  if (flags.runtime === "docker") throw new UsageError("--runtime docker: not supported yet; rehearse runs the stage commands on the host (--runtime host)");
  const stackFile = stackFileOf(flags);
  if (!hasMoto()) throw new UsageError("moto_server is not installed (pip install 'moto[server]'): the rehearsal plays AWS with it");
  if (spawnSync("aws", ["--version"], { stdio: "ignore" }).status !== 0) throw new UsageError("the aws CLI is not installed (apt-get install awscli): the node script ships with it");
  let r: Rehearsal;
  try {
    r = await rehearse({
      stackFile, scenario: flags.scenario, minutesPerSecond: flags.minutesPerSecond, timeoutS: flags.timeoutS, cwd: process.cwd(), env: io.env,
      ...(flags.stage !== undefined ? { stage: flags.stage } : {}), ...(flags.steps !== undefined ? { steps: flags.steps } : {}), ...(flags.command !== undefined ? { command: flags.command } : {}),
    });
  } catch (err) {
    if (!(err instanceof GateRefusal)) throw err;
    // The stack refuses before any node boots, exactly as pulumi up would.
    if (flags.format === "json") io.out(JSON.stringify({ pass: false, refusal: err.message }, null, 2));
    else io.out(err.message);
    return err.exitCode;
  }
  const code = exitCodeOf(r);
  if (flags.format === "json") io.out(JSON.stringify({ exitCode: code, ...r }, null, 2));
  else io.out(renderRehearsal(r, code));
  return code;
}
