import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { CONFIG_KEYS, decodeConfig, encodeConfigValue, parseStackConfig, campaignPlanOf, type StackConfig } from "../../src/infra/config.ts";
import { worstUserData } from "../../src/infra/stage-script.ts";
import { EC2_USER_DATA_LIMIT_BYTES } from "../../src/infra/user-data.ts";
import { readStackFile } from "../../src/infra/stack-file.ts";
import { ecrRepositoryOf, nodeRolePolicy } from "../../src/infra/policies.ts";
import { networkInterfaces } from "../../src/infra/training-node.ts";
import { stackConfig } from "../helpers/stack.ts";
import { useTmpDir } from "../helpers/tmp.ts";
import { REPO } from "../helpers/shared.ts";

describe("stack config", () => {
  it("round-trips through Pulumi's string encoding for every key", () => {
    const c = stackConfig({ stage: "full", envelope: "envelope.json", sanityHours: 12, checkpointRetentionDays: 7, metricsIntervalS: 30, recovery: { maxRestarts: 1, windowHours: 6, backoffMinutes: 2, subnets: ["subnet-0123456789abcdef0"] }, policy: "strict", sanity: { metrics: ["sanity/*.jsonl"] }, schedule: { total_steps: 20000, warmup_steps: 200, shape: "cosine", cooldown_frac: 1, final_frac: 0.1 } });
    const encoded = Object.fromEntries(Object.entries(c).map(([k, v]) => [k, encodeConfigValue(v)]));
    const { raw, problems } = decodeConfig((k) => encoded[k]);
    expect(problems).toEqual([]);
    const parsed = parseStackConfig(raw);
    expect("config" in parsed && parsed.config).toMatchObject(c);
    expect(CONFIG_KEYS.every((k) => k in raw)).toBe(true);
  });

  it("any budget and hours round-trip to the campaign plan the spend gates judge", () => {
    fc.assert(fc.property(fc.double({ min: 1, max: 1e7, noNaN: true }), fc.integer({ min: 1, max: 2000 }), (budget, hours) => {
      const c = stackConfig({ budgetUsd: budget, hours, hoursCap: hours + 24 });
      const e = Object.fromEntries(Object.entries(c).map(([k, v]) => [k, encodeConfigValue(v)]));
      const parsed = parseStackConfig(decodeConfig((k) => e[k]).raw);
      if (!("config" in parsed)) return false;
      const plan = campaignPlanOf(parsed.config);
      return plan.budget_usd === budget && plan.hours === hours && plan.hours_cap === hours + 24 && plan.node_hourly_usd === 28;
    }));
  });

  it("the spot max price reaches the campaign plan the spend gates judge, and only when set", () => {
    const plan = (node: Record<string, unknown>) => {
      const r = parseStackConfig(stackConfig({ node }));
      if (!("config" in r)) throw new Error(JSON.stringify(r.problems));
      return campaignPlanOf(r.config);
    };
    expect(plan({ hourlyUsd: 28, maxPriceUsd: 5 }).max_price_usd).toBe(5);
    expect(plan({ hourlyUsd: 28 })).not.toHaveProperty("max_price_usd");
  });

  it.each([
    [{ campaign: "Bad_Name" }, "windtunnel:campaign", "expected 3–30 characters"],
    [{ stage: "prod" }, "windtunnel:stage", 'expected one of "plan"|"sanity"|"full"'],
    [{ node: { hourlyUsd: 28, market: "spot", capacityReservationId: "cr-0123456789abcdef0" } }, "windtunnel:node.capacityReservationId", "only for market capacity-block"],
    [{ node: { hourlyUsd: 28, market: "on-demand", maxPriceUsd: 30 } }, "windtunnel:node.maxPriceUsd", "only for market spot"],
    [{ node: { hourlyUsd: 28, count: 2 } }, "windtunnel:node.subnetId", "count > 1 needs subnetId"],
    [{ evidence: {} }, "windtunnel:evidence", "give trajectory and curves, or a verdict"],
    [{ hoursCap: 10 }, "windtunnel:hoursCap", "must cover at least the sanity day"],
    [{ container: { image: "x", command: "y", sanityCommands: [] } }, "windtunnel:container.sanityCommands", "stage sanity needs at least one"],
    [{ typo: 1 }, "windtunnel:typo", "unknown key"],
    // Red-team finding 22: the node's timer would power it off at boot.
    [{ sanityHours: 0 }, "windtunnel:sanityHours", "stage sanity needs sanityHours ≥ 0.5: the node powers itself off after the sanity day (0 would power it off at boot), got 0"],
    [{ sanityHours: 0.4 }, "windtunnel:sanityHours", "stage sanity needs sanityHours ≥ 0.5"],
    [{ stage: "full", sanity: { metrics: ["s.jsonl"] }, sanityHours: 24, hoursCap: 24 }, "windtunnel:hoursCap", "stage full needs hoursCap ≥ sanityHours + 0.5"],
    // Red-team finding 24: an image named like an option, and control characters.
    [{ container: { image: "-v/:/host", command: "y", sanityCommands: [{ name: "a", command: "b" }] } }, "windtunnel:container.image", "cannot start with - (docker would read it as an option)"],
    [{ container: { image: "nvcr.io/x y", command: "y", sanityCommands: [{ name: "a", command: "b" }] } }, "windtunnel:container.image", "holds no spaces"],
    // Not an image reference at all: docker would refuse it only on the booted node.
    [{ container: { image: "ubuntu;reboot", command: "y", sanityCommands: [{ name: "a", command: "b" }] } }, "windtunnel:container.image", "expected a docker image reference such as"],
    [{ container: { image: "Pretrain:v1", command: "y", sanityCommands: [{ name: "a", command: "b" }] } }, "windtunnel:container.image", "expected a docker image reference such as"],
    [{ container: { image: "x", command: "y", sanityCommands: [{ name: "a", command: "python train.py\u0000--x" }] } }, "windtunnel:container.sanityCommands.0.command", "expected no control characters but tab and newline (U+0000 at index 15)"],
    [{ container: { image: "x", command: "torchrun\r", sanityCommands: [{ name: "a", command: "b" }] } }, "windtunnel:container.command", "(U+000D at index 8)"],
    [{ target: { note: "\u001b[2J" } }, "windtunnel:target.note", "(U+001B at index 0)"],
    // Issue 17, recovery.fallbackAfter: the on-demand fallback needs a single spot node, a restart to fall back on, and a price.
    [{ recovery: { fallbackAfter: 3 } }, "windtunnel:recovery.fallbackAfter", "expected at most recovery.maxRestarts, 2 (a replacement after more interruptions than restarts is never launched, so the fallback would never happen), got 3"],
    [{ recovery: { maxRestarts: 0, fallbackAfter: 1 } }, "windtunnel:recovery.fallbackAfter", "expected at most recovery.maxRestarts, 0"],
    [{ recovery: { fallbackAfter: 0 } }, "windtunnel:recovery.fallbackAfter", "expected a whole number ≥ 1, got 0"],
    [{ recovery: { fallbackAfter: 1.5 } }, "windtunnel:recovery.fallbackAfter", "expected a whole number"],
    [{ recovery: { fallbackAfter: 1 }, node: { hourlyUsd: 28, count: 2, subnetId: "subnet-0123456789abcdef0" } }, "windtunnel:recovery.fallbackAfter", "fallbackAfter is for a single spot node (node.market spot, node.count 1; here spot × 2)"],
    [{ recovery: { fallbackAfter: 1 }, node: { hourlyUsd: 28, instanceType: "p4d.24xlarge" } }, "windtunnel:recovery.onDemandHourlyUsd", "needed with recovery.fallbackAfter: windtunnel knows no on-demand price for p4d.24xlarge"],
    [{ recovery: { fallbackAfter: 1 }, node: { hourlyUsd: 60 } }, "windtunnel:recovery.onDemandHourlyUsd", "the built-in on-demand price of p5.48xlarge, $55.04/h, is below node.hourlyUsd, $60/h"],
    [{ recovery: { fallbackAfter: 1, onDemandHourlyUsd: 27 } }, "windtunnel:recovery.onDemandHourlyUsd", "expected at least node.hourlyUsd, $28/h"],
    [{ recovery: { onDemandHourlyUsd: 55 } }, "windtunnel:recovery.onDemandHourlyUsd", "onDemandHourlyUsd is only for recovery.fallbackAfter"],
  ])("refuses %j at %s", (over, key, message) => {
    const r = parseStackConfig(stackConfig(over));
    expect("problems" in r).toBe(true);
    const p = "problems" in r ? r.problems.find((x) => x.key === key) : undefined;
    expect(p?.message).toContain(message);
  });

  it.each([
    ["stage sanity, the shortest sanity day", { sanityHours: 0.5 }],
    ["stage plan creates no node, so no sanity day is needed", { stage: "plan", sanityHours: 0 }],
    ["stage full with half an hour left", { stage: "full", sanity: { metrics: ["s.jsonl"] }, sanityHours: 24, hoursCap: 24.5 }],
    ["tabs and newlines in a command", { container: { image: "x", command: "a \\\n\tb", sanityCommands: [{ name: "a", command: "b\tc" }] } }],
    ["a registry with a port and a digest", { container: { image: `localhost:5000/team/train@sha256:${"a".repeat(64)}`, command: "c", sanityCommands: [{ name: "a", command: "b" }] } }],
    ["an NGC tag", { container: { image: "nvcr.io/nvidia/pytorch:24.05-py3", command: "c", sanityCommands: [{ name: "a", command: "b" }] } }],
    ["the on-demand fallback of the default node at its built-in price", { recovery: { fallbackAfter: 2 } }],
    ["the on-demand fallback of another type at a given price", { recovery: { fallbackAfter: 1, onDemandHourlyUsd: 32.77 }, node: { hourlyUsd: 12, instanceType: "p4d.24xlarge" } }],
  ])("accepts %s", (_name, over) => {
    expect(parseStackConfig(stackConfig(over))).not.toHaveProperty("problems");
  });

  it("a value Pulumi passes that is not JSON is reported with its key", () => {
    const { problems } = decodeConfig((k) => (k === "budgetUsd" ? "6k" : undefined));
    expect(problems).toEqual([{ key: "windtunnel:budgetUsd", message: 'expected JSON (an object or a number), got "6k"' }]);
  });
});

