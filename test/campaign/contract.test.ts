// The campaign contract against the IAM policies the program writes, without mocks: every key the
// node's `aws s3 sync` and the watchdog use (from the contract module) is checked against the
// policies' statements with a small evaluator of IAM's S3 resource matching (`*` and `?` in ARNs,
// StringLike on s3:prefix), and so is what each must not touch.
import { describe, expect, it } from "vitest";
import { attemptFolder, campaignPrefix, CHECKPOINT_MARKER, checkpointsPrefix, EVENTS_FILE, eventsKey, metricsKey, nodePrefix, runCheckpointsPrefix, stagePrefix, teardownKey, watchdogConfigKey, watchdogStateKey } from "../../src/campaign/layout.ts";
import { parseWatchdogTarget } from "../../src/campaign/watchdog-config.ts";
import { nodeRolePolicy, watchdogRolePolicy } from "../../src/infra/policies.ts";
import { parseStackConfig } from "../../src/infra/config.ts";
import { stackConfig } from "../helpers/stack.ts";
import { DEFAULT_POLICY } from "../helpers/policy.ts";

interface Statement { Effect: string; Action: string | string[]; Resource: string | string[]; Condition?: Record<string, Record<string, string | string[]>> }
const BUCKET = "arn:aws:s3:::wt-gpt7b-artifacts-1234";

