// What AWS quotes now for a node (issue 17): the spot price in every AZ of a region
// (DescribeSpotPriceHistory), how likely a spot request of that size is to succeed where the API
// answers (GetSpotPlacementScores), the Capacity Block offerings (DescribeCapacityBlockOfferings)
// and a subnet's AZ. The one shell over the EC2 SDK that `cost --live` and `plan --live` share;
// choosing the price to judge is the core's (cost/live-price.ts). Every AWS failure becomes one
// line that says what to do (exit 2), never a stack trace.
import {
  DescribeCapacityBlockOfferingsCommand,
  DescribeSpotPriceHistoryCommand,
  DescribeSubnetsCommand,
  EC2Client,
  GetSpotPlacementScoresCommand,
  type _InstanceType,
} from "@aws-sdk/client-ec2";
import { assertNever, UsageError } from "../common/errors.ts";
import { usd } from "../common/format.ts";
import { CAPACITY_BLOCK_MAX_HOURS, capacityBlockHours, isoTime, judgedSpotPrice, latestPerAz, perNodeHourUsd, type CapacityBlockOffering, type JudgedPrice, type PlacementScore, type SpotQuote } from "../cost/live-price.ts";
import type { NodeConfig } from "./config.ts";

/** The part of the EC2 client used here: tests pass a stand-in where moto_server lacks an API. */
export type Ec2Api = Pick<EC2Client, "send">;

/** One client per region; `endpoint` points them all elsewhere (moto_server, a VPC endpoint). */
export function ec2Clients(endpoint?: string): (region: string) => Ec2Api {
  const clients = new Map<string, Ec2Api>();
  return (region) => {
    let c = clients.get(region);
    if (c === undefined) clients.set(region, (c = new EC2Client({ region, ...(endpoint !== undefined ? { endpoint } : {}) })));
    return c;
  };
}

/** Pages of a paginated EC2 call, with a bound: a service that always returns a token must not spin forever. */
async function allPages<T>(page: (token: string | undefined) => Promise<{ items: T[]; next?: string | undefined }>): Promise<T[]> {
  const out: T[] = [];
  let token: string | undefined;
  for (let i = 0; i < 50; i++) {
    const r = await page(token);
    out.push(...r.items);
    if (!r.next) break;
    token = r.next;
  }
  return out;
}

/**
 * The price in effect now in each AZ of `region` that sells `instanceType` on spot, Linux.
 * StartTime = EndTime = now returns, per AZ, the last price change at or before now (AWS: "the
 * effective price as of the start time").
 */
export async function spotQuotes(ec2: Ec2Api, instanceType: string, region: string, now: Date): Promise<SpotQuote[]> {
  const rows = await call(`DescribeSpotPriceHistory (${instanceType}, ${region})`, "ec2:DescribeSpotPriceHistory", () =>
    allPages(async (NextToken) => {
      const r = await ec2.send(new DescribeSpotPriceHistoryCommand({ InstanceTypes: [instanceType as _InstanceType], ProductDescriptions: ["Linux/UNIX"], StartTime: now, EndTime: now, ...(NextToken ? { NextToken } : {}) }));
      return { items: r.SpotPriceHistory ?? [], next: r.NextToken };
    }),
  );
  const quotes: SpotQuote[] = [];
  for (const h of rows) {
    const usd = Number(h.SpotPrice);
    // "Linux/UNIX", or "Linux/UNIX (Amazon VPC)" as older accounts (and moto) report it
    if (h.InstanceType !== instanceType || !h.ProductDescription?.startsWith("Linux/UNIX") || !h.AvailabilityZone || !h.Timestamp || !Number.isFinite(usd)) continue;
    quotes.push({ az: h.AvailabilityZone, usd, at: isoTime(h.Timestamp) });
  }
  return latestPerAz(quotes);
}

