import { describe, expect, it } from "vitest";
import { capacityBlockHours, judgedSpotPrice, latestPerAz, perNodeHourUsd, priceWords, type JudgedPrice, type SpotQuote } from "../../src/cost/live-price.ts";

const q = (az: string, usd: number, at: string): SpotQuote => ({ az, usd, at });
const askedAt = new Date("2026-12-01T10:00:00.000Z");

describe("latestPerAz", () => {
  it("keeps each AZ's latest quote, sorted by AZ", () => {
    expect(latestPerAz([q("us-east-1b", 30, "2026-11-30T00:00:00Z"), q("us-east-1a", 25, "2026-11-01T00:00:00Z"), q("us-east-1b", 31.5, "2026-12-01T09:00:00Z"), q("us-east-1b", 29, "2026-11-15T00:00:00Z")])).toEqual([
      q("us-east-1a", 25, "2026-11-01T00:00:00Z"),
      q("us-east-1b", 31.5, "2026-12-01T09:00:00Z"),
    ]);
  });
});

describe("judgedSpotPrice", () => {
  const quotes = [q("us-east-1c", 27.2, "2026-11-20T00:00:00Z"), q("us-east-1a", 26.57, "2026-11-21T00:00:00Z"), q("us-east-1b", 31.46, "2026-12-01T09:00:00Z"), q("us-east-1b", 20, "2026-10-01T00:00:00Z")];

  it.each([
    ["no subnet: the highest current price of every AZ (the launch cannot choose the cheap one)", undefined, { hourly_usd: 31.46, az: "us-east-1b", at: "2026-12-01T09:00:00Z", rule: "any", zones: ["us-east-1a", "us-east-1b", "us-east-1c"] }],
    ["no subnet listed is no subnet", [], { hourly_usd: 31.46, az: "us-east-1b", rule: "any" }],
    ["one subnet: its AZ's price, though another AZ is dearer", ["us-east-1a"], { hourly_usd: 26.57, az: "us-east-1a", rule: "subnets", zones: ["us-east-1a"] }],
    ["the node's and the replacements' subnets: the highest of their AZs", ["us-east-1a", "us-east-1c"], { hourly_usd: 27.2, az: "us-east-1c", rule: "subnets", zones: ["us-east-1a", "us-east-1c"] }],
  ])("%s", (_n, zones, expected) => {
    expect(judgedSpotPrice({ quotes, typedUsd: 28, region: "us-east-1", askedAt, ...(zones ? { zones } : {}) })).toMatchObject({ source: "live", market: "spot", typed_usd: 28, region: "us-east-1", asked_at: "2026-12-01T10:00:00Z", ...expected });
  });

  it("a tie goes to the first AZ by name, whatever order AWS answers in", () => {
    expect(judgedSpotPrice({ quotes: [q("b", 1, "2026-01-01T00:00:00Z"), q("a", 1, "2026-01-01T00:00:00Z")], typedUsd: 1, region: "r", askedAt })).toMatchObject({ az: "a" });
  });

  it.each([
    ["nothing quoted", [], undefined, "AWS quotes no spot price in us-east-1"],
    ["nothing in a subnet's AZ (a budget judged without it would not hold there)", quotes, ["us-east-1a", "us-east-1f"], "AWS quotes no spot price in us-east-1f (the AZ of a configured subnet), only in us-east-1a, us-east-1b, us-east-1c"],
  ])("a problem, not a price, when there is %s", (_n, qs, zones, problem) => {
    expect(judgedSpotPrice({ quotes: qs, typedUsd: 28, region: "us-east-1", askedAt, ...(zones ? { zones } : {}) })).toEqual({ problem });
  });
});

describe("priceWords", () => {
  const live = { source: "live", market: "spot", hourly_usd: 31.46, typed_usd: 28, region: "us-east-1", az: "us-east-1b", at: "2026-12-01T09:00:00Z", asked_at: "2026-12-01T10:00:00Z" } as const;
  it.each<[JudgedPrice, string]>([
    [{ source: "typed", hourly_usd: 28 }, "$28/h"],
    [{ ...live, rule: "any", zones: ["a", "b"] }, "$31.46/h (live spot price in us-east-1b since 2026-12-01T09:00:00Z, the highest of 2 AZs; typed $28/h)"],
    [{ ...live, rule: "any", zones: ["a"] }, "$31.46/h (live spot price in us-east-1b since 2026-12-01T09:00:00Z, the only AZ quoting it; typed $28/h)"],
    [{ ...live, rule: "subnets", zones: ["us-east-1b"] }, "$31.46/h (live spot price in us-east-1b since 2026-12-01T09:00:00Z, the subnet's AZ; typed $28/h)"],
    [{ ...live, rule: "subnets", zones: ["us-east-1a", "us-east-1b"] }, "$31.46/h (live spot price in us-east-1b since 2026-12-01T09:00:00Z, the highest of its subnets' 2 AZs; typed $28/h)"],
  ])("%j", (p, words) => {
    expect(priceWords(p)).toBe(words);
  });
});

describe("perNodeHourUsd", () => {
  it("spreads a capacity block's upfront fee over its node-hours", () => {
    expect(perNodeHourUsd({ id: "cb-1", az: "us-east-2a", start: "", end: "", hours: 24, instances: 2, upfrontUsd: 1500, currency: "USD" })).toBe(31.25);
  });
});

describe("capacityBlockHours", () => {
  it.each([
    [1, 24],
    [24, 24],
    [192, 192],
    [336, 336],
    [337, 504],
    [528, 672],
    [4368, 4368],
    [4369, undefined],
  ])("%d h of booking → a %s h block", (hours, block) => {
    expect(capacityBlockHours(hours)).toBe(block);
  });
});
