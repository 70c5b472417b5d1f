// The stack's configuration (`windtunnel:*` keys in stacks/Pulumi.<stack>.yaml) as one zod schema:
// the Pulumi program validates what `pulumi.Config` hands it, and `windtunnel plan` validates the
// YAML file itself (with line and column), so both refuse the same config with the same words.
// No Pulumi import here: the CLI loads this without the Pulumi SDK.
import "../common/zod-setup.ts";
import { WATCHDOG_FOLDER } from "../campaign/layout.ts";
import { scheduleSchema } from "../forecast/schedule.ts";
import * as z from "zod/mini";
import { described, lazy } from "../evidence/schemas.ts";
import { describeIssue } from "../evidence/issues.ts";
import { MARKETS, type CampaignPlan } from "../cost/campaign-plan.ts";
import { ON_DEMAND_HOURLY_USD, onDemandHourlyUsd } from "../cost/on-demand.ts";
import { byteLength, EC2_USER_DATA_LIMIT_BYTES } from "./user-data.ts";
import { controlCharacterAt, MIN_HARD_STOP_MINUTES } from "./user-data-input.ts";
import { hardStopMinutes, stageRuns, worstUserData, type ScriptConfig } from "./stage-script.ts";

export const NAMESPACE = "windtunnel";
export const STAGES = ["plan", "sanity", "full"] as const;
export type Stage = (typeof STAGES)[number];

const positive = () => z.number({ error: "expected a number" }).check(z.positive({ error: "expected a number > 0" }));
const count = () => z.int({ error: "expected a whole number" }).check(z.positive({ error: "expected a whole number ≥ 1" }));
const nonEmpty = () => z.string().check(z.minLength(1));

/** Text that goes into the node's script holds no control characters but tab and newline. */
const noControlCharacters = <T>() =>
  z.superRefine<T>((v, ctx) => {
    const at = typeof v === "string" ? controlCharacterAt(v) : undefined;
    if (at !== undefined) ctx.issues.push({ code: "custom", message: `expected no control characters but tab and newline (${at})`, input: v });
  });
const scriptText = () => z.string().check(noControlCharacters());
const command = () => scriptText().check(z.minLength(1));

// docker reads an argument starting with "-" as an option, never as an image; a reference holds no
// spaces. The user data also puts "--" before the image, in case a caller skips this schema.
const imageRef = () =>
  scriptText().check(
    z.minLength(1),
    z.refine((s) => !s.startsWith("-"), { error: "expected a docker image reference, which cannot start with - (docker would read it as an option)" }),
    z.refine((s) => !/\s/.test(s), { error: "expected a docker image reference, which holds no spaces" }),
    z.refine((s) => s.startsWith("-") || /\s/.test(s) || IMAGE_REFERENCE.test(s), { error: "expected a docker image reference such as ghcr.io/org/train:v1 or 123456789012.dkr.ecr.us-east-1.amazonaws.com/pretrain@sha256:…; docker would refuse it only after the node has booted" }),
  );

/**
 * A docker image reference (distribution/reference's grammar): [host[:port]/]path[:tag][@digest],
 * the path lower case in components joined by . _ __ or -.
 */
