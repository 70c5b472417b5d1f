// `windtunnel plan`: its flags, coerced; the handler is plan.ts.
import { choice, defineCommand, FORMATS_TABLE_JSON, given, text } from "../flags.ts";
import { UsageError } from "../../common/errors.ts";

/** The stack flags `plan` and `rehearse` share. */
export const STACK_FLAGS = [
  ["--stack <name>", "the stack: stacks/Pulumi.<name>.yaml", { default: "example" }],
  ["--stack-file <file>", "a stack file elsewhere"],
] as const;

export const plan = defineCommand({
  name: "plan",
  description: "what `pulumi up` would create for a stack, offline and without credentials; refuses (exit 1) exactly as pulumi up would",
  flags: [
    ...STACK_FLAGS,
    ["--evidence-dir <dir>", "judge this lab folder (trajectory.jsonl, curves/, verdict.json) instead of the stack's evidence"],
    ["--format <format>", FORMATS_TABLE_JSON.join(" | "), { default: "table" }],
    ["--live", "judge the spot price AWS quotes now (the subnet's AZ, else the highest of the region's AZs) instead of node.hourlyUsd; needs AWS credentials, reads only"],
    ["--endpoint <url>", "--live: an EC2 endpoint URL instead of AWS's (a VPC endpoint, or moto_server in tests)"],
  ],
  examples: ["windtunnel plan --stack example", "windtunnel plan --stack prod --format json > plan.json", "windtunnel plan --stack prod --live"],
  async run(_args, o, io) {
    const flags = {
      stack: text("stack", o["stack"]) ?? "example",
      format: choice("format", o["format"], FORMATS_TABLE_JSON) ?? "table",
      ...given("stackFile", text("stack-file", o["stackFile"])),
      ...given("evidenceDir", text("evidence-dir", o["evidenceDir"])),
      live: o["live"] === true,
      ...given("endpoint", text("endpoint", o["endpoint"])),
    };
    if (!flags.live && flags.endpoint !== undefined) throw new UsageError("--endpoint: only with --live");
    const { planCommand } = await import("./plan.ts");
    return planCommand(flags, io);
  },
});
