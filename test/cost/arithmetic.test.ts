import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { seedReport } from "../../src/cost/arithmetic.ts";
import { ratesFromEnv } from "../../src/cost/rates.ts";
import { UsageError } from "../../src/common/errors.ts";
import { describeWithSharedFixtures } from "../helpers/shared.ts";

/** Every key of `want`, recursively, equals the same key of `got`. */
function expectContains(got: unknown, want: unknown, path = "$"): void {
  if (want !== null && typeof want === "object") {
    expect(got, path).toBeTypeOf("object");
    for (const [k, v] of Object.entries(want)) expectContains((got as Record<string, unknown>)[k], v, `${path}.${k}`);
  } else {
    expect(got, path).toBe(want);
  }
}

describe("the seed's arithmetic", () => {
  it("reproduces the numbers the article prints (defaults)", () => {
    const r = seedReport(ratesFromEnv({}));
    expect(r.campaign_100_iters_usd).toEqual({ spark_electricity_only: 0.08, spark_total_cost_of_use: 1.01, h100_single_proxy: 6.11, h100_8gpu_node_proxy: 48.89, h100_8gpu_node_target_scale: 2933.33 });
    expect(r.expected_value_argument).toEqual({ wrong_pick_rate: 0.5, expected_loss_from_blind_booking_usd: 1680, spark_recipe_search_cost_usd: 1.01, expected_savings_per_campaign_usd: 1678.99, ratio_savings_to_spark_cost: 1669.3 });
    expect(Object.keys(r)).toEqual(["rates", "per_iter_usd", "campaign_100_iters_usd", "final_pretrain_usd", "expected_value_argument", "ratios"]);
  });

  it("takes the wrong-pick rate as a parameter (the seed hard-codes 0.5)", () => {
    const r = seedReport(ratesFromEnv({}), 0.2);
    expect(r.expected_value_argument.expected_loss_from_blind_booking_usd).toBe(672);
    expect(r.expected_value_argument.expected_savings_per_campaign_usd).toBe(670.99);
  });

  it("answers null for a ratio whose denominator is zero instead of dividing by it", () => {
    const r = seedReport(ratesFromEnv({ SPARK_KW: "0", SPARK_CAPEX_USD: "0" }));
    expect(r.ratios.h100_single_vs_spark_electricity).toBeNull();
    expect(r.expected_value_argument.ratio_savings_to_spark_cost).toBeNull();
  });

  it.each([
    [{ H100_HOURLY_USD: "abc" }, /H100_HOURLY_USD: expected a non-negative number, got "abc"/],
    [{ KWH_USD: "-0.13" }, /KWH_USD: .*negative/],
    [{ ITER_SECONDS: "88.5" }, /ITER_SECONDS: expected a non-negative whole number/],
    [{ SPARK_LIFE_YEARS: "0" }, /SPARK_LIFE_YEARS: expected a positive number, got "0"/],
    [{ H200_HOURLY_USD: "inf" }, /H200_HOURLY_USD/],
    [{ H100_HOURLY_USD: "nan", FINAL_NODE_HOURS: "-1" }, /H100_HOURLY_USD[\s\S]*FINAL_NODE_HOURS/],
  ])("rejects %j", (env, message) => {
    expect(() => ratesFromEnv(env)).toThrow(UsageError);
    expect(() => ratesFromEnv(env)).toThrow(message);
  });

  it("accepts the spellings Python's float() and int() accept for ordinary numbers", () => {
    expect(ratesFromEnv({ H100_HOURLY_USD: " 3.50 ", FINAL_NODE_HOURS: "+504", KWH_USD: "1.3e-1" })).toMatchObject({ h100_hourly_usd: 3.5, final_node_hours: 504, kwh_usd: 0.13 });
  });
});

describeWithSharedFixtures("the seed's recorded outputs", (dir) => {
  const load = (name: string): unknown => JSON.parse(readFileSync(join(dir, "cost", name), "utf8"));

  it("defaults equal spot-1wk.json on every key", () => {
    expectContains(seedReport(ratesFromEnv({})), load("spot-1wk.json"));
  });

  it("H100_HOURLY_USD=3.50 FINAL_NODE_HOURS=504 equals ondemand-3wk.json on every key", () => {
    expectContains(seedReport(ratesFromEnv({ H100_HOURLY_USD: "3.50", FINAL_NODE_HOURS: "504" })), load("ondemand-3wk.json"));
  });
});