/** Scores per AZ (SingleAvailabilityZone) for `nodes` instances, in each of `regions`; asked once, in the first. */
export async function placementScores(ec2: Ec2Api, instanceType: string, regions: readonly string[], nodes: number): Promise<PlacementScore[]> {
  const rows = await call(`GetSpotPlacementScores (${instanceType}, ${regions.join(", ")})`, "ec2:GetSpotPlacementScores", () =>
    allPages(async (NextToken) => {
      const r = await ec2.send(new GetSpotPlacementScoresCommand({ InstanceTypes: [instanceType], TargetCapacity: nodes, TargetCapacityUnitType: "units", SingleAvailabilityZone: true, RegionNames: [...regions], MaxResults: 100, ...(NextToken ? { NextToken } : {}) }));
      return { items: r.SpotPlacementScores ?? [], next: r.NextToken };
    }),
  );
  return rows
    .filter((s) => s.Region !== undefined && s.Score !== undefined)
    .map((s) => ({ region: s.Region as string, ...(s.AvailabilityZoneId ? { azId: s.AvailabilityZoneId } : {}), score: s.Score as number }))
    .sort((a, b) => a.region.localeCompare(b.region) || (a.azId ?? "").localeCompare(b.azId ?? ""));
}

/** The blocks of `nodes` × `instanceType` for `hours` on sale in `region`, by start date. */
export async function capacityBlockOfferings(ec2: Ec2Api, instanceType: string, nodes: number, hours: number, region: string): Promise<CapacityBlockOffering[]> {
  const rows = await call(`DescribeCapacityBlockOfferings (${nodes} × ${instanceType}, ${hours} h, ${region})`, "ec2:DescribeCapacityBlockOfferings", () =>
    allPages(async (NextToken) => {
      const r = await ec2.send(new DescribeCapacityBlockOfferingsCommand({ InstanceType: instanceType as _InstanceType, InstanceCount: nodes, CapacityDurationHours: hours, ...(NextToken ? { NextToken } : {}) }));
      return { items: r.CapacityBlockOfferings ?? [], next: r.NextToken };
    }),
  );
  return rows
    .filter((o) => o.CapacityBlockOfferingId && o.AvailabilityZone && o.StartDate && o.EndDate && Number.isFinite(Number(o.UpfrontFee)))
    .map((o) => ({
      id: o.CapacityBlockOfferingId as string,
      az: o.AvailabilityZone as string,
      start: isoTime(o.StartDate as Date),
      end: isoTime(o.EndDate as Date),
      hours: o.CapacityBlockDurationHours ?? hours,
      instances: o.InstanceCount ?? nodes,
      upfrontUsd: Number(o.UpfrontFee),
      currency: o.CurrencyCode ?? "USD",
    }))
    .sort((a, b) => a.start.localeCompare(b.start) || a.az.localeCompare(b.az));
}

/** The AZs the subnets are in, each once, in the order given: a stack's subnets pin its nodes there. */
export async function subnetAzs(ec2: Ec2Api, subnets: readonly string[], region: string): Promise<string[]> {
  const subnetIds = [...new Set(subnets)];
  const what = `DescribeSubnets (${subnetIds.join(", ")}, ${region})`;
  const r = await call(what, "ec2:DescribeSubnets", () => ec2.send(new DescribeSubnetsCommand({ SubnetIds: subnetIds })));
  const azOf = new Map((r.Subnets ?? []).map((s) => [s.SubnetId, s.AvailabilityZone]));
  const unknown = subnetIds.filter((id) => azOf.get(id) === undefined);
  if (unknown.length > 0) throw new UsageError(`${what}: AWS returned no AZ for ${unknown.join(", ")}`);
  return [...new Set(subnetIds.map((id) => azOf.get(id) as string))];
}

/** Run one AWS call; an AWS failure becomes one line naming the call, what went wrong and the fix. */
async function call<T>(what: string, action: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    const line = awsFailure(err, action);
    if (line === undefined) throw err;
    throw new UsageError(`${what}: ${line}`, { cause: err });
  }
}

