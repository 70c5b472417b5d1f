// `windtunnel lab sweep|stress`: their flags, coerced; the handlers are lab.ts.
import { UsageError } from "../../common/errors.ts";
import { PROPOSER_INPUTS, PROPOSER_NAMES } from "../../lab/names.ts";
import { amount, amountOr, choice, defineCommand, given, many, text } from "../flags.ts";

export const lab = defineCommand({
  name: "lab <phase>",
  description: "drive your trainer through Phase 1 (lab sweep) or Phase 2 (lab stress) on this machine; the trainer command goes after --",
  flags: [
    ["--dir <dir>", "the lab folder: trajectory, curves, logs (re-run the same command to resume)", { default: "runs" }],
    ["--menu <menu.yaml>", "sweep: the knobs, their choices, the baseline and the fixed target shape"],
    ["--candidates <n>", "sweep: distinct configs to evaluate, the baseline included", { default: 100 }],
    ["--steps <n>", "sweep: steps per candidate (default: the menu's, 60)"],
    ["--proposer <name>", `sweep: ${PROPOSER_NAMES.join(" | ")} (seeded by the menu's seed)`, { default: "random" }],
    ["--proposer-cmd <command>", "sweep: an external proposer (e.g. an LLM agent): gets the trajectory on stdin, prints one config as JSON"],
    ["--proposer-timeout <s>", "sweep: seconds an external proposer may take per answer", { default: 120 }],
    ["--proposer-input <form>", `sweep: what --proposer-cmd reads on stdin: ${PROPOSER_INPUTS.join(" | ")} (default: document with --prior, else jsonl)`],
    ["--prior <trajectory>", "sweep: an earlier campaign's trajectory (any format validate reads) that warm-starts tpe or --proposer-cmd (repeat); never evidence for this sweep"],
    ["--prior-weight <w>", "sweep: what one prior observation weighs in tpe against one of this sweep's (default 0.5)"],
    ["--repeats <n>", "sweep: extra seeds for the baseline and the top configs (the separation gate's noise estimate)", { default: 2 }],
    ["--repeat-top <n>", "sweep: how many of the best configs get repeats", { default: 3 }],
    ["--policy <policy>", "stress: the gate policy that picks the finalists and judges the curves", { default: "default" }],
    ["--trajectory <file>", "stress: the Phase 1 trajectory (default: <dir>/trajectory.jsonl)"],
    ["--no-early-stop", "stress: run every finalist to the end even after a decisive gate failure"],
    ["--ignore-sweep-gate", "stress: stress the best separable configs even when a sweep gate fails"],
    ["--parallel <k>", "concurrent trainer slots, one per GPU", { default: 1 }],
    ["--devices <list>", "CUDA_VISIBLE_DEVICES per slot, comma-separated (default 0,1,…; none: leave it unset)"],
    ["--timeout <s>", "seconds before a trainer is killed (default: 900 per sweep candidate, 86400 per stress run)"],
    ["--log-every <n>", "steps between metrics lines the trainer is asked for", { default: 10 }],
  ],
  examples: [
    "windtunnel lab sweep --menu examples/menu.yaml --dir runs --parallel 2 -- python train.py",
    "windtunnel lab sweep --menu menu.yaml --proposer-cmd 'python agent.py' -- python train.py",
    "windtunnel lab sweep --menu menu.yaml --proposer tpe --prior ../campaign-1/runs/trajectory.jsonl -- python train.py",
    "windtunnel lab stress --dir runs -- python train.py",
  ],
  async run([phase], o, io) {
    const which = choice("lab", phase, ["sweep", "stress"] as const);
    const common = {
      dir: text("dir", o["dir"]) ?? "runs",
      command: many(o["--"]),
      parallel: amountOr("parallel", o["parallel"], { integer: true, positive: true }),
      logEvery: amountOr("log-every", o["logEvery"], { integer: true, positive: true }),
      ...given("devices", text("devices", o["devices"])),
      ...given("timeoutS", amount("timeout", o["timeout"], { positive: true })),
    };
    if (which === "sweep") {
      const menu = text("menu", o["menu"]);
      if (menu === undefined) throw new UsageError("lab sweep needs --menu <menu.yaml> (see examples/menu.yaml)");
      const flags = {
        ...common,
        menu,
        candidates: amountOr("candidates", o["candidates"], { integer: true, positive: true }),
        proposer: choice("proposer", o["proposer"], PROPOSER_NAMES) ?? "random",
        repeats: amountOr("repeats", o["repeats"], { integer: true }),
        repeatTop: amountOr("repeat-top", o["repeatTop"], { integer: true }),
        proposerTimeoutS: amountOr("proposer-timeout", o["proposerTimeout"], { positive: true }),
        ...given("steps", amount("steps", o["steps"], { integer: true, positive: true })),
        ...given("proposerCmd", text("proposer-cmd", o["proposerCmd"])),
        ...given("proposerInput", choice("proposer-input", o["proposerInput"], PROPOSER_INPUTS)),
        priors: many(o["prior"]),
        ...given("priorWeight", amount("prior-weight", o["priorWeight"], { positive: true })),
      };
      const { labSweepCommand } = await import("./lab.ts");
      return labSweepCommand(flags, io);
    }
    const flags = {
      ...common,
      policy: text("policy", o["policy"]) ?? "default",
      earlyStop: o["earlyStop"] !== false,
      ignoreSweepGate: o["ignoreSweepGate"] === true,
      ...given("trajectory", text("trajectory", o["trajectory"])),
    };
    const { labStressCommand } = await import("./lab.ts");
    return labStressCommand(flags, io);
  },
});
