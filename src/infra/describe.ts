// One line per planned resource with the properties a reviewer checks before `pulumi up`:
// instance type, market, hours cap, budget, exposure. Pure: reads the recorded inputs only.
import { hardStopOf } from "./user-data.ts";
import { usd } from "../common/format.ts";

type Inputs = Record<string, unknown>;

const get = (o: unknown, ...path: (string | number)[]): unknown => path.reduce<unknown>((v, k) => (v !== null && typeof v === "object" ? (v as Record<string | number, unknown>)[k] : undefined), o);
const str = (v: unknown): string => (typeof v === "string" ? v : JSON.stringify(v));

function market(i: Inputs): string {
  const type = get(i, "instanceMarketOptions", "marketType");
  if (type === "spot") {
    const max = get(i, "instanceMarketOptions", "spotOptions", "maxPrice");
    return `spot (${str(get(i, "instanceMarketOptions", "spotOptions", "spotInstanceType"))}, ${str(get(i, "instanceMarketOptions", "spotOptions", "instanceInterruptionBehavior"))} on interruption, ${max !== undefined ? `max $${str(max)}/h` : "no max price"})`;
  }
  if (type === "capacity-block") return `capacity block ${str(get(i, "capacityReservationSpecification", "capacityReservationTarget", "capacityReservationId"))}`;
  return "on-demand";
}

