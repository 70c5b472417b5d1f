// `windtunnel cost`: its flags, coerced; the handler is cost.ts.
import { PRESETS } from "../../cost/campaign.ts";
import { amount, amountOr, choice, defineCommand, given, text } from "../flags.ts";
import { UsageError } from "../../common/errors.ts";

export const cost = defineCommand({
  name: "cost",
  description: "the seed's cost arithmetic (same environment variables) and the whole campaign's economics",
  flags: [
    ["--json", "print JSON: the seed's keys plus a `windtunnel` block"],
    ["--preset <name>", `price one of the seed's campaign sizes: ${PRESETS.map((p) => p.name).join(", ")}`],
    ["--gpus <n>", "GPUs booked for the final run (default 8, or the preset's)"],
    ["--wrong-pick-rate <p>", "wrong-pick rate of a blind booking (the seed hard-codes 0.5)"],
    ["--post-filter-rates <list>", "wrong-pick rates left after the filter, comma-separated", { default: "0,0.1,0.2" }],
    ["--stress-hours <h>", "Spark hours of the Phase 2 stress test", { default: 22 }],
    ["--sanity-hours <h>", "cloud hours of the sanity day", { default: 24 }],
    ["--campaigns-per-year <n>", "for the break-even", { default: 4 }],
    ["--live", "also ask AWS for today's prices of the node: spot in every AZ, spot placement scores and Capacity Block offerings where the APIs answer (needs AWS credentials; reads only)"],
    ["--instance-type <type>", "--live: the node's EC2 instance type (default p5.48xlarge)"],
    ["--regions <list>", "--live: regions, comma-separated (default: AWS_REGION, else us-east-1)"],
    ["--endpoint <url>", "--live: an EC2 endpoint URL instead of AWS's (a VPC endpoint, or moto_server in tests)"],
  ],
  examples: [
    "H100_HOURLY_USD=3.50 FINAL_NODE_HOURS=504 windtunnel cost --json",
    "windtunnel cost --live --regions us-east-1,us-east-2,us-west-2",
    "Environment (seed names and defaults): H100_HOURLY_USD=2.50 H200_HOURLY_USD=3.50 SPARK_KW=0.24 KWH_USD=0.13 SPARK_CAPEX_USD=5000 SPARK_LIFE_YEARS=1.5 ITER_SECONDS=88 CAMPAIGN_ITERS=100 FINAL_NODE_HOURS=168",
  ],
  async run(_args, o, io) {
    const flags = {
      json: o["json"] === true,
      ...given("preset", choice("preset", o["preset"], PRESETS.map((p) => p.name))),
      ...given("gpus", amount("gpus", o["gpus"], { integer: true, positive: true })),
      ...given("wrongPickRate", amount("wrong-pick-rate", o["wrongPickRate"], { max: 1 })),
      postFilterRates: String(o["postFilterRates"]).split(",").map((s) => amountOr("post-filter-rates", s, { max: 1 })),
      stressHours: amountOr("stress-hours", o["stressHours"]),
      sanityHours: amountOr("sanity-hours", o["sanityHours"]),
      campaignsPerYear: amountOr("campaigns-per-year", o["campaignsPerYear"], { positive: true }),
      live: o["live"] === true,
      ...given("instanceType", text("instance-type", o["instanceType"])),
      ...given("regions", o["regions"] === undefined ? undefined : (text("regions", o["regions"]) ?? "").split(",").map((r) => r.trim()).filter((r) => r !== "")),
      ...given("endpoint", text("endpoint", o["endpoint"])),
    };
    const liveOnly = (["instance-type", "regions", "endpoint"] as const).filter((k) => o[k.replace(/-(\w)/, (_m, c: string) => c.toUpperCase())] !== undefined);
    if (!flags.live && liveOnly.length > 0) throw new UsageError(`--${liveOnly.join(", --")}: only with --live`);
    const { costCommand } = await import("./cost.ts");
    return costCommand(flags, io);
  },
});
