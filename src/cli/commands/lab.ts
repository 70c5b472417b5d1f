// `windtunnel lab sweep` and `windtunnel lab stress`: drive the user's trainer through Phase 1
// and Phase 2 on the local box, with a live progress line, Ctrl-C that stops cleanly, and a
// re-run of the same command that resumes.
import type { ProposerInput, ProposerName, PruneRule } from "../../lab/names.ts";
import { join, resolve } from "node:path";
import { UsageError } from "../../common/errors.ts";
import { fmt } from "../../common/format.ts";
import { loadPolicy, type LoadedPolicy } from "../../policy/load.ts";
import { ratesFromEnv } from "../../cost/rates.ts";
import type { Verdict } from "../../gates/verdict.ts";
import { judge } from "../../judge/evaluate.ts";
import { classifyEvidence } from "../../judge/evidence.ts";
import { loadMenu, menuSizeText } from "../../lab/menu.ts";
import { describePrior, readPriors } from "../../lab/priors.ts";
import { checkProposerFlags, proposerOf } from "./lab-proposer.ts";
import { runSweep, TRAJECTORY, type PruningTally, type SweepResult } from "../../lab/sweep.ts";
import { defaultRungs, describePrune, rungsInWarmup, rungsProblem, stepsText, warmupText, type PruneSetup } from "../../lab/planner.ts";
import { finalistsOf, runStress, type StressRecord, type StressResult } from "../../lab/stress.ts";
import { fmtSeconds } from "../../lab/trainer.ts";
import { describeRepair } from "../../lab/journal.ts";
import { describeSpared } from "../../lab/lock.ts";
import { Progress } from "../progress.ts";
import type { Io } from "../io.ts";

export interface LabCommon {
  dir: string;
  command: string[];
  parallel: number;
  /** Explicit device list, "none", or undefined for 0..K-1. */
  devices?: string;
  timeoutS?: number;
  logEvery: number;
  /** For tests and the demo: no terminal progress bar even on a TTY. */
  quiet?: boolean;
}

export interface SweepFlags extends LabCommon {
  menu: string;
  candidates: number;
  steps?: number;
  proposer: ProposerName;
  proposerCmd?: string;
  proposerTimeoutS?: number;
  /** What --proposer-cmd reads on stdin; by default the document when there are priors. */
  proposerInput?: ProposerInput;
  /** Earlier campaigns' trajectories that warm-start the proposer. @default none */
  priors?: string[];
  /** What one prior observation weighs in tpe. @default PRIOR_WEIGHT (0.5) */
  priorWeight?: number;
  repeats: number;
  repeatTop: number;
  /** Early stopping; absent or none: every candidate runs all its steps. */
  prune?: PruneRule;
  /** ASHA's η. @default 3 */
  eta?: number;
  /** @default defaultRungs(steps) */
  rungs?: number[];
}

export interface StressFlags extends LabCommon {
  policy: string;
  trajectory?: string;
  earlyStop: boolean;
  ignoreSweepGate: boolean;
}

export const EXIT_INTERRUPTED = 130;

function devicesOf(flags: LabCommon): string[] | null {
  if (flags.devices === "none") return null;
  if (flags.devices === undefined) return Array.from({ length: flags.parallel }, (_, i) => String(i));
  const list = flags.devices.split(",").map((d) => d.trim());
  if (list.length < flags.parallel || list.some((d) => d === "")) throw new UsageError(`--devices: expected ${flags.parallel} comma-separated device ids (one per --parallel slot), got ${JSON.stringify(flags.devices)}`);
  return list;
}

function requireCommand(flags: LabCommon): void {
  if (flags.command.length === 0) throw new UsageError("no trainer command: put it after --, e.g. windtunnel lab sweep --menu menu.yaml -- python train.py");
}

/** Ctrl-C once: stop starting runs, kill the running ones, keep every finished row. Twice: leave now. */
function interruptible(io: Io): { signal: AbortSignal; dispose: () => void } {
  const ac = new AbortController();
  const onSigint = (): void => {
    if (ac.signal.aborted) process.exit(EXIT_INTERRUPTED);
    io.err("\nwindtunnel: stopping — the running trainers are being stopped; finished rows are kept. Re-run the same command to resume. (Ctrl-C again to quit at once.)");
    ac.abort();
  };
  process.on("SIGINT", onSigint);
  process.on("SIGTERM", onSigint);
  return { signal: ac.signal, dispose: () => (process.off("SIGINT", onSigint), process.off("SIGTERM", onSigint)) };
}

