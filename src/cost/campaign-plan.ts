// The campaign plan: what you intend to book. The same schema is read from a YAML file by
// `windtunnel gate --phase spend` and (later) from the Pulumi stack's config.
import "../common/zod-setup.ts";
import * as z from "zod/mini";
import { described, lazy } from "../evidence/schemas.ts";
import type { InterruptionPolicy } from "../policy/schema.ts";

export const MARKETS = ["spot", "on-demand", "capacity-block"] as const;

const positive = () => z.number().check(z.positive());
const count = () => z.int().check(z.positive());

export const campaignPlanSchema = lazy(() =>
  z.strictObject({
    instance_type: described(z.string().check(z.minLength(1)), "EC2 instance type, e.g. p5.48xlarge"),
    nodes: count(),
    gpus_per_node: z._default(count(), 8),
    market: z.enum(MARKETS),
    node_hourly_usd: described(positive(), "what one node costs per hour in this market"),
    hours: described(positive(), "hours of the final run"),
    sanity_hours: described(z._default(z.number().check(z.nonnegative()), 24), "the sanity day before the full run, on the same nodes"),
    budget_usd: positive(),
    hours_cap: described(positive(), "hard cap on node-hours of wall time, sanity day included"),
    max_price_usd: described(z.optional(positive()), "spot only: the per-node-hour price cap the spot request carries (AWS recommends none); the spend gates refuse one below node_hourly_usd"),
  }).check(
    z.refine((p) => p.market === "spot" || p.max_price_usd === undefined, { error: "max_price_usd is only for market spot", path: ["max_price_usd"] }),
  ).register(z.globalRegistry, { title: "windtunnel campaign plan" }),
);

export type CampaignPlan = z.infer<ReturnType<typeof campaignPlanSchema>>;

/** campaignPlanSchema's keys, in its order (the order its output has). */
const PLAN_KEYS = ["instance_type", "nodes", "gpus_per_node", "market", "node_hourly_usd", "hours", "sanity_hours", "budget_usd", "hours_cap", "max_price_usd"] as const;
const isPositive = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v) && v > 0;
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;

/**
 * The common plan, taken without building campaignPlanSchema: building it was the one use of zod
 * in a `gate --phase all` run, 2.2 ms of its start-up (issue 16). Only a plain object whose every
 * key is the schema's and of exactly the type and range the schema allows; anything else is
 * undefined, and campaignPlanSchema stays the only judge of what is rejected and says why. The
 * defaults are the schema's. A property test (test/cost/campaign-plan-fast-path.test.ts) checks
 * this never accepts what the schema rejects, and returns exactly the schema's output.
 */
export function plainCampaignPlan(o: unknown): CampaignPlan | undefined {
  if (o === null || typeof o !== "object" || Object.getPrototypeOf(o) !== Object.prototype) return undefined;
  const p = o as Record<string, unknown>;
  for (const k of Object.keys(p)) if (!(PLAN_KEYS as readonly string[]).includes(k) || p[k] === undefined) return undefined;
  const { instance_type, nodes, gpus_per_node = 8, market, node_hourly_usd, hours, sanity_hours = 24, budget_usd, hours_cap, max_price_usd } = p;
  const ok =
    typeof instance_type === "string" && instance_type.length >= 1 && isCount(nodes) && isCount(gpus_per_node) &&
    (MARKETS as readonly unknown[]).includes(market) && isPositive(node_hourly_usd) && isPositive(hours) &&
    typeof sanity_hours === "number" && Number.isFinite(sanity_hours) && sanity_hours >= 0 &&
    isPositive(budget_usd) && isPositive(hours_cap) && (max_price_usd === undefined || (isPositive(max_price_usd) && market === "spot"));
  if (!ok) return undefined;
  const plan: CampaignPlan = { instance_type, nodes, gpus_per_node, market: market as CampaignPlan["market"], node_hourly_usd, hours, sanity_hours, budget_usd, hours_cap };
  if (max_price_usd !== undefined) plan.max_price_usd = max_price_usd;
  return plan;
}

/** What the nodes cost if nothing is interrupted: sanity day plus final run, every node. */
export function nodeHoursUsd(plan: CampaignPlan): number {
  return plan.node_hourly_usd * plan.nodes * (plan.hours + plan.sanity_hours);
}

/** The expected spot restarts of a plan and what they cost (issue 17). */
export interface RestartCost {
  /** Expected interruptions over the plan's node-days (0 off spot). */
  restarts: number;
  /** What one restart costs in wall minutes: boot, image pull, checkpoint reload, half a checkpoint interval. */
  minutesEach: number;
  usd: number;
}

/**
 * Only spot is interrupted. Each node is lost at the policy's rate, independently, so the
 * expected restarts grow with node-days; a synchronous run then stalls on every node until the
 * replacement has booted, pulled the image and reloaded the checkpoint, and redoes the steps since
 * that checkpoint (half an interval on average), so one restart costs all nodes' time. The
 * minutes of the restarts themselves are not exposed to interruptions again (second order).
 */
/** A replacement's minutes before it trains again: boot, image pull, checkpoint reload (the watchdog charges these before a relaunch). */
export const restartOverhead = (i: InterruptionPolicy): number => i.boot_minutes + i.image_pull_minutes + i.checkpoint_reload_minutes;

export function restartCost(plan: CampaignPlan, i: InterruptionPolicy): RestartCost {
  if (plan.market !== "spot") return { restarts: 0, minutesEach: 0, usd: 0 };
  const restarts = i.per_node_day * plan.nodes * ((plan.hours + plan.sanity_hours) / 24);
  const minutesEach = restartOverhead(i) + i.checkpoint_every_minutes / 2;
  return { restarts, minutesEach, usd: restarts * (minutesEach / 60) * plan.nodes * plan.node_hourly_usd };
}