// Red-team finding 23: EC2 refuses user data over 16,384 bytes, after the rest is created.
describe("the node's user data against EC2's 16 KB limit", () => {
  const parsed = (over: Record<string, unknown>): StackConfig => {
    const r = parseStackConfig(stackConfig(over));
    if (!("config" in r)) throw new Error(JSON.stringify(r.problems));
    return r.config;
  };
  /** The sanity command length that makes the worst node's script exactly `bytes` long. */
  const commandFor = (bytes: number): string => {
    const base = worstUserData(parsed({ container: { image: "i", command: "c", sanityCommands: [{ name: "long", command: "x" }] } }))?.bytes ?? 0;
    return "x".repeat(bytes - base + 1);
  };
  const withCommand = (cmd: string) => stackConfig({ container: { image: "i", command: "c", sanityCommands: [{ name: "long", command: cmd }] } });

  it("is measured with the longest bucket name S3 allows, and accepted up to the limit", () => {
    const c = parsed({});
    expect(worstUserData(c)?.bytes).toBeGreaterThan(3000);
    expect(worstUserData(c)?.bytes).toBeLessThan(EC2_USER_DATA_LIMIT_BYTES);
    expect(parseStackConfig(withCommand(commandFor(EC2_USER_DATA_LIMIT_BYTES)))).not.toHaveProperty("problems");
  });

  it("refuses one byte more, naming the key that fills it, the size and what to do", () => {
    const r = parseStackConfig(withCommand(commandFor(EC2_USER_DATA_LIMIT_BYTES + 1)));
    expect("problems" in r && r.problems).toEqual([{
      key: "windtunnel:container.sanityCommands",
      message: expect.stringMatching(/^expected the node's user data to fit EC2's limit of 16,384 bytes \(before base64\), but it would be 16,385 bytes \(node rank 0, measured with a 63-character bucket name\); windtunnel:container\.sanityCommands [0-9,]+ bytes, windtunnel:target \d+ bytes, windtunnel:container\.image 1 byte: put long commands in a script inside the image and run that, got an array$/),
    }]);
  });

  it("stage full: the training command", () => {
    const r = parseStackConfig(stackConfig({ stage: "full", sanity: { metrics: ["s.jsonl"] }, container: { image: "i", command: "x".repeat(EC2_USER_DATA_LIMIT_BYTES), sanityCommands: [] } }));
    expect("problems" in r && r.problems.map((p) => p.key)).toEqual(["windtunnel:container.command"]);
  });

  it("names the target when it is what fills the script", () => {
    const r = parseStackConfig(stackConfig({ target: { notes: "n".repeat(EC2_USER_DATA_LIMIT_BYTES) } }));
    expect("problems" in r && r.problems.map((p) => p.key)).toEqual(["windtunnel:target"]);
  });

  it("measures every node rank: past 100 nodes the last rank's script is the longest", () => {
    const c = parsed({ budgetUsd: 1e9, node: { count: 101, hourlyUsd: 28, subnetId: "subnet-0123456789abcdef0" } });
    expect(worstUserData(c)?.rank).toBe(100);
    expect(worstUserData({ ...c, node: { ...c.node, count: 2 } })?.rank).toBe(0);
  });

  it("stage plan renders no script", () => {
    expect(worstUserData(parsed({ stage: "plan" }))).toBeUndefined();
  });
});

