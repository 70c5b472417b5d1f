// TrainingNode: the GPU node(s) themselves. A launch template that a careful AWS engineer signs
// off (IMDSv2 only, encrypted gp3, no inbound rules, SSM for a shell, a role that writes only the
// campaign's prefix), the market (spot, on-demand or a capacity block), and the hard stop: the
// node terminates itself when it shuts down, and its user data shuts it down at the hours cap.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import type { NodeConfig, Stage } from "./config.ts";
import { nodeRolePolicy, trustPolicy } from "./policies.ts";
import { renderUserData } from "./user-data.ts";
import type { UserDataInput } from "./user-data-input.ts";
import { efaCards } from "./instance-types.ts";
import { assertNever, InternalError } from "../common/errors.ts";

/** The public SSM parameter naming the latest AWS Deep Learning Base OSS Nvidia Driver GPU AMI. */
export const DLAMI_PARAMETER = "/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-ubuntu-24.04/latest/ami-id";
export const SSM_CORE_POLICY = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore";
export const TRAINING_NODE = "windtunnel:infra:TrainingNode";

export interface TrainingNodeArgs {
  campaign: string;
  stage: Exclude<Stage, "plan">;
  node: NodeConfig;
  bucketName: pulumi.Input<string>;
  bucketArn: pulumi.Input<string>;
  prefix: string;
  region: string;
  image: string;
  runs: UserDataInput["runs"];
  /** Minutes until each node powers itself off. */
  hardStopMinutes: number;
  /**
   * Seconds between metric uploads.
   * @default 60
   */
  metricsIntervalS?: number;
  target: Record<string, number | string>;
  verdictDigest: string;
  tags: Record<string, string>;
  /**
   * Also a template for the watchdog's on-demand fallback (windtunnel:recovery.fallbackAfter): the
   * same node without spot market options, since RunInstances cannot override a spot template's
   * market to on-demand (its MarketType knows only spot and capacity blocks).
   * @default false
   */
  onDemandTemplate?: boolean;
}

export class TrainingNode extends pulumi.ComponentResource {
  public readonly instances: aws.ec2.Instance[];
  public readonly instanceIds: pulumi.Output<string[]>;
  public readonly launchTemplate: aws.ec2.LaunchTemplate;
  /** The on-demand twin of the launch template, when asked for (onDemandTemplate). */
  public readonly onDemandLaunchTemplate: aws.ec2.LaunchTemplate | undefined;
  public readonly role: aws.iam.Role;
  public readonly securityGroupId: pulumi.Output<string>;
  /** Rank 0's node script, base64 as RunInstances takes it: what a replacement after a spot interruption runs. */
  public readonly userDataBase64: pulumi.Output<string>;

