// Command wiring only: parse arguments, call a command, map errors to exit codes
// (0 ok, 1 a gate failed, 2 bad input or usage, 70 a bug in windtunnel).
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { InputError, UsageError, WindtunnelError } from "../evidence/errors.ts";
import { FORMATS, type EvidenceFormat } from "../evidence/read.ts";
import { LOG_PRESETS } from "../evidence/formats/log.ts";
import { STATUSES, type Status } from "../evidence/schemas.ts";
import { parseAmount } from "../cost/rates.ts";
import { PRESETS } from "../cost/campaign.ts";
import { processIo, type Io } from "./io.ts";
import pkg from "../../package.json" with { type: "json" };

export const EXIT = { ok: 0, gateFailed: 1, badInput: 2, internal: 70 } as const;

const amount =
  (opts: { integer?: boolean; positive?: boolean; max?: number } = {}) =>
  (raw: string): number => {
    const v = parseAmount(raw, opts.integer ?? false, opts.positive ?? false);
    if (typeof v === "string") throw new InvalidArgumentError(v);
    if (opts.max !== undefined && v > opts.max) throw new InvalidArgumentError(`expected at most ${opts.max}, got ${raw}`);
    return v;
  };

const rateList = (raw: string): number[] => raw.split(",").map((s) => amount({ max: 1 })(s));

const statusMap = (raw: string, prev: Record<string, Status> = {}): Record<string, Status> => {
  const m = /^([^=]+)=(.+)$/.exec(raw);
  const status = m?.[2] as Status | undefined;
  if (!m || !status || !STATUSES.includes(status)) throw new InvalidArgumentError(`expected raw=${STATUSES.join("|")}, got ${JSON.stringify(raw)}`);
  return { ...prev, [(m[1] ?? "").toLowerCase()]: status };
};