describe("stack file", () => {
  const tmp = useTmpDir();

  it("reads the worked example and points at the project folder", async () => {
    const s = await readStackFile(join(REPO, "stacks", "Pulumi.example.yaml"));
    expect(s.stack).toBe("example");
    expect(s.projectDir).toBe(REPO.replace(/\/$/, ""));
    expect(s.config.node.instanceType).toBe("p5.48xlarge");
    expect(s.encoded["windtunnel:budgetUsd"]).toBe("6000");
    expect(JSON.parse(s.encoded["windtunnel:node"] ?? "{}")).toMatchObject({ market: "spot", count: 1 });
    expect(s.encoded["aws:region"]).toBe("us-east-1");
  });

  it("reports every bad value at its file:line:col with the key path", async () => {
    const dir = tmp.dir();
    mkdirSync(join(dir, "stacks"));
    writeFileSync(join(dir, "Pulumi.yaml"), "name: windtunnel\n");
    const file = join(dir, "stacks", "Pulumi.bad.yaml");
    writeFileSync(file, [
      "config:",
      "  aws:region: us-east-1",
      "  windtunnel:campaign: ok-name",
      "  windtunnel:stage: plan",
      "  windtunnel:evidence: {trajectory: t.jsonl, curves: [c.jsonl]}",
      "  windtunnel:budgetUsd: lots",
      "  windtunnel:hours: 10",
      "  windtunnel:hoursCap: 40",
      "  windtunnel:node:",
      "    hourlyUsd: 28",
      "    count: 0",
      "  windtunnel:container: {image: i, command: c}",
      "  windtunnel:alertEmail: a@b.co",
      "  windtunnel:budgteUsd: 5",
      "",
    ].join("\n"));
    const err = await readStackFile(file).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    const lines = (err as Error).message.split("\n");
    expect(lines).toContain(`${file}:6:25: config.windtunnel:budgetUsd: expected a number, got "lots"`);
    expect(lines).toContain(`${file}:11:12: config.windtunnel:node.count: expected a whole number ≥ 1, got 0`);
    expect(lines.some((l) => l.startsWith(`${file}:14:3: config.windtunnel:budgteUsd: unknown key`))).toBe(true);
  });

  it("a bad recovery.fallbackAfter is reported at its line and column", async () => {
    const dir = tmp.dir();
    writeFileSync(join(dir, "Pulumi.yaml"), "name: windtunnel\n");
    const example = readFileSync(join(REPO, "stacks", "Pulumi.example.yaml"), "utf8");
    const file = join(dir, "Pulumi.od.yaml");
    writeFileSync(file, `${example.trimEnd()}\n  windtunnel:recovery:\n    maxRestarts: 1\n    fallbackAfter: 2\n`);
    const line = example.trimEnd().split("\n").length + 3;
    const err = await readStackFile(file).catch((e: Error) => e);
    expect((err as Error).message.split("\n")).toEqual([`${file}:${line}:20: config.windtunnel:recovery.fallbackAfter: expected at most recovery.maxRestarts, 1 (a replacement after more interruptions than restarts is never launched, so the fallback would never happen), got 2`]);
  });

  it("checks aws:region against the node's instance type, at its line and column", async () => {
    const dir = tmp.dir();
    writeFileSync(join(dir, "Pulumi.yaml"), "name: windtunnel\n");
    const example = readFileSync(join(REPO, "stacks", "Pulumi.example.yaml"), "utf8");
    const file = join(dir, "Pulumi.euw.yaml");
    writeFileSync(file, example.replace("aws:region: us-east-1 ", "aws:region: eu-west-1 "));
    const err = await readStackFile(file).catch((e: Error) => e);
    expect((err as Error).message).toMatch(new RegExp(`^${file.replace(/[.]/g, "\\.")}:8:15: config\\.aws:region: expected a region that offers p5\\.48xlarge \\(windtunnel:node\\.instanceType\\): .*, got "eu-west-1"$`));
    // The same file with a type eu-west-1 offers, and with one the table does not know, passes.
    writeFileSync(file, example.replace("aws:region: us-east-1 ", "aws:region: eu-west-1 ").replace("instanceType: p5.48xlarge", "instanceType: p4d.24xlarge"));
    expect((await readStackFile(file)).config.node.instanceType).toBe("p4d.24xlarge");
  });
});

