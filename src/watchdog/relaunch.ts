// Launching the replacement of an interrupted node: RunInstances from the campaign's own launch
// template, with the node script the stack gave the first attempt, in the subnet recovery chose,
// tagged with the campaign, the stage, the attempt and its market (the node writes under
// attempt-<n>/ and the IAM policy lets the watchdog create nothing without the campaign's tag),
// and with the hours the cap leaves as its own hard stop. An on-demand replacement (after
// recovery.fallbackAfter interruptions) comes from the stack's on-demand template: a spot
// template's market cannot be overridden to on-demand in RunInstances, whose MarketType knows only
// spot and capacity blocks. AWS refusing the launch (no capacity, a limit) is a result, not an
// error: the tick records it and recovery backs off.
import { RunInstancesCommand, type EC2Client } from "@aws-sdk/client-ec2";
import { InternalError } from "../common/errors.ts";
import { ATTEMPT_TAG, CAMPAIGN_TAG, HARD_STOP_TAG, MARKET_TAG } from "../campaign/layout.ts";
import type { AttemptMarket } from "../campaign/attempt-ledger.ts";
import type { RecoveryConfig } from "../campaign/watchdog-config.ts";
import { recordRefusal, recordRelaunch, type Decision } from "./decide.ts";


export interface Relaunched {
  attempt: number;
  instanceId?: string;
  subnet?: string;
  hardStopMinutes: number;
  market: AttemptMarket;
  /** Why AWS refused it, when it did. */
  refused?: string;
}


export async function relaunch(ec2: EC2Client, r: RecoveryConfig, decision: Decision, now: Date): Promise<Relaunched> {
  const plan = decision.relaunch;
  if (!plan) throw new InternalError("relaunch without a relaunch decision");
  const template = plan.market === "on-demand" ? r.fallback : { launchTemplateId: r.launchTemplateId, launchTemplateVersion: r.launchTemplateVersion };
  if (!template) throw new InternalError("an on-demand relaunch without the stack's on-demand template (recovery.fallback)");
  const tags = Object.entries({ ...r.tags, [ATTEMPT_TAG]: String(plan.attempt), [HARD_STOP_TAG]: String(plan.hardStopMinutes), [MARKET_TAG]: plan.market }).map(([Key, Value]) => ({ Key, Value }));
  const out: Relaunched = { attempt: plan.attempt, hardStopMinutes: plan.hardStopMinutes, market: plan.market, ...(plan.subnet !== undefined ? { subnet: plan.subnet } : {}) };
  try {
    const res = await ec2.send(new RunInstancesCommand({
      // No InstanceMarketOptions either way: the template says the market.
      LaunchTemplate: { LaunchTemplateId: template.launchTemplateId, Version: template.launchTemplateVersion },
      MinCount: 1,
      MaxCount: 1,
      // Idempotent: a tick that fails after this call and runs again gets the same instance, not a second one.
      ClientToken: `${r.tags[CAMPAIGN_TAG] ?? "campaign"}-${decision.state.firstTickAt}-attempt-${plan.attempt}`.slice(0, 64),
      UserData: r.userData,
      // The template's interface, in the chosen subnet: its security groups go with it.
      ...(plan.subnet !== undefined ? { NetworkInterfaces: [{ DeviceIndex: 0, SubnetId: plan.subnet, Groups: r.securityGroupIds, DeleteOnTermination: true }] } : {}),
      TagSpecifications: [{ ResourceType: "instance", Tags: tags }, { ResourceType: "volume", Tags: tags }],
    }));
    const inst = res.Instances?.[0];
    if (!inst?.InstanceId) throw new InternalError("RunInstances returned no instance");
    out.instanceId = inst.InstanceId;
    recordRelaunch(decision.state, { attempt: plan.attempt, instanceId: inst.InstanceId, launchedAt: (inst.LaunchTime ?? now).toISOString(), market: plan.market, hourlyUsd: plan.hourlyUsd, ...(inst.SubnetId ?? plan.subnet ? { subnet: (inst.SubnetId ?? plan.subnet) as string } : {}) });
  } catch (err) {
    if (err instanceof InternalError) throw err;
    // No capacity, a limit, a price below the market, or a permission the stack did not grant:
    // each is said in the alert and retried after a backoff, within recovery's window. Throwing
    // would fail the whole tick, and with it the dead-man switch.
    out.refused = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    recordRefusal(decision.state, now);
  }
  return out;
}