export function buildProgram(io: Io, setExit: (code: number) => void): Command {
  const program = new Command()
    .name("windtunnel")
    .description("Evidence-gated cloud pretraining: rank recipes on a desk GPU, stress the finalists, and book the H100 node only when the evidence and the budget pass.")
    .version(pkg.version)
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) });

  program
    .command("validate")
    .description("check evidence files and print a summary of each (exit 0 valid, 2 invalid)")
    .argument("<files...>", "trajectory (JSONL / agent-loop / results.tsv) or metrics (JSONL / training log) files")
    .addOption(new Option("--format <format>", "skip auto-detection").choices(FORMATS))
    .addOption(new Option("--log-preset <name>", "regex preset for plain training logs").choices(Object.keys(LOG_PRESETS)))
    .option("--log-regex <regex>", "custom log regex with named groups: step and loss/val_loss/val_bpb (also grad_norm, lr, tokens, time_s, time_ms, tag)")
    .option("--status-map <raw=status>", "map a results.tsv status to ok|crash|timeout|blocked (repeatable)", statusMap)
    .option("--strict", "treat unreadable rows as errors")
    .option("--json", "print the reports as JSON")
    .action(async (files: string[], o: { format?: EvidenceFormat; logPreset?: string; logRegex?: string; statusMap?: Record<string, Status>; strict?: boolean; json?: boolean }) => {
      const { validateCommand } = await import("./commands/validate.ts");
      setExit(await validateCommand(files, o, io));
    });

  program
    .command("cost")
    .description("the seed's cost arithmetic (same environment variables) and the whole campaign's economics")
    .option("--json", "print JSON: the seed's keys plus a `windtunnel` block")
    .addOption(new Option("--preset <name>", "price one of the seed's campaign sizes").choices(PRESETS.map((p) => p.name)))
    .option("--gpus <n>", "GPUs booked for the final run (default 8, or the preset's)", amount({ integer: true, positive: true }))
    .option("--wrong-pick-rate <p>", "wrong-pick rate of a blind booking (the seed hard-codes 0.5)", amount({ max: 1 }))
    .option("--post-filter-rates <list>", "wrong-pick rates left after the filter, comma-separated", rateList, [0, 0.1, 0.2])
    .option("--stress-hours <h>", "Spark hours of the Phase 2 stress test", amount(), 22)
    .option("--sanity-hours <h>", "cloud hours of the sanity day", amount(), 24)
    .option("--campaigns-per-year <n>", "for the break-even", amount({ positive: true }), 4)
    .addHelpText("after", `\nEnvironment (seed names and defaults): H100_HOURLY_USD=2.50 H200_HOURLY_USD=3.50 SPARK_KW=0.24 KWH_USD=0.13\n  SPARK_CAPEX_USD=5000 SPARK_LIFE_YEARS=1.5 ITER_SECONDS=88 CAMPAIGN_ITERS=100 FINAL_NODE_HOURS=168`)
    .action(async (o) => {
      const { costCommand } = await import("./commands/cost.ts");
      setExit(costCommand(o, io));
    });

  program
    .command("gate")
    .description("run the Phase 1 sweep, Phase 2 stress and spend gates on the evidence (exit 0 pass, 1 a gate failed, 2 bad input)")
    .argument("[evidence...]", "a trajectory (sweep), metrics curves (stress, one per finalist), a campaign plan .yaml (spend)")
    .option("--phase <phases>", "sweep, stress, spend, a comma-separated list, or all", "all")
    .option("--policy <policy>", "gate policy: a YAML file, or the built-in default | strict", "default")
    .option("--campaign <plan.yaml>", "the campaign plan the spend gates judge")
    .option("--out <verdict.json>", "write the verdict, bound by sha256 to the evidence and the policy")
    .addOption(new Option("--format <format>", "output").choices(["table", "json", "markdown"]).default("table"))
    .option("--check <verdict.json>", "re-hash a verdict's evidence and policy; refuse it (exit 1) if anything changed or a gate failed")
    .option("--status-map <raw=status>", "map a results.tsv status to ok|crash|timeout|blocked (repeatable)", statusMap)
    .addOption(new Option("--log-preset <name>", "regex preset for plain training logs").choices(Object.keys(LOG_PRESETS)))
    .option("--log-regex <regex>", "custom log regex with named groups")
    .addHelpText("after", "\nExamples:\n  windtunnel gate --phase all --policy gates/default.yaml --out verdict.json runs/trajectory.jsonl curves/*.jsonl --campaign plan.yaml\n  windtunnel gate --phase sweep --format markdown runs/trajectory.jsonl >> \"$GITHUB_STEP_SUMMARY\"\n  windtunnel gate --check verdict.json")
    .action(async (files: string[], o) => {
      const gate = await import("./commands/gate.ts");
      if (o.check !== undefined) {
        if (files.length > 0) throw new UsageError("--check takes only the verdict file; evidence paths come from the verdict");
        setExit(await gate.checkCommand(o.check, io));
        return;
      }
      setExit(await gate.gateCommand(files, o, io));
    });

  program
    .command("schema")
    .description("print the JSON Schema of one of windtunnel's formats (lists them without an argument)")
    .argument("[format]", "metrics | trajectory | policy | campaign | verdict")
    .action(async (name?: string) => {
      const { schemaCommand } = await import("./commands/schema.ts");
      setExit(schemaCommand(name, io));
    });

  program
    .command("demo")
    .description("run the main job on the embedded example evidence (no cloud account needed)")
    .action(async () => {
      const { demoCommand } = await import("./commands/demo.ts");
      setExit(await demoCommand(io));
    });

  return program;
}

/** Run the CLI in-process; returns the exit code. */
export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  let code: number = EXIT.ok;
  const program = buildProgram(io, (c) => {
    code = c;
  });
  try {
    await program.parseAsync([...argv], { from: "user" });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help" ? EXIT.ok : EXIT.badInput;
    }
    if (err instanceof InputError) {
      // Already located (file:line:col: field: …): printed as is, one line per problem.
      for (const line of err.message.split("\n")) io.err(line);
      return err.exitCode;
    }
    if (err instanceof WindtunnelError) {
      for (const line of err.message.split("\n")) io.err(`windtunnel: ${line}`);
      return err.exitCode;
    }
    io.err(`windtunnel: internal error: ${err instanceof Error ? err.message : String(err)}`);
    io.err("This is a bug in windtunnel; please report it with the command you ran. Set WINDTUNNEL_DEBUG=1 for a stack trace.");
    if (io.env["WINDTUNNEL_DEBUG"] && err instanceof Error && err.stack) io.err(err.stack);
    return EXIT.internal;
  }
}