  constructor(name: string, args: TrainingNodeArgs, opts?: pulumi.ComponentResourceOptions) {
    super(TRAINING_NODE, name, {}, opts);
    const child = { parent: this };
    const n = args.node;
    const efa = n.count > 1 ? efaCards(n.instanceType) : 0;

    this.role = new aws.iam.Role(`${name}-role`, { namePrefix: `wt-${args.campaign}-node-`, assumeRolePolicy: JSON.stringify(trustPolicy("ec2.amazonaws.com")), tags: args.tags }, child);
    new aws.iam.RolePolicy(`${name}-role-policy`, { role: this.role.id, policy: pulumi.output(args.bucketArn).apply((bucketArn) => JSON.stringify(nodeRolePolicy({ bucketArn, prefix: args.prefix, image: args.image }))) }, child);
    new aws.iam.RolePolicyAttachment(`${name}-ssm`, { role: this.role.name, policyArn: SSM_CORE_POLICY }, child);
    const profile = new aws.iam.InstanceProfile(`${name}-profile`, { namePrefix: `wt-${args.campaign}-node-`, role: this.role.name, tags: args.tags }, child);

    const vpcId = n.subnetId !== undefined ? aws.ec2.getSubnetOutput({ id: n.subnetId }, child).vpcId : aws.ec2.getVpcOutput({ default: true }, child).id;
    const group = new aws.ec2.SecurityGroup(`${name}-sg`, {
      namePrefix: `wt-${args.campaign}-node-`,
      description: `windtunnel ${args.campaign}: no inbound access (shell through SSM)${efa > 0 ? "; EFA traffic between the campaign's nodes" : ""}`,
      vpcId,
      // Explicitly empty: Pulumi then removes any inbound rule added by hand.
      ingress: [],
      egress: [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"], ipv6CidrBlocks: ["::/0"], description: "S3, ECR, SSM and the container registry" }],
      tags: args.tags,
    }, child);
    if (n.count > 1) {
      // EFA and NCCL need every port open between the nodes, and only between them (EFA user guide).
      new aws.vpc.SecurityGroupIngressRule(`${name}-sg-self`, { securityGroupId: group.id, referencedSecurityGroupId: group.id, ipProtocol: "-1", description: "between this campaign's nodes only", tags: args.tags }, child);
    }
    const placement = n.count > 1 ? new aws.ec2.PlacementGroup(`${name}-placement`, { strategy: "cluster", tags: args.tags }, child) : undefined;

    const imageId = n.amiId ?? aws.ssm.getParameterOutput({ name: DLAMI_PARAMETER }, child).value;
    const template = (market: NodeConfig["market"], role: string, what: string): aws.ec2.LaunchTemplateArgs => ({
      namePrefix: `wt-${args.campaign}-${role}`,
      description: `windtunnel ${args.campaign} (${args.stage})${what}`,
      imageId,
      instanceType: n.instanceType,
      iamInstanceProfile: { arn: profile.arn },
      instanceInitiatedShutdownBehavior: "terminate",
      // Tags in IMDS: a replacement reads its attempt (windtunnel:attempt) there. Every tag key must
      // then be of letters, digits and + - = . , _ : @ (no / or space), or EC2 refuses the launch.
      metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 2, instanceMetadataTags: "enabled" },
      blockDeviceMappings: [{ deviceName: "/dev/sda1", ebs: { volumeSize: n.rootVolumeGb, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" } }],
      networkInterfaces: networkInterfaces(efa, group.id, n.subnetId),
      ...marketOptions({ ...n, market }),
      ...(placement ? { placement: { groupName: placement.name } } : {}),
      monitoring: { enabled: true },
      tagSpecifications: ["instance", "volume", "network-interface", ...(market === "spot" ? ["spot-instances-request"] : [])].map((resourceType) => ({ resourceType, tags: args.tags })),
      updateDefaultVersion: true,
      tags: args.tags,
    });
    this.launchTemplate = new aws.ec2.LaunchTemplate(`${name}-template`, template(n.market, "", ""), child);
    this.onDemandLaunchTemplate = args.onDemandTemplate ? new aws.ec2.LaunchTemplate(`${name}-template-on-demand`, template("on-demand", "on-demand-", ": the watchdog's on-demand fallback"), child) : undefined;

    const userData = (rank: number, bucket: string, masterAddr?: string): string =>
      renderUserData({
        campaign: args.campaign, stage: args.stage, bucket, prefix: args.prefix, region: args.region, image: args.image, runs: args.runs,
        hardStopMinutes: args.hardStopMinutes, metricsIntervalS: args.metricsIntervalS ?? 60, rank, nodes: n.count, efa: efa > 0, target: args.target, verdictDigest: args.verdictDigest,
        ...(masterAddr !== undefined ? { masterAddr } : {}),
      });
    this.instances = [];
    for (let rank = 0; rank < n.count; rank++) {
      const first = this.instances[0];
      const script = pulumi.all([args.bucketName, first ? first.privateIp : ""]).apply(([bucket, master]) => userData(rank, bucket, rank > 0 ? master : undefined));
      this.instances.push(new aws.ec2.Instance(`${name}-${rank}`, {
        launchTemplate: { id: this.launchTemplate.id, version: pulumi.interpolate`${this.launchTemplate.latestVersion}` },
        instanceInitiatedShutdownBehavior: "terminate",
        userData: script,
        // A changed script means a new run: replace the node rather than restart it with stale state.
        userDataReplaceOnChange: true,
        tags: { ...args.tags, Name: `windtunnel-${args.campaign}-${rank}`, "windtunnel:node-rank": String(rank) },
        volumeTags: args.tags,
      }, child));
    }
    this.instanceIds = pulumi.all(this.instances.map((i) => i.id));
    this.securityGroupId = group.id;
    this.userDataBase64 = pulumi.output(args.bucketName).apply((bucket) => Buffer.from(userData(0, bucket)).toString("base64"));
    this.registerOutputs({ instanceIds: this.instanceIds, launchTemplateId: this.launchTemplate.id });
  }
}

type TemplateNic = NonNullable<aws.ec2.LaunchTemplateArgs["networkInterfaces"]>;

/** One interface, or an EFA interface on every network card for multi-node runs. */
export function networkInterfaces(efaCardCount: number, securityGroup: pulumi.Input<string>, subnetId: string | undefined): TemplateNic {
  const base = { securityGroups: [securityGroup], deleteOnTermination: "true", ...(subnetId !== undefined ? { subnetId } : {}) };
  if (efaCardCount === 0) return [{ ...base, deviceIndex: 0 }];
  return Array.from({ length: efaCardCount }, (_, card) => ({ ...base, networkCardIndex: card, deviceIndex: card === 0 ? 0 : 1, interfaceType: "efa" }));
}

/** Spot (one-time, terminated on interruption), on-demand, or a purchased capacity block. */
export function marketOptions(n: NodeConfig): Pick<aws.ec2.LaunchTemplateArgs, "instanceMarketOptions" | "capacityReservationSpecification"> {
  switch (n.market) {
    case "spot":
      return { instanceMarketOptions: { marketType: "spot", spotOptions: { spotInstanceType: "one-time", instanceInterruptionBehavior: "terminate", ...(n.maxPriceUsd !== undefined ? { maxPrice: n.maxPriceUsd.toFixed(4) } : {}) } } };
    case "on-demand":
      return {};
    case "capacity-block":
      if (n.capacityReservationId === undefined) throw new InternalError("capacity-block without capacityReservationId (the config schema refuses it)");
      return { instanceMarketOptions: { marketType: "capacity-block" }, capacityReservationSpecification: { capacityReservationTarget: { capacityReservationId: n.capacityReservationId } } };
    default:
      return assertNever(n.market);
  }
}

