// `windtunnel plan`: run the Pulumi program offline, in-process, under Pulumi's mock runtime (no
// CLI, no credentials, no network): every resource `pulumi up` would register is recorded with its
// inputs. It refuses exactly as `pulumi up` would, because it is the same program.
import * as pulumi from "@pulumi/pulumi";
import type { MockCallArgs, MockResourceArgs } from "@pulumi/pulumi/runtime/mocks.js";
import { campaignProgram, type CampaignOutputs } from "./program.ts";
import type { CampaignJudgement } from "./judge-campaign.ts";
import { offeredOffline, regionSetting } from "./instance-types.ts";
import { InternalError } from "../common/errors.ts";
import type { JudgedPrice } from "../cost/live-price.ts";

export interface PlannedResource {
  type: string;
  name: string;
  /** A ComponentResource (a group) rather than a cloud resource. */
  component: boolean;
  inputs: Record<string, unknown>;
}

/** The stack outputs with every Output resolved. */
export type PlanOutputs = { [K in keyof CampaignOutputs]: CampaignOutputs[K] extends pulumi.Output<infer U> | undefined ? U | undefined : CampaignOutputs[K] };

export interface Plan {
  resources: PlannedResource[];
  outputs: PlanOutputs;
  judgement: CampaignJudgement;
}

const settle = <T>(o: pulumi.Output<T> | undefined): Promise<T | undefined> => (o === undefined ? Promise.resolve(undefined) : new Promise((res) => o.apply((v) => res(v))));

/** Stand-ins for what only AWS knows; shown as such in the plan. */
export const OFFLINE = {
  account: "123456789012",
  ami: "ami-00000000000000000",
  defaultVpc: "vpc-00000000000000000",
} as const;

function resolvedState(a: MockResourceArgs, region: string, index: number): Record<string, unknown> {
  const i = a.inputs as Record<string, unknown>;
  const named = (i["name"] as string | undefined) ?? `${(i["namePrefix"] as string | undefined) ?? (i["bucketPrefix"] as string | undefined) ?? a.name}${index.toString(16).padStart(8, "0")}`;
  const service = a.type.split(":")[1]?.split("/")[0] ?? "aws";
  const arn = service === "s3" ? `arn:aws:s3:::${named}` : `arn:aws:${service}:${service === "iam" ? "" : region}:${OFFLINE.account}:${named}`;
  return { ...i, name: named, bucket: named, arn, latestVersion: 1, privateIp: `10.0.0.${10 + index}` };
}

export interface PlanOptions {
  stack: string;
  /** Config as the Pulumi CLI passes it: `ns:key` → string (objects as JSON). */
  config: Record<string, string>;
  baseDir: string;
  configName: string;
  env: Readonly<Record<string, string | undefined>>;
  /** `plan --live`: the spot quote the spend gates judge instead of node.hourlyUsd. */
  price?: JudgedPrice;
}

export async function planProgram(o: PlanOptions): Promise<Plan> {
  const resources: PlannedResource[] = [];
  // The region the program will resolve (stack config, then the SDK's variables), for ARNs and offerings.
  const region = regionSetting(o.config["aws:region"], o.env)?.region ?? "us-east-1";
  let judgement: CampaignJudgement | undefined;
  pulumi.runtime.setAllConfig(o.config);
  await pulumi.runtime.setMocks(
    {
      newResource(a: MockResourceArgs) {
        const component = !a.custom;
        resources.push({ type: a.type, name: a.name, component, inputs: a.inputs as Record<string, unknown> });
        if (component) return { id: undefined, state: {} };
        return { id: `${a.name}-id`, state: resolvedState(a, region, resources.length) };
      },
      call(a: MockCallArgs) {
        switch (a.token) {
          case "aws:index/getCallerIdentity:getCallerIdentity":
            return { accountId: OFFLINE.account, arn: `arn:aws:iam::${OFFLINE.account}:user/offline`, userId: "OFFLINE", id: OFFLINE.account };
          case "aws:ec2/getVpc:getVpc":
            return { id: OFFLINE.defaultVpc, default: true };
          case "aws:ec2/getSubnet:getSubnet":
            return { id: a.inputs["id"], vpcId: OFFLINE.defaultVpc };
          case "aws:ssm/getParameter:getParameter":
            return { name: a.inputs["name"], value: OFFLINE.ami, type: "String", id: a.inputs["name"] };
          case "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings": {
            // What `pulumi up` asks AWS, answered from the table the stack file was checked against.
            const types = ((a.inputs["filters"] as { name: string; values: string[] }[] | undefined) ?? []).filter((f) => f.name === "instance-type").flatMap((f) => f.values);
            const offered = types.filter((t) => offeredOffline(t, region));
            return { id: region, instanceTypes: offered, locations: offered.map(() => region), locationTypes: offered.map(() => "region") };
          }
          default:
            return {};
        }
      },
    },
    "windtunnel",
    o.stack,
    false,
  );
  // A refusal is caught inside the stack's initializer: rethrown from there, it would also reject
  // the stack's outputs, which nothing awaits offline (an unhandled rejection).
  let failure: unknown;
  let program: CampaignOutputs | undefined;
  await pulumi.runtime.runInPulumiStack(async () => {
    try {
      program = await campaignProgram({ baseDir: o.baseDir, configName: o.configName, env: o.env, onJudged: (j) => (judgement = j), ...(o.price ? { price: o.price } : {}) });
      return program;
    } catch (err) {
      failure = err;
      return {};
    }
  });
  // Every registration has reached the mocks (some wait on Outputs the stack's return never needed).
  await pulumi.runtime.disconnect();
  if (failure !== undefined) throw failure;
  if (!program || !judgement) throw new InternalError("the program returned without judging the evidence");
  // Resolve every Output the program returned, so each apply (user data, policies) has run.
  const outputs: PlanOutputs = {
    ...program,
    bucketName: await settle(program.bucketName),
    alertTopicArn: await settle(program.alertTopicArn),
    instanceIds: await settle(program.instanceIds),
    watchdogFunction: await settle(program.watchdogFunction),
  };
  return { resources: resources.filter((r) => r.type !== "pulumi:pulumi:Stack"), outputs, judgement };
}
