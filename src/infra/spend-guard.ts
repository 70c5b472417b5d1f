// SpendGuard: an AWS Budget on the campaign's tag that warns at 50/80/100% of the budget, actual
// and forecast, through an SNS topic with the lead's e-mail subscribed. Budgets refresh only a few
// times a day, so this is the slow alarm; the node's own timer and the watchdog are the fast ones.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { budgetTopicPolicy } from "./policies.ts";
import { budgetTagFilter } from "../campaign/layout.ts";

export interface SpendGuardArgs {
  campaign: string;
  budgetUsd: number;
  alertEmail: string;
  tags: Record<string, string>;
  /**
   * Percentages of the budget that notify, each for actual and forecast spend.
   * @default [50, 80, 100]
   */
  thresholds?: number[];
}

export const SPEND_GUARD = "windtunnel:infra:SpendGuard";
export const NOTIFICATION_TYPES = ["ACTUAL", "FORECASTED"] as const;

export class SpendGuard extends pulumi.ComponentResource {
  public readonly topic: aws.sns.Topic;
  public readonly topicArn: pulumi.Output<string>;
  public readonly budget: aws.budgets.Budget;

  constructor(name: string, args: SpendGuardArgs, opts?: pulumi.ComponentResourceOptions) {
    super(SPEND_GUARD, name, {}, opts);
    const child = { parent: this };
    this.topic = new aws.sns.Topic(`${name}-alerts`, { namePrefix: `wt-${args.campaign}-alerts-`, tags: args.tags }, child);
    const account = aws.getCallerIdentityOutput({}, child).accountId;
    new aws.sns.TopicPolicy(`${name}-alerts-policy`, { arn: this.topic.arn, policy: pulumi.all([this.topic.arn, account]).apply(([arn, id]) => JSON.stringify(budgetTopicPolicy(arn, id))) }, child);
    new aws.sns.TopicSubscription(`${name}-alerts-email`, { topic: this.topic.arn, protocol: "email", endpoint: args.alertEmail }, child);
    const thresholds = args.thresholds ?? [50, 80, 100];
    this.budget = new aws.budgets.Budget(`${name}-budget`, {
      name: `windtunnel-${args.campaign}`,
      budgetType: "COST",
      limitAmount: args.budgetUsd.toFixed(2),
      limitUnit: "USD",
      // A campaign is days to weeks; a yearly period never resets mid-run, and the tag filter
      // keeps costs from before the campaign out.
      timeUnit: "ANNUALLY",
      costFilters: [{ name: "TagKeyValue", values: [budgetTagFilter(args.campaign)] }],
      notifications: NOTIFICATION_TYPES.flatMap((notificationType) =>
        thresholds.map((threshold) => ({ comparisonOperator: "GREATER_THAN", threshold, thresholdType: "PERCENTAGE", notificationType, subscriberSnsTopicArns: [this.topic.arn] })),
      ),
      tags: args.tags,
    }, child);
    this.topicArn = this.topic.arn;
    this.registerOutputs({ topicArn: this.topicArn, budgetName: this.budget.name });
  }
}