/** The sweep's early stopping from its flags (η 3 and defaultRungs unless given), checked against the candidates' steps; the lab benchmark measures these defaults. */
export function pruneSetup(flags: Pick<SweepFlags, "prune" | "rungs" | "eta">, steps: number): PruneSetup | undefined {
  if (flags.prune === undefined || flags.prune === "none") return undefined;
  const rungs = flags.rungs ?? defaultRungs(steps);
  const problem = rungsProblem(rungs, steps);
  if (problem !== undefined) throw new UsageError(flags.rungs !== undefined ? `--rungs ${flags.rungs.join(",")}: ${problem}` : `--prune ${flags.prune}: candidates of ${steps} step(s) have no step before their last to be judged at`);
  return { rule: flags.prune, eta: flags.eta ?? 3, rungs };
}

export async function labSweepCommand(flags: SweepFlags, io: Io): Promise<number> {
  requireCommand(flags);
  const menu = await loadMenu(flags.menu);
  if (flags.steps !== undefined) menu.steps = flags.steps;
  const prune = pruneSetup(flags, menu.steps);
  checkProposerFlags(flags);
  const priors = await readPriors(menu, flags.priors ?? []);
  const proposer = proposerOf(flags, menu, priors);
  const dir = resolve(flags.dir);
  const { signal, dispose } = interruptible(io);
  const bar = new Progress(io, "sweep", flags.quiet ?? false);
  const warm = priors.length > 0 ? `, warm-started from ${priors.reduce((n, p) => n + p.rows.length, 0)} prior row(s) of ${priors.length} file(s)` : "";
  io.err(`windtunnel lab sweep: ${flags.candidates} candidates × ${menu.steps} steps from ${flags.menu} (${menuSizeText(menu)} configs on the menu, proposer ${proposer.name}${warm}), ${flags.repeats} noise repeat(s) of the baseline and the top ${flags.repeatTop}, ${flags.parallel} slot(s)${prune ? `, early stopping ${describePrune(prune)}` : ""} → ${join(flags.dir, TRAJECTORY)}`);
  for (const p of priors) io.err(describePrior(p));
  const early = prune && rungsInWarmup(menu, prune.rungs);
  if (early) {
    // A rung may sit at the warmup's own step, if that is before the candidates' last.
    const fix = early.warmup <= menu.steps - 1 ? `--rungs from step ${early.warmup} on, or --prune none` : `no step of ${menu.steps} is past it: --prune none`;
    io.err(`windtunnel lab sweep: warning: early stopping judges candidates at ${stepsText(early.rungs)}, inside ${warmupText(early)}; the ranking there may not hold at step ${menu.steps} (${fix})`);
  }
  let result: SweepResult;
  try {
    result = await runSweep({
      menu,
      dir,
      command: flags.command,
      proposer,
      candidates: flags.candidates,
      repeats: flags.repeats,
      repeatTop: flags.repeatTop,
      parallel: flags.parallel,
      devices: devicesOf(flags),
      timeoutMs: (flags.timeoutS ?? 900) * 1000,
      logEvery: flags.logEvery,
      maxIdleProposals: 50,
      ...(prune ? { prune } : {}),
      signal,
      events: {
        resumed: (r) => {
          const parts = [`resuming: ${r.rows} row(s) already in ${TRAJECTORY}`];
          if (r.repaired) parts.push(describeRepair(r.repaired));
          if (r.orphansStopped.length > 0) parts.push(`stopped ${r.orphansStopped.length} trainer(s) left running by it`);
          if (r.orphansSpared.length > 0) parts.push(describeSpared(r.orphansSpared));
          if (r.retried > 0) parts.push(`retrying ${r.retried} row(s) whose trainer could not be started`);
          bar.note(parts.join("; "));
          bar.resume(r.rows);
        },
        started: (_t, _slot, p) => bar.update(p.done, p.total, summary(p)),
        finished: (row, outcome, p) => {
          const what = row.status === "ok" ? `val_bpb ${Number.isFinite(row.val_bpb) ? fmt(row.val_bpb as number) : String(row.val_bpb)}` : `${row.status}: ${firstLine(outcome.error)}`;
          bar.line(`${row.id}${row.repeat_of ? ` (repeat, seed ${row.seed})` : row.baseline ? " (baseline)" : ""} ${what} in ${fmtSeconds(row.wall_s)}`, p.done, p.total, summary(p));
        },
        note: (m) => bar.note(m),
      },
    });
  } finally {
    bar.stop();
    dispose();
  }
  if (result.interrupted) {
    io.err(`windtunnel lab sweep: interrupted after ${result.rows} row(s); run the same command again to resume`);
    return EXIT_INTERRUPTED;
  }
  io.out(`${join(flags.dir, TRAJECTORY)}: ${result.rows} rows (${result.trained} trained now; ${result.answered} proposal(s) answered from the trajectory, ${result.invalid} invalid)`);
  if (prune !== undefined || result.pruning.pruned > 0) io.out(describePruning(result.pruning, menu.steps));
  if (result.shortfall) {
    io.err(`windtunnel lab sweep: ${result.shortfall}`);
    return result.exhausted ? 0 : 1;
  }
  io.out(`next: windtunnel lab stress --dir ${flags.dir} -- ${flags.command.join(" ")}`);
  return 0;
}

