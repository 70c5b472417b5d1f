// IAM and resource policy documents, as pure functions of plain strings, so each is tested on its
// own and the components only wire Outputs into them. Least privilege: the node writes its own
// campaign prefix and reads its own image; nothing else.
import { CAMPAIGN_TAG, campaignPrefix, watchdogRoot } from "../campaign/layout.ts";

export interface PolicyDocument {
  Version: "2012-10-17";
  Statement: Statement[];
}

export interface Statement {
  Sid: string;
  Effect: "Allow" | "Deny";
  Principal?: "*" | { Service: string } | { AWS: string };
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

const doc = (...Statement: Statement[]): PolicyDocument => ({ Version: "2012-10-17", Statement });

// An assume-role policy has no Resource element; IAM rejects one that does.
export function trustPolicy(service: string): { Version: "2012-10-17"; Statement: { Effect: "Allow"; Principal: { Service: string }; Action: "sts:AssumeRole" }[] } {
  return { Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: service }, Action: "sts:AssumeRole" }] };
}

/** Refuse plain HTTP and TLS older than 1.2 for every request to the bucket. */
export function tlsOnlyBucketPolicy(bucketArn: string): PolicyDocument {
  const resources = [bucketArn, `${bucketArn}/*`];
  return doc(
    { Sid: "DenyInsecureTransport", Effect: "Deny", Principal: "*", Action: "s3:*", Resource: resources, Condition: { Bool: { "aws:SecureTransport": "false" } } },
    { Sid: "DenyOutdatedTls", Effect: "Deny", Principal: "*", Action: "s3:*", Resource: resources, Condition: { NumericLessThan: { "s3:TlsVersion": "1.2" } } },
  );
}

export interface EcrRepository {
  registry: string;
  region: string;
  account: string;
  name: string;
  arn: string;
}

/** The ECR repository an image URI points at, or undefined for an image from another registry. */
export function ecrRepositoryOf(image: string): EcrRepository | undefined {
  const m = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?\/([a-z0-9][a-z0-9._/-]*?)(?::[\w.-]+)?(?:@sha256:[0-9a-f]{64})?$/.exec(image);
  if (!m) return undefined;
  const [, account = "", region = "", cn, name = ""] = m;
  return { registry: `${account}.dkr.ecr.${region}.amazonaws.com${cn ?? ""}`, region, account, name, arn: `arn:${cn ? "aws-cn" : "aws"}:ecr:${region}:${account}:repository/${name}` };
}

