// The campaign contract: the tags every resource carries and every key in the campaign's bucket,
// in one place. The node's user data writes these keys, the IAM policies allow exactly them, the
// watchdog and `watch` read them, and the Pulumi program creates them; none spells the layout
// itself. Pure: no I/O, no Pulumi.
//
//   <prefix>/<stage>/node-<rank>/<run>.metrics.jsonl   the node's metrics, one object per run
//   <prefix>/<stage>/node-<rank>/events.jsonl          the node's events (started, run ended, done, spot notice)
//   <prefix>/<stage>/node-<rank>/attempt-<n>/…         the same, from the n-th attempt (n ≥ 2: a replacement
//                                                      the watchdog launched after a spot interruption); each
//                                                      attempt writes its own objects, so none shrinks under
//                                                      the watchdog's cursors, and the run is the same run
//   <prefix>/checkpoints/<stage>/<run>/latest.json     the trainer's newest complete checkpoint (the marker)
//   <prefix>/checkpoints/…                             the trainer's checkpoints (expire after retention)
//   watchdog/<campaign>/<stage>/config.json            the watchdog's config (written by the stack)
//   watchdog/<campaign>/<stage>/state.json             its state between ticks
//   watchdog/<campaign>/<stage>/teardown-<time>.json   a teardown record
// The watchdog's own keys sit outside the node's prefix, which the node's role may write.

/** Tag on everything the stack creates: the budget filters cost by it, and the watchdog may terminate only what carries it. */
export const CAMPAIGN_TAG = "windtunnel:campaign";
export const STAGE_TAG = "windtunnel:stage";

export function campaignTags(campaign: string, stage: string, extra: Record<string, string> = {}): Record<string, string> {
  return { [CAMPAIGN_TAG]: campaign, [STAGE_TAG]: stage, "windtunnel:managed-by": "pulumi", ...extra };
}

/** The AWS Budgets cost filter value for a user-defined cost allocation tag. */
export function budgetTagFilter(campaign: string): string {
  return `user:${CAMPAIGN_TAG}$${campaign}`;
}

/** The campaign's prefix in the bucket: its id (the node's role may write only below it). */
export const campaignPrefix = (campaign: string): string => campaign;

/** `<prefix>/<stage>/`: everything the stage's nodes write. */
export const stagePrefix = (prefix: string, stage: string): string => `${prefix}/${stage}/`;
/** `<prefix>/<stage>/node-<rank>/`: one node's objects. */
export const nodePrefix = (prefix: string, stage: string, rank: number): string => `${stagePrefix(prefix, stage)}${nodeName(rank)}/`;
export const nodeName = (rank: number): string => `node-${rank}`;
export const METRICS_SUFFIX = ".metrics.jsonl";
export const EVENTS_FILE = "events.jsonl";
export const metricsKey = (prefix: string, stage: string, rank: number, run: string): string => `${nodePrefix(prefix, stage, rank)}${run}${METRICS_SUFFIX}`;
export const eventsKey = (prefix: string, stage: string, rank: number): string => `${nodePrefix(prefix, stage, rank)}${EVENTS_FILE}`;
/** `<prefix>/checkpoints/`: the trainer's checkpoints, shared by the stages. */
export const checkpointsPrefix = (prefix: string): string => `${prefix}/checkpoints/`;

/** Tag on a node the watchdog launched to replace an interrupted one: its attempt, 2, 3, … (1 is the stack's own). */
export const ATTEMPT_TAG = "windtunnel:attempt";
/** Tag on a replacement: its own hard stop, in minutes from its boot (what the hours cap leaves after the earlier attempts). */
export const HARD_STOP_TAG = "windtunnel:hard-stop-minutes";
/** Tag on a replacement: its market, `spot` or `on-demand` (after recovery.fallbackAfter interruptions), so watch and the report can say which each attempt was. */
export const MARKET_TAG = "windtunnel:market";
/** `attempt-<n>/` inside a node's folder, for n ≥ 2; the first attempt writes at the node's folder itself. */
export const attemptFolder = (attempt: number): string => (attempt <= 1 ? "" : `attempt-${attempt}/`);
/** The attempt an object was written by: its attempt-<n>/ folder, else 1. */
export function attemptOfKey(key: string): number {
  const m = /\/attempt-(\d+)\//.exec(key);
  return m ? Number(m[1]) : 1;
}
/** One run across its attempts: the object's key without its attempt-<n>/ folder (the first attempt's key). */
export const runIdOfKey = (key: string): string => key.replace(/\/attempt-\d+\//, "/");

/** The folder of the watchdog's own keys; no campaign may be named so (its prefix would cover them). */
export const WATCHDOG_FOLDER = "watchdog";
/** `watchdog/<campaign>/`: the watchdog's own keys, outside the node's prefix. */
export const watchdogRoot = (campaign: string): string => `${WATCHDOG_FOLDER}/${campaign}/`;
export const watchdogPrefix = (campaign: string, stage: string): string => `${watchdogRoot(campaign)}${stage}/`;
export const watchdogConfigKey = (campaign: string, stage: string): string => `${watchdogPrefix(campaign, stage)}config.json`;
export const watchdogStateKey = (campaign: string, stage: string): string => `${watchdogPrefix(campaign, stage)}state.json`;
export const teardownPrefix = (campaign: string, stage: string): string => `${watchdogPrefix(campaign, stage)}teardown-`;
export const teardownKey = (campaign: string, stage: string, at: Date): string => `${teardownPrefix(campaign, stage)}${at.toISOString().replace(/[:.]/g, "-")}.json`;

/** What an object under a stage's prefix is: a run's metrics, a node's events, or neither. */
export function objectKind(key: string): "metrics" | "events" | undefined {
  return key.endsWith(METRICS_SUFFIX) ? "metrics" : key.endsWith(`/${EVENTS_FILE}`) ? "events" : undefined;
}

/** The run a metrics object holds: its file name without the extension. */
export const runOfKey = (key: string): string => (key.split("/").pop() ?? key).replace(/\.metrics\.jsonl$|\.jsonl$/, "");

/** The node an object or event belongs to: its node-<rank> folder, else its rank, else node-0 (one node). */
export function nodeOfKey(key: string | undefined, rank?: number): string {
  const folder = key === undefined ? undefined : /(?:^|\/)(node-\d+)\//.exec(key)?.[1];
  return folder ?? (typeof rank === "number" && Number.isInteger(rank) && rank >= 0 ? nodeName(rank) : nodeName(0));
}

/** `<prefix>/checkpoints/<stage>/<run>/`: one run's checkpoints, across its attempts (WINDTUNNEL_CHECKPOINTS). */
export const runCheckpointsPrefix = (prefix: string, stage: string, run: string): string => `${checkpointsPrefix(prefix)}${stage}/${run}/`;
/** The marker a trainer writes last, after a checkpoint is complete: what a replacement resumes from. */
export const CHECKPOINT_MARKER = "latest.json";
