// `windtunnel forecast`: its flags, coerced; the handler is forecast.ts.
import { UsageError } from "../../common/errors.ts";
import { amount, choice, defineCommand, FORMATS_TABLE_JSON, given, many, readFlags, readFlagSpecs, text } from "../flags.ts";

export const forecast = defineCommand({
  name: "forecast <curve>",
  description: "fit a Phase 2 curve, project it to the target size, and write the expected cloud curve (envelope.json) for the verify gate",
  flags: [
    ["--out <envelope.json>", "write the envelope"],
    ["--policy <policy>", "gate policy (its forecast section)", { default: "default" }],
    ["--proxy-params <n>", "parameters of the proxy that made the curve"],
    ["--target-params <n>", "parameters of the target model"],
    ["--bytes-per-token <b>", "the tokenizer's bytes per token, when the curve is in bits per byte"],
    ["--until <x>", "end of the envelope on the curve's x axis (default: the policy's horizon × the last point)"],
    ["--calibrate <params=curve>", "a proxy curve at another size (repeat, ≥ 3 sizes): calibrates the size term instead of published constants"],
    ["--fit-to-step <n>", "fit only the points up to this step"],
    ["--schedule <spec>", "the target run's learning-rate schedule, e.g. total=4000,warmup=100,shape=cosine,cooldown=1,final=0.1 (turns on the annealing law; the window then runs to total)"],
    ["--stack <Pulumi.stack.yaml>", "take the target run's schedule from the stack's windtunnel:schedule (the run pulumi up creates)"],
    ...readFlagSpecs(false),
    ["--format <format>", FORMATS_TABLE_JSON.join(" | "), { default: "table" }],
  ],
  examples: [
    "windtunnel forecast runs/curves/c004.jsonl --proxy-params 124e6 --target-params 7e9 --out envelope.json",
    "windtunnel forecast run.log --log-preset modded-nanogpt --fit-to-step 1000 --schedule total=3325,shape=linear,cooldown=1",
  ],
  async run([curve], o, io) {
    const scheduleText = text("schedule", o["schedule"]);
    const stack = text("stack", o["stack"]);
    if (stack !== undefined && scheduleText !== undefined) throw new UsageError("--schedule and --stack both name the schedule: give one");
    const { parseSchedule } = await import("../../forecast/schedule.ts");
    const parsed = scheduleText !== undefined ? parseSchedule(scheduleText) : undefined;
    if (parsed && !parsed.ok) throw new UsageError(`--schedule: ${parsed.reason}`);
    const flags = {
      read: readFlags(o),
      policy: text("policy", o["policy"]) ?? "default",
      calibrate: many(o["calibrate"]),
      format: choice("format", o["format"], FORMATS_TABLE_JSON) ?? "table",
      ...given("fitToStep", amount("fit-to-step", o["fitToStep"], { integer: true, positive: true })),
      ...given("schedule", parsed?.ok ? parsed.schedule : undefined),
      ...given("stack", stack),
      ...given("out", text("out", o["out"])),
      ...given("proxyParams", amount("proxy-params", o["proxyParams"], { positive: true })),
      ...given("targetParams", amount("target-params", o["targetParams"], { positive: true })),
      ...given("bytesPerToken", amount("bytes-per-token", o["bytesPerToken"], { positive: true })),
      ...given("until", amount("until", o["until"], { positive: true })),
    };
    const { forecastCommand } = await import("./forecast.ts");
    return forecastCommand(curve as string, flags, io);
  },
});
