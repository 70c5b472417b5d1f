// What the program needs to know about GPU instance types: how many network cards take an EFA
// interface (AWS "Supported instance types" for EFA and each type's network specifications), and
// which regions offer each type. A type not listed runs without EFA: NCCL falls back to TCP,
// slower but correct; its region is checked for form only. Pure: the stack file reader, the
// program and `windtunnel plan`'s offline answer to DescribeInstanceTypeOfferings share it.
export const EFA_NETWORK_CARDS: Readonly<Record<string, number>> = {
  "p4d.24xlarge": 4,
  "p4de.24xlarge": 4,
  "p5.48xlarge": 32,
  "p5e.48xlarge": 32,
  "p5en.48xlarge": 16,
};

export function efaCards(instanceType: string): number {
  return EFA_NETWORK_CARDS[instanceType] ?? 0;
}

/**
 * Regions that offer each type, as of 2026-08-26. Source: the instances.vantage.sh data (built
 * from the AWS Price List API), as mirrored in github.com/tsaol/aws-gpu, data/<family>_instances.js
 * ("Last updated: 2026-08-26"; p4d at commit 18aebd1d72819fea767dd5b5f835114120b2ad39, the others
 * at 299375be7a2b940b53b3d80ec79fd66ee688f4fa), e.g.
 * https://github.com/tsaol/aws-gpu/blob/299375be7a2b940b53b3d80ec79fd66ee688f4fa/data/p5_instances.js
 * Local Zones there (us-east-1-atl-1) are left out: aws:region names a region. p5e.48xlarge has no
 * on-demand or spot price there (it is sold as Capacity Blocks); its region is from
 * https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ec2-capacity-blocks.html ("p5e.48xlarge —
 * US East (Ohio)", read 2026-12-01). The dstack p5en offer list of 2026-08-06
 * (https://github.com/dstackai/dstack/pull/4110) agrees for the US and eu-north-1.
 * `pulumi up` also asks AWS (DescribeInstanceTypeOfferings) before it creates anything, so a
 * stale row here can only refuse a region AWS has since added: add it here.
 */
export const OFFERED_IN: Readonly<Record<string, readonly string[]>> = {
  "p4d.24xlarge": ["ap-northeast-1", "ap-northeast-2", "ap-south-1", "ap-southeast-1", "ap-southeast-2", "ca-central-1", "eu-central-1", "eu-north-1", "eu-west-1", "eu-west-2", "sa-east-1", "us-east-1", "us-east-2", "us-gov-west-1", "us-west-2"],
  "p4de.24xlarge": ["ap-northeast-1", "ap-southeast-1", "eu-central-1", "il-central-1", "us-east-1", "us-west-2"],
  "p5.48xlarge": ["ap-northeast-1", "ap-northeast-2", "ap-south-1", "ap-southeast-2", "ap-southeast-3", "ca-central-1", "eu-north-1", "eu-west-2", "sa-east-1", "us-east-1", "us-east-2", "us-gov-west-1", "us-west-1", "us-west-2"],
  "p5e.48xlarge": ["us-east-2"],
  "p5en.48xlarge": ["ap-northeast-1", "ap-northeast-2", "ap-south-1", "ap-southeast-3", "eu-north-1", "eu-south-2", "me-central-1", "us-east-1", "us-east-2", "us-gov-west-1", "us-west-1", "us-west-2"],
};

export const OFFERED_AS_OF = "2026-08-26";

/** An AWS region name: us-east-1, eu-south-2, us-gov-west-1. */
export const REGION_FORM = /^[a-z]{2}(-gov)?-[a-z]+-\d+$/;

/**
 * What is wrong with running `instanceType` in `region`, as the "expected …" half of a message,
 * or nothing. A type the table does not know is judged by the region's form alone.
 */
/**
 * Where the node runs, as the program resolves it: the stack's aws:region, else the AWS SDK's
 * environment variables; `key` names where it came from, for messages. One rule for the program
 * and for `windtunnel plan`.
 */
export function regionSetting(configured: string | undefined, env: Readonly<Record<string, string | undefined>>): { key: string; region: string } | undefined {
  if (configured !== undefined) return { key: "aws:region", region: configured };
  for (const key of ["AWS_REGION", "AWS_DEFAULT_REGION"]) {
    const region = env[key];
    if (region !== undefined) return { key, region };
  }
  return undefined;
}

export function regionProblem(instanceType: string, region: string): string | undefined {
  if (!REGION_FORM.test(region)) return "expected an AWS region name such as us-east-1";
  // GovCloud (aws-us-gov) and China (aws-cn) name resources arn:aws-us-gov:… and arn:aws-cn:…;
  // the stack's IAM statements say arn:aws:…, so there the watchdog could never tear a node down.
  if (/^us-gov-/.test(region) || /^cn-/.test(region)) return `${region} is in the ${region.startsWith("cn-") ? "aws-cn" : "aws-us-gov"} partition; windtunnel's IAM policies are written for the aws partition (arn:aws:…), where the watchdog's teardown rights hold: use a commercial region`;
  const offered = OFFERED_IN[instanceType];
  if (offered === undefined || offered.includes(region)) return undefined;
  return `expected a region that offers ${instanceType} (windtunnel:node.instanceType): ${offered.join(", ")} (as of ${OFFERED_AS_OF}; if AWS offers it in ${region} now, add it to src/infra/instance-types.ts)`;
}

/** Offline stand-in for DescribeInstanceTypeOfferings: the table, or yes for a type it does not know. */
export function offeredOffline(instanceType: string, region: string): boolean {
  return OFFERED_IN[instanceType]?.includes(region) ?? true;
}
