// `windtunnel validate`: its flags, coerced; the handler is validate.ts.
import { FORMATS, type EvidenceFormat } from "../../evidence/names.ts";
import { choice, defineCommand, readFlags, readFlagSpecs } from "../flags.ts";

export const validate = defineCommand({
  name: "validate <...files>",
  description: "check evidence files and print a summary of each (exit 0 valid, 2 invalid)",
  flags: [
    ["--format <format>", `skip auto-detection: ${FORMATS.join(", ")}`],
    ...readFlagSpecs(),
    ["--strict", "treat unreadable rows as errors"],
    ["--json", "print the reports as JSON"],
  ],
  examples: ["windtunnel validate runs/trajectory.jsonl curves/*.jsonl"],
  async run([files], o, io) {
    const format = choice<EvidenceFormat>("format", o["format"], FORMATS);
    const { validateCommand } = await import("./validate.ts");
    return validateCommand(files as string[], { ...readFlags(o), ...(format ? { format } : {}), strict: o["strict"] === true, json: o["json"] === true }, io);
  },
});