describe("policies and network", () => {
  it.each([
    ["123456789012.dkr.ecr.us-east-1.amazonaws.com/pretrain:v1", "arn:aws:ecr:us-east-1:123456789012:repository/pretrain"],
    ["123456789012.dkr.ecr.eu-north-1.amazonaws.com/team/llm@sha256:" + "a".repeat(64), "arn:aws:ecr:eu-north-1:123456789012:repository/team/llm"],
    ["nvcr.io/nvidia/pytorch:25.01-py3", undefined],
    ["public.ecr.aws/x/y:1", undefined],
  ])("ecr repository of %s", (image, arn) => {
    expect(ecrRepositoryOf(image)?.arn).toBe(arn);
  });

  it("a node with a public image gets no ECR permission at all", () => {
    const doc = nodeRolePolicy({ bucketArn: "arn:aws:s3:::b", prefix: "c", image: "nvcr.io/nvidia/pytorch:25.01-py3" });
    expect(doc.Statement.map((x) => x.Sid)).toEqual(["ReadWriteOwnCampaignPrefix", "ListOwnCampaignPrefix"]);
    expect(JSON.stringify(doc)).not.toMatch(/s3:Delete|ecr:/);
  });

  it("EFA: one interface per network card, only the first with device index 0", () => {
    const nics = networkInterfaces(4, "sg-1", "subnet-1") as { networkCardIndex: number; deviceIndex: number; interfaceType: string }[];
    expect(nics.map((n) => [n.networkCardIndex, n.deviceIndex, n.interfaceType])).toEqual([[0, 0, "efa"], [1, 1, "efa"], [2, 1, "efa"], [3, 1, "efa"]]);
    expect(networkInterfaces(0, "sg-1", undefined)).toEqual([{ securityGroups: ["sg-1"], deleteOnTermination: "true", deviceIndex: 0 }]);
  });
});
