// `windtunnel gate`: its flags, coerced; the handlers are gate.ts (gateCommand, checkCommand).
import { UsageError } from "../../common/errors.ts";
import { LOCAL_PHASES, PHASE_INFO, PHASES } from "../../gates/phases.ts";
import { choice, defineCommand, given, readFlags, readFlagSpecs, text } from "../flags.ts";

export const OUTPUT_FORMATS = ["table", "json", "markdown"] as const;

const phaseHelp = PHASES.map((p) => `${p} (${PHASE_INFO[p].summary})`).join("; ");

export const gate = defineCommand({
  name: "gate [...evidence]",
  description: "run the Phase 1 sweep, Phase 2 stress and spend gates (exit 0 pass, 1 a gate failed, 2 bad input)",
  flags: [
    ["--phase <phases>", `a comma-separated list of ${phaseHelp}; or all (= ${LOCAL_PHASES.join(",")})`, { default: "all" }],
    ["--policy <policy>", "gate policy: a YAML file, or the built-in default | strict", { default: "default" }],
    ["--campaign <plan.yaml>", "the campaign plan the spend gates judge"],
    ["--envelope <envelope.json>", "verify: the forecast the cloud curve is judged against (windtunnel forecast)"],
    ["--figures <dir>", "markdown: link the report's PNG figures in this folder (windtunnel report --format png --out <dir>)"],
    ["--out <verdict.json>", "write the verdict, bound by sha256 to the evidence and the policy"],
    ["--format <format>", OUTPUT_FORMATS.join(" | "), { default: "table" }],
    ["--check <verdict.json>", "re-hash a verdict's evidence and policy; refuse it (exit 1) if anything changed or a gate failed"],
    ...readFlagSpecs(),
  ],
  examples: [
    "windtunnel gate --out verdict.json runs/trajectory.jsonl runs/curves/*.jsonl --campaign campaign.yaml",
    'windtunnel gate --phase sweep --format markdown runs/trajectory.jsonl >> "$GITHUB_STEP_SUMMARY"',
    "windtunnel gate --phase sanity s3-sync/sanity/node-0/*.metrics.jsonl",
    "windtunnel gate --phase verify --envelope envelope.json s3-sync/full/node-0/train.metrics.jsonl",
    "windtunnel gate --check verdict.json",
  ],
  async run([files], o, io) {
    const check = text("check", o["check"]);
    if (check !== undefined) {
      if ((files as string[]).length > 0) throw new UsageError("--check takes only the verdict file; evidence paths come from the verdict");
      const { checkCommand } = await import("./gate.ts");
      return checkCommand(check, io, given("logRegex", text("log-regex", o["logRegex"])));
    }
    const flags = {
      ...readFlags(o),
      phase: text("phase", o["phase"]) ?? "all",
      policy: text("policy", o["policy"]) ?? "default",
      format: choice("format", o["format"], OUTPUT_FORMATS) ?? "table",
      ...given("figures", text("figures", o["figures"])),
      ...given("campaign", text("campaign", o["campaign"])),
      ...given("envelope", text("envelope", o["envelope"])),
      ...given("out", text("out", o["out"])),
    };
    const { gateCommand } = await import("./gate.ts");
    return gateCommand(files as string[], flags, io);
  },
});
