// `windtunnel report`: its flags, coerced; the handler is report.ts.
import { choice, defineCommand, given, many, readFlags, readFlagSpecs, text } from "../flags.ts";

export const report = defineCommand({
  name: "report [...evidence]",
  description: "the campaign's evidence as one self-contained HTML file (or PNG figures): sweep, stress, forecast, sanity day, money, spot attempts, gates",
  flags: [
    ["--out <file>", "report.html (or, with --format png, a folder for the figures)", { default: "report.html" }],
    ["--format <format>", "html | png", { default: "html" }],
    ["--policy <policy>", "gate policy", { default: "default" }],
    ["--campaign <plan.yaml>", "the campaign plan (the money figure and the spend gates)"],
    ["--envelope <envelope.json>", "the forecast to draw (default: one made from the best surviving curve)"],
    ["--cloud <metrics.jsonl>", "the cloud run, drawn over the envelope and judged by the verify gate"],
    ["--sanity <metrics.jsonl>", "a sanity-day metrics file (repeat)"],
    ["--attempts <state.json>", "the watchdog's state (s3://<bucket>/watchdog/<campaign>/<stage>/state.json): each spot attempt, its market, hours, cost and how it ended"],
    ["--title <text>", "the report's title"],
    ...readFlagSpecs(false),
  ],
  examples: [
    "windtunnel report --out report.html runs/trajectory.jsonl runs/curves/*.jsonl --campaign campaign.yaml",
    "windtunnel report --format png --out figures/ runs/trajectory.jsonl runs/curves/*.jsonl",
    "windtunnel report --out report.html runs/trajectory.jsonl runs/curves/*.jsonl --campaign campaign.yaml --attempts watchdog-state.json",
  ],
  async run([files], o, io) {
    const flags = {
      out: text("out", o["out"]) ?? "report.html",
      format: choice("format", o["format"], ["html", "png"] as const) ?? "html",
      policy: text("policy", o["policy"]) ?? "default",
      sanity: many(o["sanity"]),
      read: readFlags(o),
      ...given("campaign", text("campaign", o["campaign"])),
      ...given("envelope", text("envelope", o["envelope"])),
      ...given("cloud", text("cloud", o["cloud"])),
      ...given("attempts", text("attempts", o["attempts"])),
      ...given("title", text("title", o["title"])),
    };
    const { reportCommand } = await import("./report.ts");
    return reportCommand(files as string[], flags, io);
  },
});