const firstLine = (s: string): string => s.split("\n")[0]?.trim() ?? "";
const ACCESS_DENIED = new Set(["UnauthorizedOperation", "AccessDenied", "AccessDeniedException", "UnauthorizedAccess"]);
const NETWORK = new Set(["ECONNREFUSED", "ENOTFOUND", "ECONNRESET", "ETIMEDOUT", "EAI_AGAIN", "EHOSTUNREACH"]);

/** What an AWS SDK failure means for the user, in one line; undefined for anything else (a bug). */
export function awsFailure(err: unknown, action: string): string | undefined {
  if (!(err instanceof Error)) return undefined;
  const e = err as Error & { code?: string; $metadata?: { httpStatusCode?: number } };
  if (e.name === "CredentialsProviderError" || /could not load credentials/i.test(e.message)) return "no AWS credentials: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (windtunnel only reads prices)";
  if (e.name === "AuthFailure" || e.name === "InvalidClientTokenId" || e.name === "SignatureDoesNotMatch") return `AWS refused the credentials (${e.name}: ${firstLine(e.message)})`;
  if (e.name === "ExpiredToken" || e.name === "RequestExpired") return `the credentials have expired (${e.name}); refresh them (aws sso login, or new keys)`;
  if (ACCESS_DENIED.has(e.name)) return `access denied: the credentials need ${action} (${e.name})`;
  if ((e.code !== undefined && NETWORK.has(e.code)) || e.name === "TimeoutError") return `could not reach EC2 (${e.code ?? e.name}: ${firstLine(e.message)})`;
  const status = e.$metadata?.httpStatusCode;
  if (status === undefined) return undefined;
  // An answer the SDK could not read as EC2's (an HTML error page, a service that lacks the API).
  if (/deserialization error|XML parse error/i.test(e.message)) return `EC2 answered HTTP ${status}, not an EC2 response (does the endpoint support this API?)`;
  return `${e.name}: ${firstLine(e.message)}`;
}

/** Where an optional API did not answer, why (the rest of the report stands). */
export type Unavailable = { unavailable: string };

export interface LiveReport {
  asked_at: string;
  instance_type: string;
  nodes: number;
  regions: { region: string; spot: SpotQuote[]; capacity_blocks: { hours: number; offerings: CapacityBlockOffering[] } | Unavailable }[];
  placement_scores: PlacementScore[] | Unavailable;
}

/** An optional call: its answer, or why there is none. Only AWS failures are caught (call's UsageError). */
async function optional<T>(f: () => Promise<T>): Promise<T | Unavailable> {
  try {
    return await f();
  } catch (err) {
    if (err instanceof UsageError) return { unavailable: err.message };
    throw err;
  }
}

/**
 * Everything `cost --live` shows for `nodes` × `instanceType` booked for `bookingHours`: spot
 * prices in each region (a failure there is the command's), placement scores and Capacity Block
 * offerings where the APIs answer.
 */
export async function askLivePrices(clientFor: (region: string) => Ec2Api, o: { instanceType: string; regions: readonly string[]; nodes: number; bookingHours: number; now: Date }): Promise<LiveReport> {
  const blockHours = capacityBlockHours(o.bookingHours);
  const regions: LiveReport["regions"] = [];
  for (const region of o.regions) {
    const ec2 = clientFor(region);
    const spot = await spotQuotes(ec2, o.instanceType, region, o.now);
    const capacity_blocks = blockHours === undefined
      ? { unavailable: `${o.bookingHours} h is longer than the longest Capacity Block (${CAPACITY_BLOCK_MAX_HOURS / 24} days)` }
      : await optional(async () => ({ hours: blockHours, offerings: await capacityBlockOfferings(ec2, o.instanceType, o.nodes, blockHours, region) }));
    regions.push({ region, spot, capacity_blocks });
  }
  if (regions.every((r) => r.spot.length === 0)) throw new UsageError(`DescribeSpotPriceHistory: AWS quotes no spot price for ${o.instanceType} in ${o.regions.join(", ")} (an instance type sold on spot there? e.g. p5.48xlarge)`);
  const first = o.regions[0] as string;
  return { asked_at: isoTime(o.now), instance_type: o.instanceType, nodes: o.nodes, regions, placement_scores: await optional(() => placementScores(clientFor(first), o.instanceType, o.regions, o.nodes)) };
}

