// The live-price shell against moto_server. moto answers DescribeSpotPriceHistory (one quote for
// each AZ whose offerings list the type, every one $0.00001 "since" 2006-01-02T15:04:05Z) and
// DescribeSubnets (its default VPC), so those are asserted on moto's own answers, as far as they
// hold for any data. moto has no GetSpotPlacementScores or DescribeCapacityBlockOfferings (it
// answers HTTP 500 with an HTML page): those tests inject a client that answers them in the
// shape of EC2's API reference and passes every other call to moto.
import { DescribeSubnetsCommand, DescribeCapacityBlockOfferingsCommand, EC2Client, EC2ServiceException, GetSpotPlacementScoresCommand } from "@aws-sdk/client-ec2";
import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/common/errors.ts";
import { askLivePrices, askNodePrice, awsFailure, capacityBlockOfferings, placementScores, spotQuotes, subnetAzs, type Ec2Api } from "../../src/infra/live-prices.ts";
import { describeWithMoto } from "../helpers/moto.ts";
import { judgedSpotPrice } from "../../src/cost/live-price.ts";

const now = new Date("2026-12-01T10:00:00.123Z");
const credentials = { accessKeyId: "testing", secretAccessKey: "testing" };

/** A client that answers `answers` itself (by command class) and sends everything else to `real`. */
function injected(real: Ec2Api, answers: Map<unknown, (input: Record<string, unknown>) => unknown>, seen: { command: string; input: Record<string, unknown> }[] = []): Ec2Api {
  return {
    send: (async (command: { constructor: unknown; input: Record<string, unknown> }) => {
      const answer = answers.get(command.constructor);
      if (answer === undefined) return real.send(command as never);
      seen.push({ command: (command.constructor as { name: string }).name, input: command.input });
      return answer(command.input);
    }) as Ec2Api["send"],
  };
}

const failing = (err: Error): Ec2Api => ({ send: (async () => Promise.reject(err)) as Ec2Api["send"] });
const ec2Error = (name: string, message: string, status: number): Error => new EC2ServiceException({ name, message, $fault: "client", $metadata: { httpStatusCode: status } });

