// Tags on everything the stack creates: the budget filters cost by `windtunnel:campaign`, and the
// watchdog may terminate only instances that carry it.
export const CAMPAIGN_TAG = "windtunnel:campaign";

export function campaignTags(campaign: string, stage: string, extra: Record<string, string> = {}): Record<string, string> {
  return { [CAMPAIGN_TAG]: campaign, "windtunnel:stage": stage, "windtunnel:managed-by": "pulumi", ...extra };
}

/** The AWS Budgets cost filter value for a user-defined cost allocation tag. */
export function budgetTagFilter(campaign: string): string {
  return `user:${CAMPAIGN_TAG}$${campaign}`;
}