const DESCRIBE: Record<string, (i: Inputs) => string> = {
  "aws:s3/bucket:Bucket": (i) => `name ${str(i["bucketPrefix"])}…, kept on destroy`,
  "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": (i) => (["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"].every((k) => i[k] === true) ? "all public access blocked" : "public access NOT fully blocked"),
  "aws:s3/bucketVersioning:BucketVersioning": (i) => `versioning ${str(get(i, "versioningConfiguration", "status"))}`,
  "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (i) => `default encryption ${str(get(i, "rules", 0, "applyServerSideEncryptionByDefault", "sseAlgorithm"))}`,
  "aws:s3/bucketPolicy:BucketPolicy": () => "denies non-TLS and TLS < 1.2 requests",
  "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": (i) => `checkpoints and old versions expire after ${str(get(i, "rules", 0, "expiration", "days"))} days`,
  "aws:s3/bucketOwnershipControls:BucketOwnershipControls": () => "ACLs disabled (bucket owner enforced)",
  "aws:sns/topic:Topic": () => "budget alerts",
  "aws:sns/topicSubscription:TopicSubscription": (i) => `${str(i["protocol"])} → ${str(i["endpoint"])} (confirm the e-mail AWS sends)`,
  "aws:sns/topicPolicy:TopicPolicy": () => "AWS Budgets of this account may publish",
  "aws:budgets/budget:Budget": (i) => {
    const n = (i["notifications"] as Inputs[] | undefined) ?? [];
    const at = [...new Set(n.map((x) => x["threshold"]))].join("/");
    return `${usd(Number(i["limitAmount"]))} on tag ${str(get(i, "costFilters", 0, "values", 0))}, alerts at ${at}% actual and forecast`;
  },
  "aws:iam/role:Role": (i) => {
    const trust = JSON.parse(str(i["assumeRolePolicy"])) as { Statement: { Principal: { Service: string } }[] };
    return `assumed by ${trust.Statement.map((x) => x.Principal.Service).join(", ")} only`;
  },
  "aws:lambda/function:Function": (i) => {
    const bundle = /bundle (\d+ KiB)/.exec(str(i["description"]))?.[1] ?? "?";
    return `${str(i["runtime"])} on ${str((i["architectures"] as string[] | undefined)?.[0] ?? "x86_64")}, bundled handler ${bundle}, one tick at a time (reserved concurrency ${str(i["reservedConcurrentExecutions"])})`;
  },
  "aws:cloudwatch/eventRule:EventRule": (i) => `schedule ${str(i["scheduleExpression"])}`,
  "aws:cloudwatch/eventTarget:EventTarget": () => "the schedule calls the watchdog",
  "aws:lambda/permission:Permission": () => "only this schedule may invoke it",
  "aws:cloudwatch/logGroup:LogGroup": (i) => `logs kept ${str(i["retentionInDays"])} days`,
  "aws:s3/bucketObjectv2:BucketObjectv2": (i) => {
    const cfg = JSON.parse(str(i["content"])) as { config?: { stage?: string; envelope?: unknown; hoursCap?: number; recovery?: { maxRestarts?: number; fallback?: { after?: number; hourlyUsd?: number } } } };
    const r = cfg.config?.recovery;
    const recovery = r ? `, spot recovery: up to ${r.maxRestarts ?? "?"} restarts${r.fallback ? `, on-demand after ${r.fallback.after ?? "?"} interruption(s) at $${r.fallback.hourlyUsd ?? "?"}/h` : ", always spot"}` : "";
    return `its config: stage ${cfg.config?.stage ?? "?"}, verify gate ${cfg.config?.envelope ? "on" : "off"}, hours cap ${cfg.config?.hoursCap ?? "?"} h${recovery}`;
  },
  "aws:iam/rolePolicy:RolePolicy": (i) => {
    const doc = JSON.parse(str(i["policy"])) as { Statement: { Sid: string }[] };
    return `least privilege: ${doc.Statement.map((s) => s.Sid).join(", ")}`;
  },
  "aws:iam/rolePolicyAttachment:RolePolicyAttachment": (i) => `${str(i["policyArn"]).split("/").pop() ?? ""} (shell through SSM)`,
  "aws:iam/instanceProfile:InstanceProfile": () => "the node's role",
  "aws:ec2/securityGroup:SecurityGroup": (i) => `${((i["ingress"] as unknown[] | undefined) ?? []).length} inbound rules, egress to all`,
  "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": () => "inbound from the campaign's own nodes only (EFA/NCCL)",
  "aws:ec2/placementGroup:PlacementGroup": (i) => `strategy ${str(i["strategy"])}`,
  "aws:ec2/launchTemplate:LaunchTemplate": (i) => {
    const nics = (i["networkInterfaces"] as Inputs[] | undefined) ?? [];
    const efa = nics.filter((n) => n["interfaceType"] === "efa").length;
    return [
      str(i["instanceType"]),
      market(i),
      `IMDSv2 ${str(get(i, "metadataOptions", "httpTokens"))} (hop limit ${str(get(i, "metadataOptions", "httpPutResponseHopLimit"))})`,
      `${str(get(i, "blockDeviceMappings", 0, "ebs", "volumeType"))} ${str(get(i, "blockDeviceMappings", 0, "ebs", "volumeSize"))} GB${get(i, "blockDeviceMappings", 0, "ebs", "encrypted") === "true" ? " encrypted" : " NOT encrypted"}`,
      `shutdown → ${str(i["instanceInitiatedShutdownBehavior"])}`,
      ...(efa > 0 ? [`${efa} EFA interfaces`] : []),
      `image ${str(i["imageId"])}`,
    ].join(" · ");
  },
  "aws:ec2/instance:Instance": (i) => {
    const script = str(i["userData"]);
    const stop = hardStopOf(script);
    return `node rank ${str(get(i, "tags", "windtunnel:node-rank"))} · powers off after ${stop !== undefined ? `${(stop / 60).toFixed(stop % 60 === 0 ? 0 : 1)} h` : "?"} (user data) · runs ${runsOf(script).join(", ")}`;
  },
};

function runsOf(script: string): string[] {
  return [...script.matchAll(/^run_stage '([^']*)'/gm)].map((m) => m[1] as string);
}

export function describeResource(type: string, inputs: Inputs): string {
  return DESCRIBE[type]?.(inputs) ?? "";
}