describeWithMoto("live prices against moto_server", (moto) => {
  const client = (region = "us-east-1"): EC2Client => new EC2Client({ region, endpoint: moto().endpoint, credentials });

  it("spot: one current quote per AZ of the region that sells the type, sorted, each a price with its time", async () => {
    const quotes = await spotQuotes(client(), "p5.48xlarge", "us-east-1", now);
    expect(quotes.length).toBeGreaterThan(0);
    expect(quotes.map((q) => q.az)).toEqual([...new Set(quotes.map((q) => q.az))].sort());
    for (const q of quotes) {
      expect(q.az).toMatch(/^us-east-1[a-z]$/);
      expect(q.usd).toBeGreaterThan(0);
      expect(q.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    }
  });

  it("spot: a type AWS does not sell there has no quote, and the report says so in one line", async () => {
    expect(await spotQuotes(client(), "p9.nonexistent", "us-east-1", now)).toEqual([]);
    await expect(askLivePrices(() => client(), { instanceType: "p9.nonexistent", regions: ["us-east-1"], nodes: 1, bookingHours: 192, now })).rejects.toThrow(
      new UsageError("DescribeSpotPriceHistory: AWS quotes no spot price for p9.nonexistent in us-east-1 (an instance type sold on spot there? e.g. p5.48xlarge)"),
    );
  });

  it("the subnets' AZs, from DescribeSubnets, each once in the order given; an unknown subnet is one line", async () => {
    const subnets = (await client().send(new DescribeSubnetsCommand({}))).Subnets ?? [];
    const [a, b] = [subnets.at(-1), subnets[0]];
    expect(a?.AvailabilityZone).not.toBe(b?.AvailabilityZone);
    expect(await subnetAzs(client(), [a?.SubnetId as string, b?.SubnetId as string, a?.SubnetId as string], "us-east-1")).toEqual([a?.AvailabilityZone, b?.AvailabilityZone]);
    await expect(subnetAzs(client(), ["subnet-0123456789abcdef0"], "us-east-1")).rejects.toThrow(/^DescribeSubnets \(subnet-0123456789abcdef0, us-east-1\): InvalidSubnetID\.NotFound: The subnet ID 'subnet-0123456789abcdef0' does not exist$/);
  });

  it("where an optional API does not answer (moto has no placement scores or Capacity Blocks), the report says why and keeps the spot prices", async () => {
    const r = await askLivePrices(() => client(), { instanceType: "p5.48xlarge", regions: ["us-east-1"], nodes: 1, bookingHours: 192, now });
    expect(r.asked_at).toBe("2026-12-01T10:00:00Z");
    expect(r.regions[0]?.spot.length).toBeGreaterThan(0);
    expect(r.placement_scores).toEqual({ unavailable: "GetSpotPlacementScores (p5.48xlarge, us-east-1): EC2 answered HTTP 500, not an EC2 response (does the endpoint support this API?)" });
    expect(r.regions[0]?.capacity_blocks).toEqual({ unavailable: "DescribeCapacityBlockOfferings (1 × p5.48xlarge, 192 h, us-east-1): EC2 answered HTTP 500, not an EC2 response (does the endpoint support this API?)" });
  });

  it("a region that quotes nothing is a row, not a failure, when another region quotes", async () => {
    const r = await askLivePrices((region) => client(region), { instanceType: "p5.48xlarge", regions: ["us-east-1", "af-south-1"], nodes: 1, bookingHours: 192, now });
    expect(r.regions.map((x) => [x.region, x.spot.length > 0])).toEqual([["us-east-1", true], ["af-south-1", false]]);
  });

  // Injected: moto has no GetSpotPlacementScores.
  it("placement scores: asks for the node count, per AZ, in every region at once, over every page", async () => {
    const seen: { command: string; input: Record<string, unknown> }[] = [];
    const pages = [
      { SpotPlacementScores: [{ Region: "us-west-2", AvailabilityZoneId: "usw2-az1", Score: 3 }, { Region: "us-east-1", AvailabilityZoneId: "use1-az4", Score: 9 }], NextToken: "p2" },
      { SpotPlacementScores: [{ Region: "us-east-1", AvailabilityZoneId: "use1-az2", Score: 1 }] },
    ];
    const ec2 = injected(client(), new Map([[GetSpotPlacementScoresCommand, (input) => pages[input["NextToken"] === "p2" ? 1 : 0]]]), seen);
    expect(await placementScores(ec2, "p5.48xlarge", ["us-east-1", "us-west-2"], 2)).toEqual([
      { region: "us-east-1", azId: "use1-az2", score: 1 },
      { region: "us-east-1", azId: "use1-az4", score: 9 },
      { region: "us-west-2", azId: "usw2-az1", score: 3 },
    ]);
    expect(seen.map((s) => s.input)).toEqual([
      { InstanceTypes: ["p5.48xlarge"], TargetCapacity: 2, TargetCapacityUnitType: "units", SingleAvailabilityZone: true, RegionNames: ["us-east-1", "us-west-2"], MaxResults: 100 },
      { InstanceTypes: ["p5.48xlarge"], TargetCapacity: 2, TargetCapacityUnitType: "units", SingleAvailabilityZone: true, RegionNames: ["us-east-1", "us-west-2"], MaxResults: 100, NextToken: "p2" },
    ]);
  });

  // Injected: moto has no DescribeCapacityBlockOfferings.
  it("Capacity Blocks: the offerings for the nodes and the block's hours, with their upfront fee, by start date", async () => {
    const seen: { command: string; input: Record<string, unknown> }[] = [];
    const offering = (id: string, az: string, start: string, fee: string) => ({ CapacityBlockOfferingId: id, InstanceType: "p5.48xlarge", AvailabilityZone: az, InstanceCount: 2, StartDate: new Date(start), EndDate: new Date(Date.parse(start) + 192 * 3600e3), CapacityBlockDurationHours: 192, UpfrontFee: fee, CurrencyCode: "USD", Tenancy: "default" });
    const ec2 = injected(client(), new Map([[DescribeCapacityBlockOfferingsCommand, () => ({ CapacityBlockOfferings: [offering("cb-2", "us-east-1b", "2026-12-10T11:30:00Z", "9000.00"), offering("cb-1", "us-east-1a", "2026-12-03T11:30:00Z", "9500.50")] })]]), seen);
    expect(await capacityBlockOfferings(ec2, "p5.48xlarge", 2, 192, "us-east-1")).toEqual([
      { id: "cb-1", az: "us-east-1a", start: "2026-12-03T11:30:00Z", end: "2026-12-11T11:30:00Z", hours: 192, instances: 2, upfrontUsd: 9500.5, currency: "USD" },
      { id: "cb-2", az: "us-east-1b", start: "2026-12-10T11:30:00Z", end: "2026-12-18T11:30:00Z", hours: 192, instances: 2, upfrontUsd: 9000, currency: "USD" },
    ]);
    expect(seen[0]?.input).toEqual({ InstanceType: "p5.48xlarge", InstanceCount: 2, CapacityDurationHours: 192 });
  });
});

describeWithMoto("plan --live's price for the stack's node", (moto) => {
  const client = (): EC2Client => new EC2Client({ region: "us-east-1", endpoint: moto().endpoint, credentials });
  const node = { instanceType: "p5.48xlarge", count: 2, hourlyUsd: 28 } as const;

  it("spot: the highest of the region's quotes, as judgedSpotPrice picks it from what moto quotes", async () => {
    const quotes = await spotQuotes(client(), "p5.48xlarge", "us-east-1", now);
    const r = await askNodePrice(() => client(), { node: { ...node, market: "spot" }, region: "us-east-1", bookingHours: 192, now });
    expect(r).toEqual({ price: judgedSpotPrice({ quotes, typedUsd: 28, region: "us-east-1", askedAt: now }), notes: [] });
    // replacement subnets alone do not pin the first node: it may still land in any AZ
    const alone = await askNodePrice(() => client(), { node: { ...node, market: "spot" }, replacementSubnets: ["subnet-0123456789abcdef0"], region: "us-east-1", bookingHours: 192, now });
    expect(alone.price).toMatchObject({ rule: "any" });
  });

  it("spot with subnets: the AZs of the node's subnet and of the replacements' are the ones judged", async () => {
    const subnets = (await client().send(new DescribeSubnetsCommand({}))).Subnets ?? [];
    const [a, b] = [subnets[1], subnets[2]];
    const r = await askNodePrice(() => client(), { node: { ...node, market: "spot", subnetId: a?.SubnetId as string }, replacementSubnets: [b?.SubnetId as string], region: "us-east-1", bookingHours: 192, now });
    expect(r.price).toMatchObject({ source: "live", rule: "subnets", zones: [a?.AvailabilityZone, b?.AvailabilityZone].sort() });
  });

  // Injected: moto has no DescribeCapacityBlockOfferings.
  it("capacity-block: the typed price stays judged, with what a block costs now beside it", async () => {
    const seen: { command: string; input: Record<string, unknown> }[] = [];
    const offering = { CapacityBlockOfferingId: "cb-1", AvailabilityZone: "us-east-1a", InstanceCount: 2, StartDate: new Date("2026-12-03T11:30:00Z"), EndDate: new Date("2026-12-11T11:30:00Z"), CapacityBlockDurationHours: 192, UpfrontFee: "12902.40", CurrencyCode: "USD" };
    const ec2 = injected(client(), new Map([[DescribeCapacityBlockOfferingsCommand, () => ({ CapacityBlockOfferings: [offering, { ...offering, CapacityBlockOfferingId: "cb-2", UpfrontFee: "13000" }] })]]), seen);
    const r = await askNodePrice(() => ec2, { node: { ...node, market: "capacity-block" }, region: "us-east-1", bookingHours: 170, now });
    expect(r.price).toBeUndefined();
    expect(r.notes).toEqual(["a Capacity Block's price is fixed when it is bought: the spend gates judge the typed node.hourlyUsd; on sale now for 2 × p5.48xlarge, 192 h: 2, the cheapest $12,902.40 upfront ($33.60/node-h) in us-east-1a from 2026-12-03T11:30:00Z"]);
    expect(seen[0]?.input).toEqual({ InstanceType: "p5.48xlarge", InstanceCount: 2, CapacityDurationHours: 192 });
  });

  it("on-demand: no call, the typed price, and why", async () => {
    const r = await askNodePrice(() => failing(new Error("no call expected")), { node: { ...node, market: "on-demand" }, region: "us-east-1", bookingHours: 192, now });
    expect(r).toEqual({ notes: ["on-demand has no live quote here (the Price List API is another service): the spend gates judge the typed node.hourlyUsd"] });
  });
});

// Injected errors: moto_server checks no credentials or permissions; these are the errors the SDK
// raises for them against AWS (names as in the EC2 API's error codes).
describe("an AWS failure is one line that names the call and the fix", () => {
  it.each([
    ["no credentials", Object.assign(new Error("Could not load credentials from any providers"), { name: "CredentialsProviderError" }), "no AWS credentials: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (windtunnel only reads prices)"],
    ["access denied (EC2 says UnauthorizedOperation)", ec2Error("UnauthorizedOperation", "You are not authorized to perform this operation.", 403), "access denied: the credentials need ec2:DescribeSpotPriceHistory (UnauthorizedOperation)"],
    ["bad keys", ec2Error("AuthFailure", "AWS was not able to validate the provided access credentials", 401), "AWS refused the credentials (AuthFailure: AWS was not able to validate the provided access credentials)"],
    ["expired keys", ec2Error("RequestExpired", "Request has expired.", 400), "the credentials have expired (RequestExpired); refresh them (aws sso login, or new keys)"],
    ["an instance type AWS does not know", ec2Error("InvalidParameterValue", "The value 'p9.nope' for parameter InstanceTypes is invalid.\nmore detail", 400), "InvalidParameterValue: The value 'p9.nope' for parameter InstanceTypes is invalid."],
    ["no network", Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" }), "could not reach EC2 (ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:1)"],
  ])("%s", async (_n, err, line) => {
    await expect(spotQuotes(failing(err), "p5.48xlarge", "us-east-1", now)).rejects.toThrow(new UsageError(`DescribeSpotPriceHistory (p5.48xlarge, us-east-1): ${line}`));
  });

  it("anything else is windtunnel's bug, not the user's: it is not reworded", async () => {
    const bug = new TypeError("x is not a function");
    expect(awsFailure(bug, "ec2:DescribeSpotPriceHistory")).toBeUndefined();
    await expect(spotQuotes(failing(bug), "p5.48xlarge", "us-east-1", now)).rejects.toBe(bug);
  });
});