function summary(p: { failures: number; pruned: number; best?: { id: string; val_bpb: number } }): string {
  return `${p.best ? `best ${p.best.id} ${fmt(p.best.val_bpb)}` : "no result yet"} · ${p.failures} failed${p.pruned > 0 ? ` · ${p.pruned} pruned` : ""}`;
}

/** "early stopping: 12 candidates pruned (7 at step 20, 5 at step 40): 1,480 trainer steps run, 880 saved (37%)". */
export function describePruning(t: PruningTally, steps: number): string {
  const at = [...t.byStep].sort((a, b) => a[0] - b[0]).map(([step, n]) => `${n} at step ${step}`);
  const full = t.stepsRun + t.stepsSaved;
  const share = full > 0 ? ` (${Math.round((100 * t.stepsSaved) / full)}%)` : "";
  return `early stopping: ${t.pruned} candidate(s) pruned${at.length > 0 ? ` (${at.join(", ")})` : ""}: ${t.stepsRun.toLocaleString("en-US")} trainer steps run, ${t.stepsSaved.toLocaleString("en-US")} saved${share} against every run going to step ${steps}`;
}

const firstLine = (s: string | undefined): string => (s ?? "").split("\n")[0] ?? "";

export async function labStressCommand(flags: StressFlags, io: Io): Promise<number> {
  return (await stressPhase(flags, io)).code;
}

/** `lab stress`, also telling the demo which curves it produced. */
export async function stressPhase(flags: StressFlags, io: Io): Promise<{ code: number; curves: string[] }> {
  requireCommand(flags);
  const policy = await loadPolicy(flags.policy);
  if (flags.logEvery > policy.policy.stress.max_log_interval) throw new UsageError(`--log-every ${flags.logEvery} is sparser than the policy's stress.max_log_interval (${policy.policy.stress.max_log_interval}); the interval gate would fail every curve`);
  const trajectory = flags.trajectory ?? join(flags.dir, TRAJECTORY);
  const { sweep, candidates } = await finalistsOf(trajectory, policy.policy);
  const failedSweep = sweep.results.filter((r) => r.status === "fail");
  if (failedSweep.length > 0 && !flags.ignoreSweepGate) {
    for (const r of failedSweep) io.err(`✗ ${r.id}: ${r.message}`);
    io.err(`windtunnel lab stress: the sweep gate failed on ${trajectory}, so there is nothing to stress; fix the sweep, or pass --ignore-sweep-gate to stress its ${candidates.length} best separable config(s) anyway`);
    return { code: 1, curves: [] };
  }
  if (candidates.length === 0) {
    io.err(`windtunnel lab stress: no separable config in ${trajectory}: nothing to stress`);
    return { code: 1, curves: [] };
  }
  const steps = policy.policy.stress.min_steps;
  io.err(`windtunnel lab stress: ${candidates.length} finalist(s) × ${steps} steps (${candidates.map((c) => c.id).join(", ")}), metrics every ${flags.logEvery} steps, ${flags.parallel} slot(s) → ${join(flags.dir, "curves")}/`);
  const { signal, dispose } = interruptible(io);
  const bar = new Progress(io, "stress", flags.quiet ?? false);
  const total = candidates.length * steps;
  const at = new Map<string, number>();
  const sum = (): number => [...at.values()].reduce((a, b) => a + b, 0);
  let result: StressResult;
  try {
    result = await runStress({
      dir: resolve(flags.dir),
      command: flags.command,
      policy: policy.policy,
      candidates,
      parallel: flags.parallel,
      devices: devicesOf(flags),
      timeoutMs: (flags.timeoutS ?? 86_400) * 1000,
      logEvery: flags.logEvery,
      earlyStop: flags.earlyStop,
      signal,
      events: {
        resumed: (done, orphans) => {
          for (const r of done) at.set(r.id, steps);
          bar.note(`resuming: ${done.map((r) => r.id).join(", ") || "none"} already done${orphans.length > 0 ? `; stopped ${orphans.length} trainer(s) left running by the interrupted run` : ""}`);
        },
        point: (c, step) => {
          at.set(c.id, Math.min(step, steps));
          bar.update(sum(), total, `${c.id} at step ${step}`);
        },
        finished: (r) => {
          at.set(r.id, steps);
          bar.line(describeRecord(r), sum(), total, "");
        },
        note: (m) => bar.note(m),
      },
    });
  } finally {
    bar.stop();
    dispose();
  }
  if (result.interrupted) {
    io.err("windtunnel lab stress: interrupted; run the same command again to resume");
    return { code: EXIT_INTERRUPTED, curves: result.curves };
  }
  if (result.curves.length === 0) {
    for (const r of result.records) io.out(describeRecord(r));
    io.out("✗ no finalist wrote a curve: there is nothing for the stress gates to judge");
    return { code: 1, curves: [] };
  }
  // The summary is the verdict `windtunnel gate` gives on these files (the same engine, the same
  // reading): each finalist's ✓/✗, then whether the stress phase passes; the exit code follows it.
  const verdict = await stressVerdict(trajectory, result.curves, flags.policy, policy, io);
  for (const r of result.records) io.out(describeFinalist(r, verdict));
  for (const g of verdict.gates.filter((x) => x.phase === "stress" && x.scope !== "candidate")) io.out(`${g.status === "pass" ? "✓" : g.status === "fail" ? "✗" : "–"} ${g.id}: ${g.message}`);
  // A command that runs as printed: the local phases that need no campaign plan (add --campaign for spend).
  io.out(`next: windtunnel gate --phase sweep,stress --policy ${flags.policy} ${trajectory} ${result.curves.join(" ")}`);
  return { code: verdict.pass ? 0 : 1, curves: result.curves };
}

