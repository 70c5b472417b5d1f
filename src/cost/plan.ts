// The campaign plan: what you intend to book. The same schema is read from a YAML file by
// `windtunnel gate --phase spend` and (later) from the Pulumi stack's config.
import * as z from "zod";

export const MARKETS = ["spot", "on-demand", "capacity-block"] as const;

export const CampaignPlanSchema = z
  .strictObject({
    instance_type: z.string().min(1).describe("EC2 instance type, e.g. p5.48xlarge"),
    nodes: z.int().positive(),
    gpus_per_node: z.int().positive().default(8),
    market: z.enum(MARKETS),
    node_hourly_usd: z.number().positive().describe("what one node costs per hour in this market"),
    hours: z.number().positive().describe("hours of the final run"),
    sanity_hours: z.number().nonnegative().default(24).describe("the sanity day before the full run, on the same nodes"),
    budget_usd: z.number().positive(),
    hours_cap: z.number().positive().describe("hard cap on node-hours of wall time, sanity day included"),
  })
  .meta({ title: "windtunnel campaign plan" });

export type CampaignPlan = z.infer<typeof CampaignPlanSchema>;

/** What the plan costs if it runs to the end: sanity day plus final run, every node. */
export function forecastUsd(plan: CampaignPlan): number {
  return plan.node_hourly_usd * plan.nodes * (plan.hours + plan.sanity_hours);
}
