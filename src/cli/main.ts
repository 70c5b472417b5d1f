// Command wiring only: parse arguments, call a command, map errors to exit codes
// (0 ok, 1 a gate failed, 2 bad input or usage, 70 a bug in windtunnel). Commands are imported
// when chosen, so `windtunnel --version` or `cost` never load zod, YAML or the gate engine.
// The argument parser is cac: it loads in ~2 ms, where commander also pulled in child_process,
// net and the stream stack (~14 ms), and `windtunnel gate` must start almost as fast as node.
import { cac } from "cac";
import { InputError, InternalError, UsageError, WindtunnelError } from "../common/errors.ts";
import { FORMATS, LOG_PRESETS, STATUSES, type EvidenceFormat, type Status } from "../evidence/names.ts";
import { parseAmount } from "../cost/rates.ts";
import { PRESETS } from "../cost/campaign.ts";
import { processIo, type Io } from "./io.ts";
import pkg from "../../package.json" with { type: "json" };

/** The rehearsal's scenarios (kept here so `--help` does not load the rehearsal). */
const SCENARIO_NAMES = ["healthy", "diverge", "nan", "silent", "fail", "spot", "hours-cap"] as const;

export const EXIT = { ok: 0, gateFailed: 1, badInput: 2, internal: 70 } as const;

type Raw = Record<string, unknown>;

function choice<T extends string>(option: string, v: unknown, choices: readonly T[]): T | undefined {
  if (v === undefined) return undefined;
  if (typeof v === "string" && (choices as readonly string[]).includes(v)) return v as T;
  throw new UsageError(`--${option}: expected one of ${choices.join(", ")}, got ${JSON.stringify(String(v))}`);
}

function amount(option: string, v: unknown, opts: { integer?: boolean; positive?: boolean; max?: number } = {}): number | undefined {
  if (v === undefined) return undefined;
  const n = parseAmount(String(v), opts.integer ?? false, opts.positive ?? false);
  if (typeof n === "string") throw new UsageError(`--${option}: ${n}`);
  if (opts.max !== undefined && n > opts.max) throw new UsageError(`--${option}: expected at most ${opts.max}, got ${String(v)}`);
  return n;
}

function text(option: string, v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v === "boolean" || Array.isArray(v)) throw new UsageError(`--${option}: expected one value`);
  return String(v);
}

const many = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function statusMap(v: unknown): Record<string, Status> | undefined {
  const entries = many(v).map((raw) => {
    const m = /^([^=]+)=(.+)$/.exec(String(raw));
    const status = m?.[2] as Status | undefined;
    if (!m || !status || !STATUSES.includes(status)) throw new UsageError(`--status-map: expected raw=${STATUSES.join("|")}, got ${JSON.stringify(String(raw))}`);
    return [(m[1] ?? "").toLowerCase(), status] as const;
  });
  return entries.length > 0 ? Object.fromEntries(entries) : undefined;
}

/** The evidence-reading options shared by validate and gate. */
function readFlags(o: Raw): { statusMap?: Record<string, Status>; logPreset?: string; logRegex?: string } {
  const map = statusMap(o["statusMap"]);
  const preset = choice("log-preset", o["logPreset"], Object.keys(LOG_PRESETS));
  const regex = text("log-regex", o["logRegex"]);
  return { ...(map ? { statusMap: map } : {}), ...(preset !== undefined ? { logPreset: preset } : {}), ...(regex !== undefined ? { logRegex: regex } : {}) };
}

/** Every `--name` (as typed, kebab-case) that takes a value, across the commands. */
function valueOptions(cli: ReturnType<typeof cac>): Set<string> {
  const names = new Set<string>();
  for (const c of [cli.globalCommand, ...cli.commands]) {
    for (const o of c.options) {
      if (o.isBoolean) continue;
      for (const raw of o.rawName.split(/[ ,]+/)) if (raw.startsWith("--")) names.add(raw);
    }
  }
  return names;
}

/** A value that starts like a negative number (`-5`, `-0.1,0.2`, `-1=curve`): no option starts with a digit. */
const NEGATIVE_NUMBER = /^-\.?\d/;

/**
 * `--until -5` as `--until=-5`: the argument parser takes "-5" for an unknown option, and the
 * user saw "Unknown option `-5`" instead of "--until: expected a positive number". Arguments after
 * `--` (the trainer's command) are left as they are.
 */
