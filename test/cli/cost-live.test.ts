// `cost --live` in-process, so the EC2 client can be injected: moto_server answers the spot
// prices, and a stand-in answers GetSpotPlacementScores and DescribeCapacityBlockOfferings, which
// moto does not implement (shaped as EC2's API reference gives them).
import { DescribeCapacityBlockOfferingsCommand, DescribeSpotPriceHistoryCommand, EC2Client, GetSpotPlacementScoresCommand } from "@aws-sdk/client-ec2";
import { expect, it } from "vitest";
import { costCommand } from "../../src/cli/commands/cost.ts";
import { CAPACITY_BLOCK_WARNING } from "../../src/cost/live-price.ts";
import type { Ec2Api } from "../../src/infra/live-prices.ts";
import { describeWithMoto } from "../helpers/moto.ts";

const now = new Date("2026-12-01T10:00:00Z");

describeWithMoto("cost --live", (moto) => {
  function run(flags: Parameters<typeof costCommand>[0], fake: (command: object) => unknown) {
    const out: string[] = [];
    const asked: string[] = [];
    const ec2 = (region: string): Ec2Api => {
      const real = new EC2Client({ region, endpoint: moto().endpoint, credentials: { accessKeyId: "testing", secretAccessKey: "testing" } });
      return {
        send: (async (command: object) => {
          asked.push(`${command.constructor.name} ${region}`);
          return fake(command) ?? real.send(command as never);
        }) as Ec2Api["send"],
      };
    };
    return costCommand(flags, { out: (l) => out.push(l), err: () => {}, env: {} }, { ec2, now }).then((code) => ({ code, out: out.join("\n"), asked }));
  }
  const answers = (command: object): unknown => {
    if (command instanceof GetSpotPlacementScoresCommand) return { SpotPlacementScores: [{ Region: "us-east-1", AvailabilityZoneId: "use1-az4", Score: 7 }] };
    if (command instanceof DescribeCapacityBlockOfferingsCommand) {
      return { CapacityBlockOfferings: [{ CapacityBlockOfferingId: "cb-0123", AvailabilityZone: "us-east-1a", InstanceCount: 1, StartDate: new Date("2026-12-03T11:30:00Z"), EndDate: new Date("2026-12-11T11:30:00Z"), CapacityBlockDurationHours: 192, UpfrontFee: "6451.20", CurrencyCode: "USD" }] };
    }
    return undefined;
  };

  it("prints the spot price of each AZ, the highest, the placement scores, the blocks on sale and the upfront warning", async () => {
    const r = await run({ live: true, regions: ["us-east-1"] }, answers);
    expect(r.code).toBe(0);
    expect(r.out).toContain("Live prices for 1 × p5.48xlarge (AWS, asked 2026-12-01T10:00:00Z;");
    expect(r.out).toMatch(/│ us-east-1 │ us-east-1a +│ +\$0\.00 │ +\$0\.00 │ 2006-01-02T15:04:05Z │/);
    expect(r.out).toMatch(/us-east-1: the highest is \$0\.00\/node-h in us-east-1a, what plan --live judges/);
    expect(r.out).toMatch(/│ us-east-1 │ use1-az4 │ +7 │/);
    expect(r.out).toContain("Capacity Blocks, us-east-1: 1 × p5.48xlarge for 192 h");
    // 192 h = the 168 h run + the 24 h sanity day, a whole number of days; $6,451.20 over 192 node-hours
    expect(r.out).toMatch(/│ us-east-1a │ 2026-12-03T11:30:00Z │ 2026-12-11T11:30:00Z │ +\$6,451\.20 │ +\$33\.60 │/);
    expect(r.out.split("\n").at(-1)).toBe(CAPACITY_BLOCK_WARNING);
    expect(r.asked).toEqual(["DescribeSpotPriceHistoryCommand us-east-1", "DescribeCapacityBlockOfferingsCommand us-east-1", "GetSpotPlacementScoresCommand us-east-1"]);
  });

  it("--json: the same report under `live`, beside the seed's keys", async () => {
    const r = await run({ live: true, json: true, regions: ["us-east-1"], gpus: 16 }, answers);
    const j = JSON.parse(r.out) as { expected_value_argument: unknown; live: { nodes: number; regions: { spot: { az: string; usd: number }[]; capacity_blocks: { hours: number } }[]; placement_scores: unknown[] } };
    expect(j.expected_value_argument).toBeDefined();
    expect(j.live.nodes).toBe(2);
    expect(j.live.regions[0]?.spot[0]).toEqual({ az: "us-east-1a", usd: 0.00001, at: "2006-01-02T15:04:05Z" });
    expect(j.live.regions[0]?.capacity_blocks.hours).toBe(192);
    expect(j.live.placement_scores).toEqual([{ region: "us-east-1", azId: "use1-az4", score: 7 }]);
  });

  it("a booking longer than the longest block is said, not asked", async () => {
    const r = await run({ live: true, regions: ["us-east-1"], preset: "70b-1024gpu-21d", sanityHours: 4000 }, answers);
    expect(r.out).toContain("Capacity Blocks, us-east-1: not available (4504 h is longer than the longest Capacity Block (182 days))");
    expect(r.asked).not.toContain("DescribeCapacityBlockOfferingsCommand us-east-1");
  });

  it("a spot price failure fails the command; the optional APIs only note theirs", async () => {
    await expect(run({ live: true, regions: ["us-east-1"] }, (c) => (c instanceof DescribeSpotPriceHistoryCommand ? Promise.reject(Object.assign(new Error("nope"), { name: "UnauthorizedOperation", $metadata: { httpStatusCode: 403 } })) : undefined))).rejects.toThrow(
      "DescribeSpotPriceHistory (p5.48xlarge, us-east-1): access denied: the credentials need ec2:DescribeSpotPriceHistory (UnauthorizedOperation)",
    );
  });
});