/** What `plan --live` found for the stack's node: the price to judge (none: the typed one), and what else it says. */
export interface NodePrice {
  price?: JudgedPrice;
  notes: string[];
  capacity_blocks?: { hours: number; offerings: CapacityBlockOffering[] };
}

/**
 * The live price of the stack's node. Spot: the highest current quote of the AZs its subnets are
 * in (node.subnetId, and recovery.subnets where a replacement may go), else of every AZ of the
 * region (judgedSpotPrice says why). A Capacity Block's price was fixed when it
 * was bought, so the typed price stays judged and the offerings on sale now are shown beside it;
 * on-demand has no live quote here (the Price List API is another service).
 */
export async function askNodePrice(clientFor: (region: string) => Ec2Api, o: { node: Pick<NodeConfig, "instanceType" | "count" | "market" | "hourlyUsd" | "subnetId">; replacementSubnets?: readonly string[]; region: string; bookingHours: number; now: Date }): Promise<NodePrice> {
  const { instanceType, count, market, hourlyUsd } = o.node;
  const ec2 = clientFor(o.region);
  switch (market) {
    case "spot": {
      const quotes = await spotQuotes(ec2, instanceType, o.region, o.now);
      // Without node.subnetId the first node may land in any AZ, whatever the replacements' subnets.
      const subnets = o.node.subnetId === undefined ? [] : [o.node.subnetId, ...(o.replacementSubnets ?? [])];
      const zones = subnets.length > 0 ? await subnetAzs(ec2, subnets, o.region) : undefined;
      const judged = judgedSpotPrice({ quotes, typedUsd: hourlyUsd, region: o.region, askedAt: o.now, ...(zones !== undefined ? { zones } : {}) });
      if ("problem" in judged) throw new UsageError(`DescribeSpotPriceHistory (${instanceType}, ${o.region}): ${judged.problem} (is ${instanceType} sold on spot there?)`);
      return { price: judged, notes: [] };
    }
    case "capacity-block": {
      const typed = `a Capacity Block's price is fixed when it is bought: the spend gates judge the typed node.hourlyUsd`;
      const hours = capacityBlockHours(o.bookingHours);
      if (hours === undefined) return { notes: [`${typed}; ${o.bookingHours} h is longer than the longest block on sale (${CAPACITY_BLOCK_MAX_HOURS / 24} days)`] };
      const offerings = await capacityBlockOfferings(ec2, instanceType, count, hours, o.region);
      const cheapest = offerings.reduce<CapacityBlockOffering | undefined>((a, b) => (a === undefined || b.upfrontUsd < a.upfrontUsd ? b : a), undefined);
      const now = cheapest === undefined ? `none on sale now for ${count} × ${instanceType}, ${hours} h` : `on sale now for ${count} × ${instanceType}, ${hours} h: ${offerings.length}, the cheapest ${usd(cheapest.upfrontUsd)} upfront (${usd(perNodeHourUsd(cheapest))}/node-h) in ${cheapest.az} from ${cheapest.start}`;
      return { notes: [`${typed}; ${now}`], capacity_blocks: { hours, offerings } };
    }
    case "on-demand":
      return { notes: ["on-demand has no live quote here (the Price List API is another service): the spend gates judge the typed node.hourlyUsd"] };
    default:
      return assertNever(market);
  }
}