/** IAM's ARN wildcard match: `*` any run of characters, `?` one. */
const like = (pattern: string, value: string): boolean => new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`).test(value);
const list = (x: string | string[]): string[] => (Array.isArray(x) ? x : [x]);

/** Whether an Allow statement of the document permits `action` on the object `key` (GetObject/PutObject), or a ListBucket with `prefix`. */
function allows(doc: { Statement: Statement[] }, action: string, req: { key?: string; listPrefix?: string }): boolean {
  return doc.Statement.some((s) => {
    if (s.Effect !== "Allow" || !list(s.Action).some((a) => like(a, action))) return false;
    if (req.key !== undefined) return list(s.Resource).some((r) => like(r, `${BUCKET}/${req.key}`));
    if (!list(s.Resource).includes(BUCKET)) return false;
    const prefixes = s.Condition?.["StringLike"]?.["s3:prefix"];
    return prefixes === undefined || list(prefixes).some((p) => like(p, req.listPrefix ?? ""));
  });
}

/**
 * Whether the document allows a RunInstances request: every resource it touches (IAM authorizes
 * each one) must be matched by an Allow statement whose conditions (ArnEquals, StringEquals) all
 * hold in the request's context, as IAM evaluates them: a missing key fails its condition.
 */
function allowsRunInstances(doc: { Statement: Statement[] }, resources: readonly string[], context: Record<string, string>): boolean {
  const holds = (cond: Statement["Condition"]): boolean =>
    Object.entries(cond ?? {}).every(([op, keys]) =>
      Object.entries(keys).every(([key, want]) => {
        const got = context[key];
        if (got === undefined) return false;
        if (op === "ArnEquals" || op === "ArnLike") return list(want).some((w) => like(w, got));
        if (op === "StringEquals") return list(want).includes(got);
        throw new Error(`the evaluator does not know ${op}`);
      }),
    );
  return resources.every((arn) => doc.Statement.some((st) => st.Effect === "Allow" && list(st.Action).some((a) => like(a, "ec2:RunInstances")) && list(st.Resource).some((r) => like(r, arn)) && holds(st.Condition)));
}

describe("the campaign contract and the IAM policies", () => {
  const campaign = "gpt7b";
  const prefix = campaignPrefix(campaign);
  const node = nodeRolePolicy({ bucketArn: BUCKET, prefix, image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/pretrain:v1" }) as unknown as { Statement: Statement[] };
  const watchdog = watchdogRolePolicy({ bucketArn: BUCKET, campaign, topicArn: "arn:aws:sns:us-east-1:123456789012:t", logGroupArn: "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/x" }) as unknown as { Statement: Statement[] };

  it("the node may sync exactly its own keys: metrics, events and checkpoints under its campaign's prefix", () => {
    for (const stage of ["sanity", "full"]) {
      for (const rank of [0, 3]) {
        // `aws s3 sync $OUT s3://$BUCKET/<node prefix>/` lists the destination prefix, then puts each file.
        expect(allows(node, "s3:ListBucket", { listPrefix: nodePrefix(prefix, stage, rank) })).toBe(true);
        for (const key of [metricsKey(prefix, stage, rank, "train"), eventsKey(prefix, stage, rank)]) {
          expect(allows(node, "s3:PutObject", { key }), key).toBe(true);
        }
      }
    }
    expect(allows(node, "s3:PutObject", { key: `${checkpointsPrefix(prefix)}step-1000/model.pt` })).toBe(true);
    expect(allows(node, "s3:GetObject", { key: `${checkpointsPrefix(prefix)}step-1000/model.pt` })).toBe(true);
  });

  // Issue 17: a replacement syncs into attempt-<n>/; before a run starts the node reads the run's
  // marker, and with its attempt unknown it reads the node folder's events before shipping there.
  it("the node may sync a replacement's attempt-<n>/ folder, read and write each run's marker, and read its own events", () => {
    const second = `${nodePrefix(prefix, "full", 0)}${attemptFolder(2)}`;
    expect(allows(node, "s3:ListBucket", { listPrefix: second })).toBe(true);
    for (const key of [metricsKey(prefix, "full", 0, `${attemptFolder(2)}train`), `${second}${EVENTS_FILE}`]) expect(allows(node, "s3:PutObject", { key }), key).toBe(true);
    const marker = `${runCheckpointsPrefix(prefix, "full", "train")}${CHECKPOINT_MARKER}`;
    for (const action of ["s3:GetObject", "s3:PutObject"]) expect(allows(node, action, { key: marker }), action).toBe(true);
    expect(allows(node, "s3:ListBucket", { listPrefix: runCheckpointsPrefix(prefix, "full", "train") })).toBe(true);
    expect(allows(node, "s3:GetObject", { key: eventsKey(prefix, "full", 0) })).toBe(true);
    expect(allows(node, "s3:GetObject", { key: `${runCheckpointsPrefix(campaignPrefix("other"), "full", "train")}${CHECKPOINT_MARKER}` })).toBe(false);
  });

  it("the node may not touch the watchdog's keys, another campaign's prefix, or delete anything", () => {
    for (const key of [watchdogStateKey(campaign, "full"), watchdogConfigKey(campaign, "full"), teardownKey(campaign, "full", new Date()), metricsKey(campaignPrefix("other"), "full", 0, "train")]) {
      expect(allows(node, "s3:PutObject", { key }), key).toBe(false);
    }
    expect(allows(node, "s3:DeleteObject", { key: metricsKey(prefix, "full", 0, "train") })).toBe(false);
    expect(allows(node, "s3:ListBucket", { listPrefix: "watchdog/" })).toBe(false);
    expect(allows(node, "s3:ListBucket", { listPrefix: "other/" })).toBe(false);
  });

  it("the watchdog reads the nodes' keys and writes only its own", () => {
    expect(allows(watchdog, "s3:ListBucket", { listPrefix: stagePrefix(prefix, "full") })).toBe(true);
    expect(allows(watchdog, "s3:GetObject", { key: metricsKey(prefix, "full", 1, "train") })).toBe(true);
    expect(allows(watchdog, "s3:GetObject", { key: eventsKey(prefix, "sanity", 0) })).toBe(true);
    for (const key of [watchdogStateKey(campaign, "full"), teardownKey(campaign, "sanity", new Date())]) expect(allows(watchdog, "s3:PutObject", { key }), key).toBe(true);
    expect(allows(watchdog, "s3:GetObject", { key: watchdogConfigKey(campaign, "full") })).toBe(true);
    expect(allows(watchdog, "s3:PutObject", { key: metricsKey(prefix, "full", 0, "train") })).toBe(false);
    expect(allows(watchdog, "s3:PutObject", { key: watchdogStateKey("other", "full") })).toBe(false);
  });

  it("no campaign may be named after the watchdog's folder (its prefix would cover the watchdog's keys)", () => {
    const r = parseStackConfig(stackConfig({ campaign: "watchdog" }));
    expect("problems" in r && r.problems.map((p) => p.message).join(" ")).toContain('"watchdog" is reserved');
  });

  it("the handler refuses a config it cannot read, naming the field", () => {
    const good = { bucket: "b", prefix: "gpt7b", topicArn: "arn:t", config: { campaign: "gpt7b", stage: "full", hoursCap: 24, hourlyUsd: 55, nodes: 1, policy: { stress: DEFAULT_POLICY.stress, verify: DEFAULT_POLICY.verify, sanity: DEFAULT_POLICY.sanity, health: DEFAULT_POLICY.health } } };
    expect(parseWatchdogTarget(JSON.stringify(good)).ok).toBe(true);
    const { health: _h, ...noHealth } = good.config.policy;
    const bad = parseWatchdogTarget(JSON.stringify({ ...good, config: { ...good.config, policy: noHealth } }));
    expect(bad).toMatchObject({ ok: false, problems: [expect.stringContaining("config.policy.health")] });
    expect(parseWatchdogTarget("{")).toMatchObject({ ok: false, problems: [expect.stringMatching(/^not JSON/)] });
  });

  // Issue 17, recovery.fallbackAfter: the on-demand replacement comes from the template's on-demand
  // twin, so the watchdog may launch from it; from no other template, and never untagged.
  it("the watchdog may relaunch from the campaign's templates only: the on-demand twin only with the fallback", () => {
    const arn = (id: string) => `arn:aws:ec2:us-east-1:123456789012:launch-template/${id}`;
    const base = { bucketArn: BUCKET, campaign, topicArn: "arn:aws:sns:us-east-1:123456789012:t", logGroupArn: "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/x" };
    const grant = { launchTemplateArn: arn("lt-spot"), nodeRoleArn: "arn:aws:iam::123456789012:role/wt-gpt7b-node-1" };
    const withFallback = watchdogRolePolicy({ ...base, relaunch: { ...grant, onDemandLaunchTemplateArn: arn("lt-od") } }) as unknown as { Statement: Statement[] };
    const spotOnly = watchdogRolePolicy({ ...base, relaunch: grant }) as unknown as { Statement: Statement[] };
    const created = ["instance", "volume", "network-interface"].map((t) => `arn:aws:ec2:us-east-1:123456789012:${t}/*`);
    const used = ["subnet/subnet-0a", "security-group/sg-0a"].map((r) => `arn:aws:ec2:us-east-1:123456789012:${r}`).concat("arn:aws:ec2:us-east-1::image/ami-0a");
    const launch = (template: string, { spot = false, tagged = true } = {}) => ({
      resources: [...created, ...(spot ? ["arn:aws:ec2:us-east-1:123456789012:spot-instances-request/*"] : []), arn(template), ...used],
      context: { "ec2:LaunchTemplate": arn(template), ...(tagged ? { "aws:RequestTag/windtunnel:campaign": campaign } : {}) },
    });
    const allowed = (doc: { Statement: Statement[] }, l: ReturnType<typeof launch>) => allowsRunInstances(doc, l.resources, l.context);
    expect(allowed(withFallback, launch("lt-od"))).toBe(true);
    expect(allowed(withFallback, launch("lt-spot", { spot: true }))).toBe(true);
    expect(allowed(spotOnly, launch("lt-spot", { spot: true }))).toBe(true);
    expect(allowed(spotOnly, launch("lt-od"))).toBe(false);
    expect(allowed(withFallback, launch("lt-other"))).toBe(false);
    expect(allowed(withFallback, launch("lt-od", { tagged: false }))).toBe(false);
    expect(allowed(withFallback, { ...launch("lt-od"), context: { ...launch("lt-od").context, "aws:RequestTag/windtunnel:campaign": "other" } })).toBe(false);
  });
});
