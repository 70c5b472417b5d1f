// `windtunnel lab sweep|stress`: their flags, coerced; the handlers are lab.ts.
import { UsageError } from "../../common/errors.ts";
import { PROPOSER_INPUTS, PROPOSER_NAMES, PRUNE_RULES, type PruneRule } from "../../lab/names.ts";
import { amount, amountOr, choice, defineCommand, given, many, text, type Raw } from "../flags.ts";

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
    ["--prune <rule>", `sweep: early stopping at the rungs, ${PRUNE_RULES.join(" | ")} (asha: successive halving; median: worse than the median there)`, { default: "none" }],
    ["--eta <n>", "sweep, --prune asha: a candidate goes on past a rung only in the top 1/eta of the values there (default 3)"],
    ["--rungs <steps>", "sweep, --prune: the steps at which candidates are judged, comma-separated (default: a third and two thirds of the steps)"],
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
        ...pruneFlags(o),
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

/** --prune, --eta and --rungs; the rungs are checked against the steps once the menu is read. */
function pruneFlags(o: Raw): { prune: PruneRule; eta?: number; rungs?: number[] } {
  const prune = choice("prune", o["prune"], PRUNE_RULES) ?? "none";
  const eta = amount("eta", o["eta"]);
  if (eta !== undefined && !(eta > 1)) throw new UsageError(`--eta: expected a number greater than 1 (3 keeps the top third at each rung), got ${String(o["eta"])}`);
  if (eta !== undefined && prune !== "asha") throw new UsageError(`--eta is ASHA's reduction factor: it needs --prune asha (got --prune ${prune})`);
  const rungsText = text("rungs", o["rungs"]);
  if (rungsText !== undefined && prune === "none") throw new UsageError("--rungs: the steps at which early stopping judges candidates; it needs --prune asha or --prune median");
  const rungs = rungsText?.split(",").map((part) => {
    const n = /^\s*\d+\s*$/.test(part) ? Number(part) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`--rungs: expected comma-separated whole numbers of steps, e.g. 20,40; got ${JSON.stringify(rungsText)}`);
    return n;
  });
  return { prune, ...given("eta", eta), ...given("rungs", rungs) };
}