/** What `windtunnel gate --phase stress` says of the curves, tied to the trajectory's finalists. */
async function stressVerdict(trajectory: string, curves: readonly string[], policyRef: string, policy: LoadedPolicy, io: Io): Promise<Verdict> {
  const ev = await classifyEvidence([trajectory, ...curves], {});
  return judge({ phases: ["stress"], policyRef, policy, curves: ev.curves, ...(ev.trajectory ? { trajectory: ev.trajectory } : {}), read: {}, rates: ratesFromEnv(io.env), base: process.cwd() });
}

/** One finalist's line, from the verdict when its curve was judged, else from its run record. */
export function describeFinalist(r: StressRecord, v: Verdict): string {
  const judged = v.stress?.curves.find((c) => c.subject === r.id);
  if (judged === undefined) return describeRecord(r);
  const failed = v.gates.filter((g) => g.subject === r.id && g.phase === "stress" && g.status === "fail");
  const run = r.status === "completed" ? `ran ${r.steps} steps in ${fmtSeconds(r.wall_s)}` : r.status === "stopped" ? `stopped early at step ${r.steps} (${fmtSeconds(r.wall_s)})` : `${r.status} at step ${r.steps} (${firstLine(r.reason)})`;
  if (failed.length === 0) return `✓ ${r.id}: ${run}, passes every stress gate → ${r.curve}`;
  const first = failed[0] as (typeof failed)[number];
  return `✗ ${r.id}: ${run}, fails ${failed.map((g) => `${g.id}${g.step !== undefined ? ` at step ${g.step}` : ""}`).join(", ")}: ${first.message}`;
}

/** A run as it ends (the live progress line): the trainer's outcome and the live monitor's gates. */
export function describeRecord(r: StressRecord): string {
  switch (r.status) {
    case "completed": {
      const f = r.failed?.[0];
      return f === undefined ? `✓ ${r.id}: ran ${r.steps} steps in ${fmtSeconds(r.wall_s)} → ${r.curve}` : `✗ ${r.id}: ran ${r.steps} steps in ${fmtSeconds(r.wall_s)}, fails ${r.failed?.map((x) => x.gate).join(", ")}: ${f.reason}`;
    }
    case "stopped":
      return `✗ ${r.id}: stopped early at step ${r.steps} (${fmtSeconds(r.wall_s)}): ${r.gate} at step ${r.step}: ${r.reason}`;
    default:
      return `✗ ${r.id}: ${r.status} at step ${r.steps}: ${firstLine(r.reason)}`;
  }
}