const IMAGE_REFERENCE = /^(?:(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::\d+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@[a-z0-9]+(?:[+._-][a-z0-9]+)*:[0-9a-fA-F]{32,})?$/;

// Campaign ids go into bucket names, IAM names and tags: lower case, short, DNS-safe.
const campaignId = () =>
  z.string().check(
    z.regex(/^[a-z][a-z0-9-]{1,28}[a-z0-9]$/, { error: "expected 3–30 characters of a-z, 0-9 and -, starting with a letter" }),
    // The campaign's prefix is its id: "watchdog" would put the node's writable prefix over the watchdog's own keys.
    z.refine((id) => id !== WATCHDOG_FOLDER, { error: `"${WATCHDOG_FOLDER}" is reserved (the watchdog's own keys live under ${WATCHDOG_FOLDER}/ in the bucket)` }),
  );

export const DEFAULT_INSTANCE_TYPE = "p5.48xlarge";

export const nodeConfigSchema = lazy(() =>
  z.strictObject({
    instanceType: described(z._default(nonEmpty(), DEFAULT_INSTANCE_TYPE), "EC2 instance type; the spend policy lists the allowed ones"),
    count: described(z._default(count(), 1), "nodes; more than one adds a cluster placement group, EFA and torchrun rendezvous on the first node"),
    gpusPerNode: z._default(count(), 8),
    market: z._default(z.enum(MARKETS), "spot"),
    hourlyUsd: described(positive(), "what one node costs per hour in this market: the spend gate's forecast"),
    maxPriceUsd: described(z.optional(positive()), "spot only: a per-node-hour price cap; AWS discourages it (more interruptions), the hours cap and budget are the real guards"),
    capacityReservationId: described(z.optional(z.string().check(z.regex(/^cr-[0-9a-f]{8,17}$/, { error: "expected a capacity reservation id cr-…" }))), "capacity-block only: the purchased block"),
    rootVolumeGb: described(z._default(z.int().check(z.minimum(100), z.maximum(16384)), 500), "encrypted gp3 root volume (container images, checkpoints in flight)"),
    subnetId: described(z.optional(z.string().check(z.regex(/^subnet-[0-9a-f]{8,17}$/, { error: "expected a subnet id subnet-…" }))), "default: the region's default VPC (a capacity block needs its own AZ's subnet)"),
    amiId: described(z.optional(z.string().check(z.regex(/^ami-[0-9a-f]{8,17}$/, { error: "expected an AMI id ami-…" }))), "default: the latest AWS Deep Learning Base OSS Nvidia Driver GPU AMI (Ubuntu 24.04), from its public SSM parameter"),
  }).check(
    z.refine((n) => n.market === "capacity-block" || n.capacityReservationId === undefined, { error: "capacityReservationId is only for market capacity-block", path: ["capacityReservationId"] }),
    z.refine((n) => n.market !== "capacity-block" || n.capacityReservationId !== undefined, { error: "market capacity-block needs capacityReservationId (the block you purchased)", path: ["capacityReservationId"] }),
    z.refine((n) => n.market === "spot" || n.maxPriceUsd === undefined, { error: "maxPriceUsd is only for market spot", path: ["maxPriceUsd"] }),
    // EC2 gives no public IPv4 to an instance with several network interfaces (EFA), so a
    // multi-node run needs a subnet that reaches S3, ECR and SSM without one (NAT or endpoints).
    z.refine((n) => n.count <= 1 || n.subnetId !== undefined, { error: "count > 1 needs subnetId: a private subnet with a NAT gateway or VPC endpoints (EFA nodes get no public IP)", path: ["subnetId"] }),
  ),
);

const sanityCommandSchema = () =>
  z.strictObject({
    name: described(z.string().check(z.regex(/^[a-z0-9][a-z0-9_-]*$/, { error: "expected a tag of a-z, 0-9, _ and -" })), "the metrics tag of this run, e.g. bf16, fp8, tp2pp2, reference"),
    command: command(),
  });

/** How the watchdog recovers from spot interruptions; `maxRestarts: 0` turns recovery off. */
export const recoverySchema = () =>
  z.strictObject({
    maxRestarts: described(z._default(z.int().check(z.nonnegative(), z.maximum(20)), 2), "replacements at most over the campaign; 0: an interruption ends the run (alert only)"),
    windowHours: described(z._default(positive(), 12), "no replacement once this many hours have passed since the first interruption"),
    backoffMinutes: described(z._default(positive(), 4), "wait after AWS refuses a launch (no capacity), doubled on each further refusal"),
    subnets: described(z._default(z.array(z.string().check(z.regex(/^subnet-[0-9a-f]{8,17}$/, { error: "expected a subnet id subnet-…" }))), []), "subnets (AZs) to launch replacements into, in order; the interrupted one is tried last. Empty: the launch template's"),
    fallbackAfter: described(z.optional(z.int({ error: "expected a whole number" }).check(z.positive({ error: "expected a whole number ≥ 1" }), z.maximum(20))), "after this many spot interruptions the replacement is on-demand (AWS does not reclaim it), paid at onDemandHourlyUsd; absent: always spot"),
    onDemandHourlyUsd: described(z.optional(positive()), `fallbackAfter only: what one node costs per hour on demand, for the fallback's budget check and cost; default: the built-in price of the instance type (${Object.entries(ON_DEMAND_HOURLY_USD).map(([t, usd]) => `${t} $${usd}/h`).join(", ")}, us-east-1)`),
  });

export const stackConfigSchema = lazy(() =>
  z.strictObject({
    campaign: described(campaignId(), "the campaign id: names and tags every resource (windtunnel:campaign)"),
    stage: described(z.enum(STAGES), "plan: run the gates only; sanity: the node runs the sanity-day commands; full: the training command"),
    evidence: z.strictObject({
      trajectory: described(z.optional(nonEmpty()), "the Phase 1 trajectory, relative to the project folder"),
      curves: described(z.optional(z.array(nonEmpty()).check(z.minLength(1))), "the Phase 2 curves: paths or globs"),
      verdict: described(z.optional(nonEmpty()), "the verdict reviewed in CI: every evidence file must still hash as it did (evidence paths default to the verdict's)"),
    }).check(z.refine((e) => e.verdict !== undefined || (e.trajectory !== undefined && e.curves !== undefined), { error: "give trajectory and curves, or a verdict that names them" })),
    policy: described(z._default(nonEmpty(), "default"), "gate policy: a YAML file or a built-in name (default, strict)"),
    budgetUsd: described(positive(), "the most the campaign may cost; also the AWS Budget's limit"),
    hours: described(positive(), "hours of the final run"),
    sanityHours: described(z._default(z.number().check(z.nonnegative()), 24), "hours of the sanity day"),
    hoursCap: described(positive(), "wall-clock hours a node may live, sanity day included: a timer on the node powers it off (terminates it) at this cap"),
    node: nodeConfigSchema(),
    container: z.strictObject({
      image: described(imageRef(), "the training image; an ECR image is pulled with the node's role (read access to that repository only)"),
      command: described(command(), "the training command (stage full), run in the container"),
      sanityCommands: described(z._default(z.array(sanityCommandSchema()), []), "the sanity-day runs (stage sanity), one after the other, each writing metrics tagged with its name"),
    }),
    sanity: described(
      z.optional(z.strictObject({ metrics: described(z.array(nonEmpty()).check(z.minLength(1)), "the sanity day's metrics files (paths or globs), e.g. synced from s3://<bucket>/<campaign>/sanity/") })),
      "stage full: the sanity day's evidence, re-judged by the sanity gates before the training node is created",
    ),
    envelope: described(z.optional(nonEmpty()), "stage full: the forecast (windtunnel forecast --out envelope.json) the watchdog holds the cloud loss to; without it the verify gate is off"),
    target: described(z._default(z.record(scriptText(), z.union([z.number(), z.string()]).check(noControlCharacters())), {}), "the target architecture (params, layers, d_model, …), passed to the container as WINDTUNNEL_TARGET"),
    schedule: described(z.optional(scheduleSchema()), "the target run's learning-rate schedule: windtunnel forecast --stack forecasts for it, and stage full refuses an envelope forecast for another"),
    alertEmail: described(z.string().check(z.regex(/^[^@\s]+@[^@\s]+\.[^@\s]+$/, { error: "expected an e-mail address" })), "budget alerts go to an SNS topic with this address subscribed"),
    checkpointRetentionDays: described(z._default(count(), 30), "checkpoints/ objects (and old versions of any object) expire after this many days"),
    metricsIntervalS: described(z._default(z.int().check(z.minimum(10), z.maximum(3600)), 60), "seconds between metric uploads from the node"),
    recovery: described(z._default(recoverySchema(), () => recoverySchema().parse({})), "spot interruptions: the watchdog launches a replacement from the launch template, which resumes from the newest checkpoint (single-node campaigns)"),
  }).check(
    z.refine((c) => c.stage !== "sanity" || c.container.sanityCommands.length > 0, { error: "stage sanity needs at least one sanity command", path: ["container", "sanityCommands"] }),
    z.refine((c) => c.stage !== "full" || c.sanity !== undefined, { error: "stage full needs the sanity day's metrics (windtunnel:sanity.metrics)", path: ["sanity"] }),
    z.refine((c) => c.envelope === undefined || c.stage === "full", { error: "envelope is for stage full (the verify gate)", path: ["envelope"] }),
    z.refine((c) => c.hoursCap >= c.sanityHours, { error: "hoursCap must cover at least the sanity day", path: ["hoursCap"] }),
    // The node's timer is its last guard; a stage that leaves it no time powers the node off at
    // boot (red-team finding 22: sanityHours 0 became `shutdown -P +0`).
    z.refine((c) => c.stage !== "sanity" || hardStopMinutes(c) >= MIN_HARD_STOP_MINUTES, { error: `stage sanity needs sanityHours ≥ ${MIN_HARD_STOP_MINUTES / 60}: the node powers itself off after the sanity day (0 would power it off at boot)`, path: ["sanityHours"] }),
    z.refine((c) => c.stage !== "full" || hardStopMinutes(c) >= MIN_HARD_STOP_MINUTES, { error: `stage full needs hoursCap ≥ sanityHours + ${MIN_HARD_STOP_MINUTES / 60}: the training node powers itself off after what the cap leaves once the sanity day is spent`, path: ["hoursCap"] }),
    z.superRefine((c, ctx) => {
      for (const p of fallbackProblems(c)) ctx.issues.push({ code: "custom", path: ["recovery", p.key], message: p.message, input: p.input });
    }),
    z.superRefine((c, ctx) => {
      const over = userDataOverLimit(c);
      if (over) ctx.issues.push({ code: "custom", path: over.path, message: over.message, input: c });
    }),
  ).register(z.globalRegistry, { title: "windtunnel stack config (the windtunnel:* keys of Pulumi.<stack>.yaml)" }),
);

export type StackConfig = z.output<ReturnType<typeof stackConfigSchema>>;
export type NodeConfig = StackConfig["node"];

/**
 * How Pulumi hands each key to the program: plain strings as they are, everything else as JSON
 * text. The mapped type makes a new key impossible to forget here.
 */
export const KEY_ENCODING: { readonly [K in keyof StackConfig]-?: "string" | "json" } = {
  campaign: "string",
  stage: "string",
  evidence: "json",
  policy: "string",
  budgetUsd: "json",
  hours: "json",
  sanityHours: "json",
  hoursCap: "json",
  node: "json",
  container: "json",
  sanity: "json",
  envelope: "string",
  target: "json",
  schedule: "json",
  alertEmail: "string",
  checkpointRetentionDays: "json",
  metricsIntervalS: "json",
  recovery: "json",
};

export const CONFIG_KEYS = Object.keys(KEY_ENCODING) as (keyof StackConfig)[];

export interface ConfigProblem {
  /** `windtunnel:node.count` */
  key: string;
  message: string;
}

/** Decode raw config strings (as `pulumi.Config#get` returns them) into values for the schema. */
export function decodeConfig(get: (key: string) => string | undefined): { raw: Record<string, unknown>; problems: ConfigProblem[] } {
  const raw: Record<string, unknown> = {};
  const problems: ConfigProblem[] = [];
  for (const key of CONFIG_KEYS) {
    const text = get(key);
    if (text === undefined) continue;
    if (KEY_ENCODING[key] === "string") {
      raw[key] = text;
      continue;
    }
    try {
      raw[key] = JSON.parse(text);
    } catch {
      problems.push({ key: `${NAMESPACE}:${key}`, message: `expected JSON (an object or a number), got ${JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text)}` });
    }
  }
  return { raw, problems };
}

/** Encode typed values (from a YAML stack file) the way the Pulumi CLI passes config to a program. */
export function encodeConfigValue(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** The node's instance type as written, for checks that must run when the config as a whole did not parse. */
export function instanceTypeOf(raw: Record<string, unknown>): string {
  const node = raw["node"];
  const type = node !== null && typeof node === "object" ? (node as Record<string, unknown>)["instanceType"] : undefined;
  return typeof type === "string" ? type : DEFAULT_INSTANCE_TYPE;
}

/** Validate decoded config: the typed config, or every problem with its key path. */
export function parseStackConfig(raw: Record<string, unknown>): { config: StackConfig } | { problems: ConfigProblem[] } {
  const r = stackConfigSchema().safeParse(raw);
  if (r.success) return { config: r.data };
  return {
    problems: r.error.issues.flatMap((issue) => {
      if (issue.code === "unrecognized_keys") return issue.keys.map((k) => ({ key: `${NAMESPACE}:${[...issue.path, k].map(String).join(".")}`, message: "unknown key (a typo? see windtunnel schema stack)" }));
      const { message } = describeIssue(issue, raw);
      return [{ key: `${NAMESPACE}:${issue.path.map(String).join(".") || "config"}`, message }];
    }),
  };
}

/**
 * recovery.fallbackAfter's rules: only a single spot node is relaunched at all, a fallback past
 * maxRestarts would never launch, and the on-demand price must be known (and, as AWS caps spot at
 * the on-demand price, not below the spot price typed in node.hourlyUsd).
 */
function fallbackProblems(c: Pick<StackConfig, "node" | "recovery">): { key: "fallbackAfter" | "onDemandHourlyUsd"; message: string; input: unknown }[] {
  const r = c.recovery;
  if (r.fallbackAfter === undefined) return r.onDemandHourlyUsd !== undefined ? [{ key: "onDemandHourlyUsd", message: "onDemandHourlyUsd is only for recovery.fallbackAfter (the on-demand replacement's price)", input: r.onDemandHourlyUsd }] : [];
  const out: { key: "fallbackAfter" | "onDemandHourlyUsd"; message: string; input: unknown }[] = [];
  if (c.node.market !== "spot" || c.node.count !== 1) out.push({ key: "fallbackAfter", message: `fallbackAfter is for a single spot node (node.market spot, node.count 1; here ${c.node.market} × ${c.node.count}): only such a node is relaunched`, input: r.fallbackAfter });
  if (r.fallbackAfter > r.maxRestarts) out.push({ key: "fallbackAfter", message: `expected at most recovery.maxRestarts, ${r.maxRestarts} (a replacement after more interruptions than restarts is never launched, so the fallback would never happen)`, input: r.fallbackAfter });
  const price = onDemandHourlyUsd(c.node.instanceType, r.onDemandHourlyUsd);
  const why = "AWS caps spot at the on-demand price: a lower one is a typo, and would let the fallback's budget check pass too easily";
  if (price === undefined) out.push({ key: "onDemandHourlyUsd", message: `needed with recovery.fallbackAfter: windtunnel knows no on-demand price for ${c.node.instanceType} (only ${Object.keys(ON_DEMAND_HOURLY_USD).join(", ")}); give what one node costs per hour on demand`, input: undefined });
  else if (r.onDemandHourlyUsd !== undefined && price < c.node.hourlyUsd) out.push({ key: "onDemandHourlyUsd", message: `expected at least node.hourlyUsd, $${c.node.hourlyUsd}/h (${why})`, input: price });
  else if (price < c.node.hourlyUsd) out.push({ key: "onDemandHourlyUsd", message: `needed with recovery.fallbackAfter: the built-in on-demand price of ${c.node.instanceType}, $${price}/h, is below node.hourlyUsd, $${c.node.hourlyUsd}/h (${why}); give this region's on-demand price`, input: undefined });
  return out;
}

const bytes = (n: number): string => `${n.toLocaleString("en-US")} byte${n === 1 ? "" : "s"}`;

/**
 * EC2 refuses user data over 16 KB (red-team finding 23), and only at RunInstances, after the
 * bucket, roles and budget exist. The problem goes to the key that fills the script most.
 */
function userDataOverLimit(c: ScriptConfig): { path: (string | number)[]; message: string } | undefined {
  const worst = worstUserData(c);
  if (!worst || worst.bytes <= EC2_USER_DATA_LIMIT_BYTES) return undefined;
  const runsKey = c.stage === "sanity" ? "sanityCommands" : "command";
  const parts: { path: (string | number)[]; what: string; size: number }[] = [
    { path: ["container", runsKey], what: `${NAMESPACE}:container.${runsKey}`, size: stageRuns(c).reduce((n, r) => n + byteLength(r.name + r.command), 0) },
    { path: ["target"], what: `${NAMESPACE}:target`, size: byteLength(JSON.stringify(c.target)) },
    { path: ["container", "image"], what: `${NAMESPACE}:container.image`, size: byteLength(c.container.image) },
  ].sort((a, b) => b.size - a.size);
  const top = parts[0] as (typeof parts)[number];
  return {
    path: top.path,
    message: `expected the node's user data to fit EC2's limit of ${bytes(EC2_USER_DATA_LIMIT_BYTES)} (before base64), but it would be ${bytes(worst.bytes)}` +
      ` (node rank ${worst.rank}, measured with a 63-character bucket name); ${parts.map((p) => `${p.what} ${bytes(p.size)}`).join(", ")}: put long commands in a script inside the image and run that`,
  };
}

/** The campaign plan the spend gates judge, from the stack's config. */
export function campaignPlanOf(c: StackConfig): CampaignPlan {
  return {
    instance_type: c.node.instanceType,
    nodes: c.node.count,
    gpus_per_node: c.node.gpusPerNode,
    market: c.node.market,
    node_hourly_usd: c.node.hourlyUsd,
    hours: c.hours,
    sanity_hours: c.sanityHours,
    budget_usd: c.budgetUsd,
    hours_cap: c.hoursCap,
    ...(c.node.maxPriceUsd !== undefined ? { max_price_usd: c.node.maxPriceUsd } : {}),
  };
}
