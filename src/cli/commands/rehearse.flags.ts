// `windtunnel rehearse`: its flags, coerced; the handler is rehearse.ts.
import { SCENARIOS } from "../../rehearse/scenario.ts";
import { amount, amountOr, choice, defineCommand, FORMATS_TABLE_JSON, given, text } from "../flags.ts";
import { STACK_FLAGS } from "./plan.flags.ts";

export const rehearse = defineCommand({
  name: "rehearse",
  description: "Phase 3 on this machine before any money is spent: the stack's own user data run against moto_server, with the real watchdog on a compressed clock",
  flags: [
    ...STACK_FLAGS,
    ["--stage <stage>", "sanity | full (default: the stack's)"],
    ["--runtime <runtime>", "host: the stage commands run on this machine (docker: not supported yet)", { default: "host" }],
    ["--scenario <scenario>", `the fault to inject: ${SCENARIOS.join(" | ")}`, { default: "healthy" }],
    ["--steps <n>", "a step cap, passed to the run as WINDTUNNEL_STEPS"],
    ["--command <cmd>", "replaces every command of the stage, e.g. the reference trainer: node examples/trainer/train.ts"],
    ["--minutes-per-second <m>", "simulated minutes per real second (the watchdog ticks every 2 simulated minutes)", { default: 1 }],
    ["--timeout <s>", "give up after this many real seconds", { default: 600 }],
    ["--format <format>", FORMATS_TABLE_JSON.join(" | "), { default: "table" }],
  ],
  examples: [
    "windtunnel rehearse --stack example --command 'node examples/trainer/train.ts' --steps 60 --minutes-per-second 10",
    "windtunnel rehearse --stack example --command 'node examples/trainer/train.ts' --scenario silent --minutes-per-second 20",
  ],
  async run(_args, o, io) {
    const flags = {
      stack: text("stack", o["stack"]) ?? "example",
      runtime: choice("runtime", o["runtime"], ["host", "docker"] as const) ?? "host",
      scenario: choice("scenario", o["scenario"], SCENARIOS) ?? "healthy",
      minutesPerSecond: amountOr("minutes-per-second", o["minutesPerSecond"], { positive: true, max: 600 }),
      timeoutS: amountOr("timeout", o["timeout"], { positive: true }),
      format: choice("format", o["format"], FORMATS_TABLE_JSON) ?? "table",
      ...given("stackFile", text("stack-file", o["stackFile"])),
      ...given("stage", choice("stage", o["stage"], ["sanity", "full"] as const)),
      ...given("steps", amount("steps", o["steps"], { integer: true, positive: true })),
      ...given("command", text("command", o["command"])),
    };
    const { rehearseCommand } = await import("./rehearse.ts");
    return rehearseCommand(flags, io);
  },
});