export function joinNegativeValues(argv: readonly string[], takesValue: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === "--") {
      out.push(...argv.slice(i));
      break;
    }
    const next = argv[i + 1];
    if (takesValue.has(a) && next !== undefined && NEGATIVE_NUMBER.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  let code: number = EXIT.ok;
  const cli = cac("windtunnel");
  cli.usage("<command> [options]");

  cli
    .command("validate <...files>", "check evidence files and print a summary of each (exit 0 valid, 2 invalid)")
    .option("--format <format>", `skip auto-detection: ${FORMATS.join(", ")}`)
    .option("--log-preset <name>", `regex preset for plain training logs: ${Object.keys(LOG_PRESETS).join(", ")}`)
    .option("--log-regex <regex>", "custom log regex with named groups: step and loss/val_loss/val_bpb (also grad_norm, lr, tokens, time_s, time_ms, tag)")
    .option("--status-map <raw=status>", "map a results.tsv status to ok|crash|timeout|blocked (repeatable)")
    .option("--strict", "treat unreadable rows as errors")
    .option("--json", "print the reports as JSON")
    .example("windtunnel validate runs/trajectory.jsonl curves/*.jsonl")
    .action(async (files: string[], o: Raw) => {
      const { validateCommand } = await import("./commands/index.ts");
      const format = choice<EvidenceFormat>("format", o["format"], FORMATS);
      code = await validateCommand(files, { ...readFlags(o), ...(format ? { format } : {}), strict: o["strict"] === true, json: o["json"] === true }, io);
    });

  cli
    .command("gate [...evidence]", "run the Phase 1 sweep, Phase 2 stress and spend gates (exit 0 pass, 1 a gate failed, 2 bad input)")
    .option("--phase <phases>", "sweep, stress, spend, sanity, verify, a comma-separated list, or all (= sweep,stress,spend)", { default: "all" })
    .option("--policy <policy>", "gate policy: a YAML file, or the built-in default | strict", { default: "default" })
    .option("--campaign <plan.yaml>", "the campaign plan the spend gates judge")
    .option("--envelope <envelope.json>", "verify: the forecast the cloud curve is judged against (windtunnel forecast)")
    .option("--figures <dir>", "markdown: link the report's PNG figures in this folder (windtunnel report --format png --out <dir>)")
    .option("--out <verdict.json>", "write the verdict, bound by sha256 to the evidence and the policy")
    .option("--format <format>", "table | json | markdown", { default: "table" })
    .option("--check <verdict.json>", "re-hash a verdict's evidence and policy; refuse it (exit 1) if anything changed or a gate failed")
    .option("--status-map <raw=status>", "map a results.tsv status to ok|crash|timeout|blocked (repeatable)")
    .option("--log-preset <name>", "regex preset for plain training logs")
    .option("--log-regex <regex>", "custom log regex with named groups")
    .example("windtunnel gate --out verdict.json runs/trajectory.jsonl runs/curves/*.jsonl --campaign campaign.yaml")
    .example('windtunnel gate --phase sweep --format markdown runs/trajectory.jsonl >> "$GITHUB_STEP_SUMMARY"')
    .example("windtunnel gate --phase sanity s3-sync/sanity/node-0/*.metrics.jsonl")
    .example("windtunnel gate --phase verify --envelope envelope.json s3-sync/full/node-0/train.metrics.jsonl")
    .example("windtunnel gate --check verdict.json")
    .action(async (files: string[], o: Raw) => {
      const gate = await import("./commands/index.ts");
      const check = text("check", o["check"]);
      if (check !== undefined) {
        if (files.length > 0) throw new UsageError("--check takes only the verdict file; evidence paths come from the verdict");
        const logRegex = text("log-regex", o["logRegex"]);
        code = await gate.checkCommand(check, io, logRegex !== undefined ? { logRegex } : {});
        return;
      }
      const campaign = text("campaign", o["campaign"]);
      const envelope = text("envelope", o["envelope"]);
      const figures = text("figures", o["figures"]);
      const out = text("out", o["out"]);
      code = await gate.gateCommand(files, {
        ...(figures !== undefined ? { figures } : {}),
        ...readFlags(o),
        phase: text("phase", o["phase"]) ?? "all",
        policy: text("policy", o["policy"]) ?? "default",
        format: choice("format", o["format"], ["table", "json", "markdown"] as const) ?? "table",
        ...(campaign !== undefined ? { campaign } : {}),
        ...(envelope !== undefined ? { envelope } : {}),
        ...(out !== undefined ? { out } : {}),
      }, io);
    });

  cli
    .command("cost", "the seed's cost arithmetic (same environment variables) and the whole campaign's economics")
    .option("--json", "print JSON: the seed's keys plus a `windtunnel` block")
    .option("--preset <name>", `price one of the seed's campaign sizes: ${PRESETS.map((p) => p.name).join(", ")}`)
    .option("--gpus <n>", "GPUs booked for the final run (default 8, or the preset's)")
    .option("--wrong-pick-rate <p>", "wrong-pick rate of a blind booking (the seed hard-codes 0.5)")
    .option("--post-filter-rates <list>", "wrong-pick rates left after the filter, comma-separated", { default: "0,0.1,0.2" })
    .option("--stress-hours <h>", "Spark hours of the Phase 2 stress test", { default: 22 })
    .option("--sanity-hours <h>", "cloud hours of the sanity day", { default: 24 })
    .option("--campaigns-per-year <n>", "for the break-even", { default: 4 })
    .example("H100_HOURLY_USD=3.50 FINAL_NODE_HOURS=504 windtunnel cost --json")
    .example("Environment (seed names and defaults): H100_HOURLY_USD=2.50 H200_HOURLY_USD=3.50 SPARK_KW=0.24 KWH_USD=0.13 SPARK_CAPEX_USD=5000 SPARK_LIFE_YEARS=1.5 ITER_SECONDS=88 CAMPAIGN_ITERS=100 FINAL_NODE_HOURS=168")
    .action(async (o: Raw) => {
      const { costCommand } = await import("./commands/index.ts");
      const preset = choice("preset", o["preset"], PRESETS.map((p) => p.name));
      const gpus = amount("gpus", o["gpus"], { integer: true, positive: true });
      const wrongPickRate = amount("wrong-pick-rate", o["wrongPickRate"], { max: 1 });
      code = await costCommand(
        {
          json: o["json"] === true,
          ...(preset ? { preset } : {}),
          ...(gpus !== undefined ? { gpus } : {}),
          ...(wrongPickRate !== undefined ? { wrongPickRate } : {}),
          postFilterRates: String(o["postFilterRates"]).split(",").map((s) => amount("post-filter-rates", s, { max: 1 }) as number),
          stressHours: amount("stress-hours", o["stressHours"]) as number,
          sanityHours: amount("sanity-hours", o["sanityHours"]) as number,
          campaignsPerYear: amount("campaigns-per-year", o["campaignsPerYear"], { positive: true }) as number,
        },
        io,
      );
    });

  cli.command("schema [format]", "print the JSON Schema of a windtunnel format: metrics | trajectory | policy | campaign | verdict | menu | stack | envelope (lists them without an argument)").action(async (name?: string) => {
    const { schemaCommand } = await import("./commands/index.ts");
    code = schemaCommand(name, io);
  });

  cli
    .command("lab <phase>", "drive your trainer through Phase 1 (lab sweep) or Phase 2 (lab stress) on this machine; the trainer command goes after --")
    .option("--dir <dir>", "the lab folder: trajectory, curves, logs (re-run the same command to resume)", { default: "runs" })
    .option("--menu <menu.yaml>", "sweep: the knobs, their choices, the baseline and the fixed target shape")
    .option("--candidates <n>", "sweep: distinct configs to evaluate, the baseline included", { default: 100 })
    .option("--steps <n>", "sweep: steps per candidate (default: the menu's, 60)")
    .option("--proposer <name>", "sweep: grid | random (seeded by the menu's seed)", { default: "random" })
    .option("--proposer-cmd <command>", "sweep: an external proposer (e.g. an LLM agent): gets the trajectory on stdin, prints one config as JSON")
    .option("--proposer-timeout <s>", "sweep: seconds an external proposer may take per answer", { default: 120 })
    .option("--repeats <n>", "sweep: extra seeds for the baseline and the top configs (the separation gate's noise estimate)", { default: 2 })
    .option("--repeat-top <n>", "sweep: how many of the best configs get repeats", { default: 3 })
    .option("--policy <policy>", "stress: the gate policy that picks the finalists and judges the curves", { default: "default" })
    .option("--trajectory <file>", "stress: the Phase 1 trajectory (default: <dir>/trajectory.jsonl)")
    .option("--no-early-stop", "stress: run every finalist to the end even after a decisive gate failure")
    .option("--ignore-sweep-gate", "stress: stress the best separable configs even when a sweep gate fails")
    .option("--parallel <k>", "concurrent trainer slots, one per GPU", { default: 1 })
    .option("--devices <list>", "CUDA_VISIBLE_DEVICES per slot, comma-separated (default 0,1,…; none: leave it unset)")
    .option("--timeout <s>", "seconds before a trainer is killed (default: 900 per sweep candidate, 86400 per stress run)")
    .option("--log-every <n>", "steps between metrics lines the trainer is asked for", { default: 10 })
    .example("windtunnel lab sweep --menu examples/menu.yaml --dir runs --parallel 2 -- python train.py")
    .example("windtunnel lab sweep --menu menu.yaml --proposer-cmd 'python agent.py' -- python train.py")
    .example("windtunnel lab stress --dir runs -- python train.py")
    .action(async (phase: string, o: Raw) => {
      const lab = await import("./commands/lab.ts");
      const which = choice("lab", phase, ["sweep", "stress"] as const);
      const devices = text("devices", o["devices"]);
      const timeoutS = amount("timeout", o["timeout"], { positive: true });
      const common = {
        dir: text("dir", o["dir"]) ?? "runs",
        command: many(o["--"]).map(String),
        parallel: amount("parallel", o["parallel"], { integer: true, positive: true }) as number,
        logEvery: amount("log-every", o["logEvery"], { integer: true, positive: true }) as number,
        ...(devices !== undefined ? { devices } : {}),
        ...(timeoutS !== undefined ? { timeoutS } : {}),
      };
      if (which === "sweep") {
        const menu = text("menu", o["menu"]);
        if (menu === undefined) throw new UsageError("lab sweep needs --menu <menu.yaml> (see examples/menu.yaml)");
        const steps = amount("steps", o["steps"], { integer: true, positive: true });
        const proposerCmd = text("proposer-cmd", o["proposerCmd"]);
        code = await lab.labSweepCommand({
          ...common,
          menu,
          candidates: amount("candidates", o["candidates"], { integer: true, positive: true }) as number,
          proposer: choice("proposer", o["proposer"], ["grid", "random"] as const) ?? "random",
          repeats: amount("repeats", o["repeats"], { integer: true }) as number,
          repeatTop: amount("repeat-top", o["repeatTop"], { integer: true }) as number,
          proposerTimeoutS: amount("proposer-timeout", o["proposerTimeout"], { positive: true }) as number,
          ...(steps !== undefined ? { steps } : {}),
          ...(proposerCmd !== undefined ? { proposerCmd } : {}),
        }, io);
      } else {
        const trajectory = text("trajectory", o["trajectory"]);
        code = await lab.labStressCommand({
          ...common,
          policy: text("policy", o["policy"]) ?? "default",
          earlyStop: o["earlyStop"] !== false,
          ignoreSweepGate: o["ignoreSweepGate"] === true,
          ...(trajectory !== undefined ? { trajectory } : {}),
        }, io);
      }
    });

  cli
    .command("forecast <curve>", "fit a Phase 2 curve, project it to the target size, and write the expected cloud curve (envelope.json) for the verify gate")
    .option("--out <envelope.json>", "write the envelope")
    .option("--policy <policy>", "gate policy (its forecast section)", { default: "default" })
    .option("--proxy-params <n>", "parameters of the proxy that made the curve")
    .option("--target-params <n>", "parameters of the target model")
    .option("--bytes-per-token <b>", "the tokenizer's bytes per token, when the curve is in bits per byte")
    .option("--until <x>", "end of the envelope on the curve's x axis (default: the policy's horizon × the last point)")
    .option("--calibrate <params=curve>", "a proxy curve at another size (repeat, ≥ 3 sizes): calibrates the size term instead of published constants")
    .option("--fit-to-step <n>", "fit only the points up to this step")
    .option("--schedule <spec>", "the target run's learning-rate schedule, e.g. total=4000,warmup=100,shape=cosine,cooldown=1,final=0.1 (turns on the annealing law; the window then runs to total)")
    .option("--stack <Pulumi.stack.yaml>", "take the target run's schedule from the stack's windtunnel:schedule (the run pulumi up creates)")
    .option("--log-preset <name>", "regex preset for plain training logs")
    .option("--log-regex <regex>", "custom log regex with named groups")
    .option("--format <format>", "table | json", { default: "table" })
    .example("windtunnel forecast runs/curves/c004.jsonl --proxy-params 124e6 --target-params 7e9 --out envelope.json")
    .example("windtunnel forecast run.log --log-preset modded-nanogpt --fit-to-step 1000 --schedule total=3325,shape=linear,cooldown=1")
    .action(async (curve: string, o: Raw) => {
      const { forecastCommand } = await import("./commands/forecast.ts");
      const out = text("out", o["out"]);
      const proxyParams = amount("proxy-params", o["proxyParams"], { positive: true });
      const targetParams = amount("target-params", o["targetParams"], { positive: true });
      const bytesPerToken = amount("bytes-per-token", o["bytesPerToken"], { positive: true });
      const until = amount("until", o["until"], { positive: true });
      const fitToStep = amount("fit-to-step", o["fitToStep"], { integer: true, positive: true });
      const scheduleText = text("schedule", o["schedule"]);
      const { parseSchedule } = await import("../forecast/schedule.ts");
      const stack = text("stack", o["stack"]);
      if (stack !== undefined && scheduleText !== undefined) throw new UsageError("--schedule and --stack both name the schedule: give one");
      const parsed = scheduleText !== undefined ? parseSchedule(scheduleText) : undefined;
      if (parsed && !parsed.ok) throw new UsageError(`--schedule: ${parsed.reason}`);
      code = await forecastCommand(curve, {
        read: readFlags(o),
        ...(fitToStep !== undefined ? { fitToStep } : {}),
        ...(parsed?.ok ? { schedule: parsed.schedule } : {}),
        ...(stack !== undefined ? { stack } : {}),
        policy: text("policy", o["policy"]) ?? "default",
        calibrate: many(o["calibrate"]).map(String),
        format: choice("format", o["format"], ["table", "json"] as const) ?? "table",
        ...(out !== undefined ? { out } : {}),
        ...(proxyParams !== undefined ? { proxyParams } : {}),
        ...(targetParams !== undefined ? { targetParams } : {}),
        ...(bytesPerToken !== undefined ? { bytesPerToken } : {}),
        ...(until !== undefined ? { until } : {}),
      }, io);
    });

  cli
    .command("report [...evidence]", "the campaign's evidence as one self-contained HTML file (or PNG figures): sweep, stress, forecast, sanity day, money, gates")
    .option("--out <file>", "report.html (or, with --format png, a folder for the figures)", { default: "report.html" })
    .option("--format <format>", "html | png", { default: "html" })
    .option("--policy <policy>", "gate policy", { default: "default" })
    .option("--campaign <plan.yaml>", "the campaign plan (the money figure and the spend gates)")
    .option("--envelope <envelope.json>", "the forecast to draw (default: one made from the best surviving curve)")
    .option("--cloud <metrics.jsonl>", "the cloud run, drawn over the envelope and judged by the verify gate")
    .option("--sanity <metrics.jsonl>", "a sanity-day metrics file (repeat)")
    .option("--title <text>", "the report's title")
    .option("--log-preset <name>", "regex preset for plain training logs")
    .option("--log-regex <regex>", "custom log regex with named groups")
    .example("windtunnel report --out report.html runs/trajectory.jsonl runs/curves/*.jsonl --campaign campaign.yaml")
    .example("windtunnel report --format png --out figures/ runs/trajectory.jsonl runs/curves/*.jsonl")
    .action(async (files: string[], o: Raw) => {
      const { reportCommand } = await import("./commands/report.ts");
      const campaign = text("campaign", o["campaign"]);
      const envelope = text("envelope", o["envelope"]);
      const cloud = text("cloud", o["cloud"]);
      const title = text("title", o["title"]);
      code = await reportCommand(files, {
        out: text("out", o["out"]) ?? "report.html",
        format: choice("format", o["format"], ["html", "png"] as const) ?? "html",
        policy: text("policy", o["policy"]) ?? "default",
        sanity: many(o["sanity"]).map(String),
        read: readFlags(o),
        ...(campaign !== undefined ? { campaign } : {}),
        ...(envelope !== undefined ? { envelope } : {}),
        ...(cloud !== undefined ? { cloud } : {}),
        ...(title !== undefined ? { title } : {}),
      }, io);
    });

  cli
    .command("watch", "follow a cloud run from here: its curve against the envelope, the watchdog's teardowns; optionally pulumi destroy on teardown")
    .option("--bucket <name>", "the campaign's artifact bucket (pulumi stack output bucketName)")
    .option("--campaign <id>", "the campaign id (windtunnel:campaign)")
    .option("--stage <stage>", "sanity | full", { default: "full" })
    .option("--envelope <envelope.json>", "draw the forecast and judge the verify gate locally")
    .option("--interval <s>", "seconds between polls", { default: 60 })
    .option("--once", "poll once, print, exit (0 healthy, 1 torn down)")
    .option("--destroy-on-teardown <stack>", "when the watchdog tears the run down, run pulumi destroy for this stack (Automation API; needs the Pulumi CLI)")
    .option("--endpoint <url>", "an S3-compatible endpoint (tests, LocalStack)")
    .option("--region <region>", "AWS region (default: the AWS SDK's configuration)")
    .example("windtunnel watch --bucket $(pulumi stack output bucketName) --campaign gpt7b --envelope envelope.json")
    .action(async (o: Raw) => {
      const { watchCommand } = await import("./commands/watch.ts");
      const bucket = text("bucket", o["bucket"]);
      const campaign = text("campaign", o["campaign"]);
      if (bucket === undefined || campaign === undefined) throw new UsageError("watch needs --bucket and --campaign (pulumi stack output bucketName; windtunnel:campaign)");
      const envelope = text("envelope", o["envelope"]);
      const endpoint = text("endpoint", o["endpoint"]);
      const region = text("region", o["region"]);
      const destroyStack = text("destroy-on-teardown", o["destroyOnTeardown"]);
      code = await watchCommand({
        bucket,
        campaign,
        stage: choice("stage", o["stage"], ["sanity", "full"] as const) ?? "full",
        intervalS: amount("interval", o["interval"], { positive: true }) as number,
        once: o["once"] === true,
        projectDir: process.cwd(),
        width: Math.min(120, Math.max(40, (process.stdout.columns ?? 100) - 12)),
        height: 12,
        ...(envelope !== undefined ? { envelope } : {}),
        ...(endpoint !== undefined ? { endpoint } : {}),
        ...(region !== undefined ? { region } : {}),
        ...(destroyStack !== undefined ? { destroyStack } : {}),
      }, io);
    });

  cli
    .command("plan", "what `pulumi up` would create for a stack, offline and without credentials; refuses (exit 1) exactly as pulumi up would")
    .option("--stack <name>", "the stack: stacks/Pulumi.<name>.yaml", { default: "example" })
    .option("--stack-file <file>", "a stack file elsewhere")
    .option("--evidence-dir <dir>", "judge this lab folder (trajectory.jsonl, curves/, verdict.json) instead of the stack's evidence")
    .option("--format <format>", "table | json", { default: "table" })
    .example("windtunnel plan --stack example")
    .example("windtunnel plan --stack prod --format json > plan.json")
    .action(async (o: Raw) => {
      const { planCommand } = await import("./commands/plan.ts");
      const stackFile = text("stack-file", o["stackFile"]);
      const evidenceDir = text("evidence-dir", o["evidenceDir"]);
      code = await planCommand({
        stack: text("stack", o["stack"]) ?? "example",
        format: choice("format", o["format"], ["table", "json"] as const) ?? "table",
        ...(stackFile !== undefined ? { stackFile } : {}),
        ...(evidenceDir !== undefined ? { evidenceDir } : {}),
      }, io);
    });

  cli
    .command("rehearse", "Phase 3 on this machine before any money is spent: the stack's own user data run against moto_server, with the real watchdog on a compressed clock")
    .option("--stack <name>", "the stack: stacks/Pulumi.<name>.yaml", { default: "example" })
    .option("--stack-file <file>", "a stack file elsewhere")
    .option("--stage <stage>", "sanity | full (default: the stack's)")
    .option("--runtime <runtime>", "host: the stage commands run on this machine (docker: not supported yet)", { default: "host" })
    .option("--scenario <scenario>", `the fault to inject: ${SCENARIO_NAMES.join(" | ")}`, { default: "healthy" })
    .option("--steps <n>", "a step cap, passed to the run as WINDTUNNEL_STEPS")
    .option("--command <cmd>", "replaces every command of the stage, e.g. the reference trainer: node examples/trainer/train.ts")
    .option("--minutes-per-second <m>", "simulated minutes per real second (the watchdog ticks every 2 simulated minutes)", { default: 1 })
    .option("--timeout <s>", "give up after this many real seconds", { default: 600 })
    .option("--format <format>", "table | json", { default: "table" })
    .example("windtunnel rehearse --stack example --command 'node examples/trainer/train.ts' --steps 60 --minutes-per-second 10")
    .example("windtunnel rehearse --stack example --command 'node examples/trainer/train.ts' --scenario silent --minutes-per-second 20")
    .action(async (o: Raw) => {
      const { rehearseCommand } = await import("./commands/rehearse.ts");
      const stackFile = text("stack-file", o["stackFile"]);
      const stage = choice("stage", o["stage"], ["sanity", "full"] as const);
      const steps = amount("steps", o["steps"], { integer: true, positive: true });
      const command = text("command", o["command"]);
      code = await rehearseCommand({
        stack: text("stack", o["stack"]) ?? "example",
        runtime: choice("runtime", o["runtime"], ["host", "docker"] as const) ?? "host",
        scenario: choice("scenario", o["scenario"], SCENARIO_NAMES) ?? "healthy",
        minutesPerSecond: amount("minutes-per-second", o["minutesPerSecond"], { positive: true, max: 600 }) as number,
        timeoutS: amount("timeout", o["timeout"], { positive: true }) as number,
        format: choice("format", o["format"], ["table", "json"] as const) ?? "table",
        ...(stackFile !== undefined ? { stackFile } : {}),
        ...(stage !== undefined ? { stage } : {}),
        ...(steps !== undefined ? { steps } : {}),
        ...(command !== undefined ? { command } : {}),
      }, io);
    });

  cli
    .command("demo", "the whole flow on this machine, no cloud account needed: sweep the reference trainer, stress the finalists, gate, price")
    .option("--dir <dir>", "where the demo's evidence goes", { default: "windtunnel-demo" })
    .option("--menu <menu.yaml>", "the menu to sweep (try examples/menu-diverging.yaml)")
    .option("--candidates <n>", "Phase 1 candidates", { default: 24 })
    .option("--parallel <k>", "concurrent trainers (default: 2, or 1 on a single core)")
    .action(async (o: Raw) => {
      const { demoCommand } = await import("./commands/demo.ts");
      const menu = text("menu", o["menu"]);
      const parallel = amount("parallel", o["parallel"], { integer: true, positive: true });
      code = await demoCommand({
        dir: text("dir", o["dir"]) ?? "windtunnel-demo",
        candidates: amount("candidates", o["candidates"], { integer: true, positive: true }) as number,
        ...(menu !== undefined ? { menu } : {}),
        ...(parallel !== undefined ? { parallel } : {}),
      }, io);
    });

  cli.help();
  cli.version(pkg.version);

  try {
    cli.parse(["node", "windtunnel", ...joinNegativeValues(argv, valueOptions(cli))], { run: false });
    if (cli.matchedCommand === undefined) {
      if (cli.args.length > 0) throw new UsageError(`unknown command ${JSON.stringify(cli.args[0])}; run windtunnel --help`);
      if (cli.options["help"] === undefined && cli.options["version"] === undefined) cli.outputHelp();
      return EXIT.ok;
    }
    await cli.runMatchedCommand();
    return code;
  } catch (err) {
    if (err instanceof InputError) {
      // Already located (file:line:col: field: …): printed as is, one line per problem.
      for (const line of err.message.split("\n")) io.err(line);
      return err.exitCode;
    }
    if (err instanceof InternalError) {
      io.err(`windtunnel: internal error: ${err.message}`);
      io.err("This is a bug in windtunnel; please report it with the command you ran. Set WINDTUNNEL_DEBUG=1 for a stack trace.");
      if (io.env["WINDTUNNEL_DEBUG"] && err.stack) io.err(err.stack);
      return err.exitCode;
    }
    if (err instanceof WindtunnelError) {
      for (const line of err.message.split("\n")) io.err(`windtunnel: ${line}`);
      return err.exitCode;
    }
    if (err instanceof Error && err.name === "CACError") {
      io.err(`windtunnel: ${err.message} (run with --help for usage)`);
      return EXIT.badInput;
    }
    io.err(`windtunnel: internal error: ${err instanceof Error ? err.message : String(err)}`);
    io.err("This is a bug in windtunnel; please report it with the command you ran. Set WINDTUNNEL_DEBUG=1 for a stack trace.");
    if (io.env["WINDTUNNEL_DEBUG"] && err instanceof Error && err.stack) io.err(err.stack);
    return EXIT.internal;
  }
}
