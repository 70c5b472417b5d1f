// `windtunnel watch`: its flags, coerced; the handler is watch.ts.
import { UsageError } from "../../common/errors.ts";
import { amountOr, choice, defineCommand, given, text } from "../flags.ts";

export const watch = defineCommand({
  name: "watch",
  description: "follow a cloud run from here: its curve against the envelope, the watchdog's teardowns; optionally pulumi destroy on teardown",
  flags: [
    ["--bucket <name>", "the campaign's artifact bucket (pulumi stack output bucketName)"],
    ["--campaign <id>", "the campaign id (windtunnel:campaign)"],
    ["--stage <stage>", "sanity | full", { default: "full" }],
    ["--envelope <envelope.json>", "draw the forecast and judge the verify gate locally"],
    ["--interval <s>", "seconds between polls", { default: 60 }],
    ["--once", "poll once, print, exit (0 healthy, 1 torn down)"],
    ["--destroy-on-teardown <stack>", "when the watchdog tears the run down, run pulumi destroy for this stack (Automation API; needs the Pulumi CLI)"],
    ["--endpoint <url>", "an S3-compatible endpoint (tests, LocalStack)"],
    ["--region <region>", "AWS region (default: the AWS SDK's configuration)"],
  ],
  examples: ["windtunnel watch --bucket $(pulumi stack output bucketName) --campaign gpt7b --envelope envelope.json"],
  async run(_args, o, io) {
    const bucket = text("bucket", o["bucket"]);
    const campaign = text("campaign", o["campaign"]);
    if (bucket === undefined || campaign === undefined) throw new UsageError("watch needs --bucket and --campaign (pulumi stack output bucketName; windtunnel:campaign)");
    const flags = {
      bucket,
      campaign,
      stage: choice("stage", o["stage"], ["sanity", "full"] as const) ?? "full",
      intervalS: amountOr("interval", o["interval"], { positive: true }),
      once: o["once"] === true,
      projectDir: process.cwd(),
      width: Math.min(120, Math.max(40, (process.stdout.columns ?? 100) - 12)),
      height: 12,
      ...given("envelope", text("envelope", o["envelope"])),
      ...given("endpoint", text("endpoint", o["endpoint"])),
      ...given("region", text("region", o["region"])),
      ...given("destroyStack", text("destroy-on-teardown", o["destroyOnTeardown"])),
    };
    const { watchCommand } = await import("./watch.ts");
    return watchCommand(flags, io);
  },
});
