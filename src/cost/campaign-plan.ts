// The campaign plan: what you intend to book. The same schema is read from a YAML file by
// `windtunnel gate --phase spend` and (later) from the Pulumi stack's config.
import "../common/zod-setup.ts";
import * as z from "zod/mini";
import { described, lazy } from "../evidence/schemas.ts";

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

/** What the plan costs if it runs to the end: sanity day plus final run, every node. */
export function forecastUsd(plan: CampaignPlan): number {
  return plan.node_hourly_usd * plan.nodes * (plan.hours + plan.sanity_hours);
}
