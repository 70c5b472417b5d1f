// What the node's script is made of, derived from the stack's config: the hard stop, the runs,
// and the largest user data a node of the stage would get. The schema (config.ts) checks these,
// so they take the plain parts of the config they read, spelled out, rather than StackConfig.
import type { Stage } from "./config.ts";
import { efaCards } from "./instance-types.ts";
import { userDataBytes } from "./user-data.ts";
import type { UserDataInput } from "./user-data-input.ts";

interface StageHours {
  stage: Stage;
  sanityHours: number;
  hoursCap: number;
}
export interface ScriptConfig extends StageHours {
  campaign: string;
  metricsIntervalS: number;
  target: Record<string, number | string>;
  node: { count: number; instanceType: string };
  container: { image: string; command: string; sanityCommands: readonly { name: string; command: string }[] };
}

/** Hours the node may live in this stage: the sanity day, or what the cap leaves after it. */
export function hardStopHours(c: StageHours): number {
  return c.stage === "sanity" ? Math.min(c.sanityHours, c.hoursCap) : c.hoursCap - c.sanityHours;
}

/** The same in whole minutes, as the node's `shutdown -P +<minutes>` takes it. */
export function hardStopMinutes(c: StageHours): number {
  return Math.round(hardStopHours(c) * 60);
}

/** The commands the node runs in this stage, in order. */
export function stageRuns(c: Pick<ScriptConfig, "stage" | "container">): UserDataInput["runs"] {
  return c.stage === "sanity" ? c.container.sanityCommands : c.stage === "full" ? [{ name: "train", command: c.container.command }] : [];
}

// What only AWS knows when the schema judges, each as long as it can be, so the size checked
// here is at least the size the node gets: S3 allows 63-character bucket names, an IPv4 address
// is at most 15 characters, and no region name comes near 25 (the longest, ap-southeast-7, has 14).
const WORST_CASE = { bucket: "b".repeat(63), masterAddr: "255.255.255.255", region: "r".repeat(25), verdictDigest: "0".repeat(64) } as const;

/** The largest user data any node of this stage would get, and which rank gets it. */
export function worstUserData(c: ScriptConfig): { bytes: number; rank: number } | undefined {
  if (c.stage === "plan") return undefined;
  let worst: { bytes: number; rank: number } | undefined;
  // Every rank: rank > 0 carries the master's address, and more digits as the count grows.
  for (let rank = 0; rank < c.node.count; rank++) {
    const bytes = userDataBytes({
      campaign: c.campaign, stage: c.stage, bucket: WORST_CASE.bucket, prefix: c.campaign, region: WORST_CASE.region, image: c.container.image,
      runs: stageRuns(c), hardStopMinutes: hardStopMinutes(c), metricsIntervalS: c.metricsIntervalS, rank, nodes: c.node.count,
      ...(rank > 0 ? { masterAddr: WORST_CASE.masterAddr } : {}), efa: c.node.count > 1 && efaCards(c.node.instanceType) > 0, target: c.target, verdictDigest: WORST_CASE.verdictDigest,
    });
    if (!worst || bytes > worst.bytes) worst = { bytes, rank };
  }
  return worst;
}