/** The training node's own permissions: write its campaign prefix, read its image. */
export function nodeRolePolicy(o: { bucketArn: string; prefix: string; image: string }): PolicyDocument {
  const statements: Statement[] = [
    // Get for resuming from checkpoints; no Delete: a compromised node cannot erase the record.
    { Sid: "ReadWriteOwnCampaignPrefix", Effect: "Allow", Action: ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"], Resource: `${o.bucketArn}/${o.prefix}/*` },
    // `aws s3 sync` lists before it uploads; only under the campaign's prefix.
    { Sid: "ListOwnCampaignPrefix", Effect: "Allow", Action: "s3:ListBucket", Resource: o.bucketArn, Condition: { StringLike: { "s3:prefix": [`${o.prefix}/*`, o.prefix] } } },
  ];
  const ecr = ecrRepositoryOf(o.image);
  if (ecr) {
    // GetAuthorizationToken cannot be scoped to a repository (ECR authorization reference).
    statements.push({ Sid: "EcrLogin", Effect: "Allow", Action: "ecr:GetAuthorizationToken", Resource: "*" });
    statements.push({ Sid: "PullOwnImage", Effect: "Allow", Action: ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"], Resource: ecr.arn });
  }
  return doc(...statements);
}

/** AWS Budgets may publish to the campaign's topic, for budgets of this account only. */
export function budgetTopicPolicy(topicArn: string, accountId: string): PolicyDocument {
  return doc({
    Sid: "BudgetsPublish",
    Effect: "Allow",
    Principal: { Service: "budgets.amazonaws.com" },
    Action: "SNS:Publish",
    Resource: topicArn,
    Condition: { StringEquals: { "aws:SourceAccount": accountId }, ArnLike: { "aws:SourceArn": `arn:aws:budgets::${accountId}:*` } },
  });
}

/**
 * The watchdog's own permissions: read the campaign's metrics, keep its state and records under
 * watchdog/<campaign>/, publish to the campaign's topic, and terminate or cancel only what carries
 * the campaign's tag. Describe calls cannot be scoped to resources (EC2 authorization reference).
 */
export function watchdogRolePolicy(o: { bucketArn: string; campaign: string; topicArn: string; logGroupArn: string; relaunch?: RelaunchGrant }): PolicyDocument {
  const tagged = { StringEquals: { [`aws:ResourceTag/${CAMPAIGN_TAG}`]: o.campaign } };
  return doc(
    ...baseWatchdogStatements(o, tagged),
    ...(o.relaunch ? relaunchStatements(o.campaign, o.relaunch) : []),
  );
}

/** What the watchdog may launch a replacement with: the campaign's launch template and its node role, nothing else. */
export interface RelaunchGrant {
  launchTemplateArn: string;
  /** The on-demand twin of the template, only with windtunnel:recovery.fallbackAfter. */
  onDemandLaunchTemplateArn?: string;
  nodeRoleArn: string;
}

/**
 * RunInstances only from the campaign's launch template (ec2:LaunchTemplate on every resource of
 * the request) and, for what it creates, only with the campaign's tag (aws:RequestTag); tags only
 * as part of that launch; PassRole only for the node's own role, only to EC2. A watchdog bug, or
 * a stolen role, can then start nothing but another copy of the campaign's own node. With the
 * on-demand fallback, that copy may also come from the template's on-demand twin, and from no
 * other: the two templates differ in their market options alone.
 */
function relaunchStatements(campaign: string, g: RelaunchGrant): Statement[] {
  const created = ["instance", "volume", "network-interface", "spot-instances-request"].map((t) => `arn:aws:ec2:*:*:${t}/*`);
  const fromTemplate = { ArnEquals: { "ec2:LaunchTemplate": g.onDemandLaunchTemplateArn !== undefined ? [g.launchTemplateArn, g.onDemandLaunchTemplateArn] : g.launchTemplateArn } };
  return [
    { Sid: "RelaunchCreatesOnlyCampaignTagged", Effect: "Allow", Action: "ec2:RunInstances", Resource: created, Condition: { ...fromTemplate, StringEquals: { [`aws:RequestTag/${CAMPAIGN_TAG}`]: campaign } } },
    { Sid: "RelaunchUsesOnlyCampaignTemplate", Effect: "Allow", Action: "ec2:RunInstances", Resource: [...["launch-template", "subnet", "security-group", "placement-group", "key-pair"].map((t) => `arn:aws:ec2:*:*:${t}/*`), "arn:aws:ec2:*::image/*"], Condition: fromTemplate },
    { Sid: "TagOnlyAtRelaunch", Effect: "Allow", Action: "ec2:CreateTags", Resource: created, Condition: { StringEquals: { "ec2:CreateAction": "RunInstances" } } },
    { Sid: "PassOnlyNodeRole", Effect: "Allow", Action: "iam:PassRole", Resource: g.nodeRoleArn, Condition: { StringEquals: { "iam:PassedToService": "ec2.amazonaws.com" } } },
  ];
}

function baseWatchdogStatements(o: { bucketArn: string; campaign: string; topicArn: string; logGroupArn: string }, tagged: Record<string, Record<string, string>>): Statement[] {
  return [
    { Sid: "ReadCampaignMetrics", Effect: "Allow", Action: "s3:GetObject", Resource: `${o.bucketArn}/${campaignPrefix(o.campaign)}/*` },
    { Sid: "KeepWatchdogState", Effect: "Allow", Action: ["s3:GetObject", "s3:PutObject"], Resource: `${o.bucketArn}/${watchdogRoot(o.campaign)}*` },
    { Sid: "ListCampaignPrefixes", Effect: "Allow", Action: "s3:ListBucket", Resource: o.bucketArn, Condition: { StringLike: { "s3:prefix": [`${campaignPrefix(o.campaign)}/*`, `${watchdogRoot(o.campaign)}*`] } } },
    { Sid: "NotifyCampaignTopic", Effect: "Allow", Action: "sns:Publish", Resource: o.topicArn },
    { Sid: "FindCampaignNodes", Effect: "Allow", Action: ["ec2:DescribeInstances", "ec2:DescribeSpotInstanceRequests"], Resource: "*" },
    { Sid: "TerminateOnlyCampaignNodes", Effect: "Allow", Action: "ec2:TerminateInstances", Resource: "arn:aws:ec2:*:*:instance/*", Condition: tagged },
    { Sid: "CancelOnlyCampaignSpotRequests", Effect: "Allow", Action: "ec2:CancelSpotInstanceRequests", Resource: "arn:aws:ec2:*:*:spot-instances-request/*", Condition: tagged },
    { Sid: "WriteOwnLogs", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: `${o.logGroupArn}:*` },
  ];
}
