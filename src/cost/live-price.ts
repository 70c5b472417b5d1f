// The price the spend gates judge: the plan's typed node_hourly_usd, or the spot price AWS quotes
// now (`windtunnel plan --live`, issue 17), recorded in the verdict with where and since when it
// holds. Pure: the AWS calls are the shell's (infra/live-prices.ts); this picks and words.
import { usd } from "../common/format.ts";

/** One AZ's spot price for an instance type, and since when it is in effect. */
export interface SpotQuote {
  az: string;
  usd: number;
  /** ISO time of the price change AWS reports. */
  at: string;
}

/** GetSpotPlacementScores: 1 (unlikely) to 10 (very likely) that a request of this size succeeds. */
export interface PlacementScore {
  region: string;
  /** An AZ id (use1-az4), not a name: ids are the same in every account. */
  azId?: string;
  score: number;
}

export interface CapacityBlockOffering {
  id: string;
  az: string;
  start: string;
  end: string;
  hours: number;
  instances: number;
  upfrontUsd: number;
  currency: string;
}

export type JudgedPrice =
  | { source: "typed"; hourly_usd: number }
  | {
      source: "live";
      market: "spot";
      hourly_usd: number;
      /** What the plan typed (node_hourly_usd, the stack's node.hourlyUsd). */
      typed_usd: number;
      region: string;
      az: string;
      /** Since when AWS says this price holds. */
      at: string;
      asked_at: string;
      /** "subnets": the AZs of the stack's subnets (the node's, and the replacements'); "any": EC2 may place it in any AZ quoting the type. */
      rule: "subnets" | "any";
      /** The AZs the highest quote was taken over. */
      zones: string[];
    };

/** A time as a person reads it in a verdict: ISO to the second (AWS quotes prices to the second). */
export const isoTime = (t: Date): string => t.toISOString().replace(/\.\d{3}Z$/, "Z");

/** The price in effect in each AZ: its latest quote, by AZ name. */
export function latestPerAz(quotes: readonly SpotQuote[]): SpotQuote[] {
  const latest = new Map<string, SpotQuote>();
  for (const q of quotes) {
    const seen = latest.get(q.az);
    if (seen === undefined || Date.parse(q.at) > Date.parse(seen.at)) latest.set(q.az, q);
  }
  return [...latest.values()].sort((a, b) => a.az.localeCompare(b.az));
}

/**
 * The spot price a budget gate judges: the highest current quote of the AZs the node may run in.
 * The stack's subnets name them (a subnet is in one AZ; a replacement after an interruption may
 * go to any of windtunnel:recovery.subnets); without a subnet EC2 places the node in any AZ of
 * the default VPC, so every AZ quoting the type counts. The budget must hold wherever the node
 * lands, and the cheapest AZ's price is one the launch cannot choose. Ties go to the first AZ by
 * name.
 */
export function judgedSpotPrice(o: { quotes: readonly SpotQuote[]; typedUsd: number; region: string; zones?: readonly string[]; askedAt: Date }): JudgedPrice | { problem: string } {
  const latest = latestPerAz(o.quotes);
  const zones = o.zones !== undefined && o.zones.length > 0 ? o.zones : undefined;
  const candidates = zones === undefined ? latest : latest.filter((q) => zones.includes(q.az));
  if (latest.length === 0) return { problem: `AWS quotes no spot price in ${o.region}` };
  const missing = (zones ?? []).filter((z) => !latest.some((q) => q.az === z));
  if (missing.length > 0) return { problem: `AWS quotes no spot price in ${missing.join(", ")} (the AZ of a configured subnet), only in ${latest.map((q) => q.az).join(", ")}` };
  const top = candidates.reduce((a, b) => (b.usd > a.usd ? b : a));
  return {
    source: "live",
    market: "spot",
    hourly_usd: top.usd,
    typed_usd: o.typedUsd,
    region: o.region,
    az: top.az,
    at: top.at,
    asked_at: isoTime(o.askedAt),
    rule: zones === undefined ? "any" : "subnets",
    zones: candidates.map((q) => q.az),
  };
}

/** "$31.46/h (live spot price in us-east-1b since 2026-12-01T09:00:00Z, the highest of 6 AZs; typed $28/h)". */
export function priceWords(p: JudgedPrice): string {
  if (p.source === "typed") return `${usd(p.hourly_usd)}/h`;
  const where = p.rule === "subnets" ? (p.zones.length === 1 ? "the subnet's AZ" : `the highest of its subnets' ${p.zones.length} AZs`) : p.zones.length === 1 ? "the only AZ quoting it" : `the highest of ${p.zones.length} AZs`;
  return `${usd(p.hourly_usd)}/h (live spot price in ${p.az} since ${p.at}, ${where}; typed ${usd(p.typed_usd)}/h)`;
}

/** An offering's upfront fee per node-hour, to set beside the other markets' hourly prices. */
export const perNodeHourUsd = (o: CapacityBlockOffering): number => o.upfrontUsd / (o.hours * o.instances);

/** The one thing about a Capacity Block no gate can undo: `cost --live` and `plan` say it. */
export const CAPACITY_BLOCK_WARNING = "A Capacity Block is paid upfront, when it is purchased: neither pulumi destroy nor a watchdog teardown refunds it.";

/** Capacity Blocks are sold in 1-day steps up to 14 days, then 7-day steps up to 182 (AWS, EC2 Capacity Blocks for ML). */
export const CAPACITY_BLOCK_MAX_HOURS = 182 * 24;

/** The shortest Capacity Block that covers `hours`, or undefined past the longest one sold. */
export function capacityBlockHours(hours: number): number | undefined {
  const step = hours <= 14 * 24 ? 24 : 7 * 24;
  const block = Math.max(24, Math.ceil(hours / step) * step);
  return block <= CAPACITY_BLOCK_MAX_HOURS ? block : undefined;
}
