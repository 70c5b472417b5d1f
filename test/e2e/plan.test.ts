// `windtunnel plan` as a user runs it: the whole process, on a stack file of its own.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { REPO } from "../helpers/shared.ts";
import { SAMPLE, stackConfig } from "../helpers/stack.ts";
import { useTmpDir } from "../helpers/tmp.ts";

const BIN = join(REPO, "src", "cli", "bin.ts");

describe("windtunnel plan", () => {
  const tmp = useTmpDir();

  function stack(over: Record<string, unknown> = {}, name = "ci", region = "us-east-1"): string {
    const dir = tmp.dir();
    mkdirSync(join(dir, "stacks"), { recursive: true });
    writeFileSync(join(dir, "Pulumi.yaml"), "name: windtunnel\nruntime: nodejs\n");
    const config = { "aws:region": region, ...Object.fromEntries(Object.entries(stackConfig(over)).map(([k, v]) => [`windtunnel:${k}`, v])) };
    const file = join(dir, "stacks", `Pulumi.${name}.yaml`);
    writeFileSync(file, stringify({ config }));
    return file;
  }

  it("prints what pulumi up would create, with the gate table, and exits 0", async () => {
    const r = await execa(process.execPath, [BIN, "plan", "--stack-file", stack()], { reject: false, cwd: tmp.dir() });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^windtunnel plan: stack ci \(stacks\/Pulumi\.ci\.yaml\), stage sanity, us-east-1, campaign test-7b/);
    expect(r.stdout).toContain("windtunnel gate: PASS");
    expect(r.stdout).toContain("pulumi up would create 29 resources in 4 components:");
    expect(r.stdout).toMatch(/ec2\.SecurityGroup +wt-test-7b-node-sg\n +0 inbound rules/);
    expect(r.stdout).toMatch(/\$6,000 on tag user:windtunnel:campaign\$test-7b, alerts at 50\/80\/100% actual and forecast/);
    expect(r.stdout).toContain("Forecast: $5,405.87 — 1 × p5.48xlarge at $28/h × (168 h + 24 h sanity day) = $5,376 + $29.87 for 1.6 expected spot restarts × 40 min each");
    expect(r.stdout).toMatch(/Verdict digest: [0-9a-f]{64}/);
  });

  it("json: every resource with its inputs, and the verdict", async () => {
    const r = await execa(process.execPath, [BIN, "plan", "--stack-file", stack({ node: { count: 2, hourlyUsd: 28, subnetId: "subnet-0123456789abcdef0", market: "capacity-block", capacityReservationId: "cr-0123456789abcdef0" }, budgetUsd: 12000 }), "--format", "json"], { reject: false });
    expect(r.exitCode, r.stderr).toBe(0);
    const plan = JSON.parse(r.stdout) as { pass: boolean; resources: { type: string; summary: string }[]; verdict: { pass: boolean } };
    expect(plan.pass).toBe(true);
    expect(plan.resources.filter((x) => x.type === "aws:ec2/instance:Instance")).toHaveLength(2);
    expect(plan.resources.find((x) => x.type === "aws:ec2/launchTemplate:LaunchTemplate")?.summary).toContain("capacity block cr-0123456789abcdef0 · ");
    expect(plan.resources.find((x) => x.type === "aws:ec2/launchTemplate:LaunchTemplate")?.summary).toContain("32 EFA interfaces");
  });

  it("refuses with exit 1 and the gate table when the evidence fails, creating nothing", async () => {
    const r = await execa(process.execPath, [BIN, "plan", "--stack-file", stack({ evidence: { trajectory: join(SAMPLE, "trajectory.jsonl"), curves: [join(SAMPLE, "curves", "c086.jsonl")] } })], { reject: false });
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain("windtunnel gate: FAIL");
    expect(r.stdout).toMatch(/refused: the evidence does not pass \(stress\.coverage \(1 curve\); stress\.survivors \(1 curve\)\); nothing was created\.$/);
    expect(r.stdout).not.toContain("would create");
  });

  // Red-team finding 25: a spot cap far below the price the forecast assumes.
  it("refuses with exit 1 and the gate table when the spot max price is below the forecast's price", async () => {
    const r = await execa(process.execPath, [BIN, "plan", "--stack-file", stack({ node: { market: "spot", hourlyUsd: 28, maxPriceUsd: 5 } })], { reject: false });
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain("windtunnel gate: FAIL");
    expect(r.stdout).toMatch(/^✗ +spend\.max_price +windtunnel:test-7b +5 +≥ 28\n +max price \$5\/h is below the \$28\/h per node the forecast assumes/m);
    expect(r.stdout).toMatch(/refused: the evidence does not pass \(spend\.max_price\); nothing was created\.$/);
    expect(r.stdout).not.toContain("would create");
  });

  it("a bad config is exit 2 with file:line:col and the key path", async () => {
    const file = stack({ hoursCap: "lots" });
    const r = await execa(process.execPath, [BIN, "plan", "--stack-file", file], { reject: false });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/Pulumi\.ci\.yaml:\d+:\d+: config\.windtunnel:hoursCap: expected a number, got "lots"/);
    expect(r.stdout).toBe("");
  });

  // Red-team finding 23, in `windtunnel plan`: located in the stack file, before the program runs.
  it("a sanity command too long for EC2's user data is exit 2 at its line, with the size", async () => {
    const file = stack({ container: { image: "nvcr.io/nvidia/pytorch:25.01-py3", command: "c", sanityCommands: [{ name: "bf16", command: `python train.py ${"--flag ".repeat(2000)}` }] } });
    const r = await execa(process.execPath, [BIN, "plan", "--stack-file", file], { reject: false });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/Pulumi\.ci\.yaml:\d+:\d+: config\.windtunnel:container\.sanityCommands: expected the node's user data to fit EC2's limit of 16,384 bytes \(before base64\), but it would be [\d,]+ bytes \(node rank 0, measured with a 63-character bucket name\); windtunnel:container\.sanityCommands 14,020 bytes, .*: put long commands in a script inside the image and run that/);
    expect(r.stdout).toBe("");
  });

  // Red-team finding 24: the region was never checked against the instance type.
  it("a region that does not offer the node's type is exit 2 at its line, naming both", async () => {
    const r = await execa(process.execPath, [BIN, "plan", "--stack-file", stack({}, "ci", "eu-west-1")], { reject: false });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/Pulumi\.ci\.yaml:2:15: config\.aws:region: expected a region that offers p5\.48xlarge \(windtunnel:node\.instanceType\): ap-northeast-1, .*, us-west-2 \(as of 2026-08-26; .*\), got "eu-west-1"/);
    expect(r.stdout).toBe("");
  });

  it("offline, DescribeInstanceTypeOfferings is answered from the same table: p5e.48xlarge in us-east-2", async () => {
    const r = await execa(process.execPath, [BIN, "plan", "--stack-file", stack({ node: { instanceType: "p5e.48xlarge", hourlyUsd: 28 } }, "ci", "us-east-2"), "--format", "json"], { reject: false });
    expect(r.exitCode, r.stderr).toBe(0);
    const plan = JSON.parse(r.stdout) as { resources: { type: string; summary: string }[] };
    expect(plan.resources.find((x) => x.type === "aws:ec2/launchTemplate:LaunchTemplate")?.summary).toMatch(/^p5e\.48xlarge · /);
  });

  it("sanityHours 0 is exit 2 at its line", async () => {
    const r = await execa(process.execPath, [BIN, "plan", "--stack-file", stack({ sanityHours: 0 })], { reject: false });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/Pulumi\.ci\.yaml:\d+:\d+: config\.windtunnel:sanityHours: stage sanity needs sanityHours ≥ 0\.5/);
  });

  it("--stack looks in stacks/ of the project and says so when the file is missing", async () => {
    const r = await execa(process.execPath, [BIN, "plan", "--stack", "nope"], { reject: false, cwd: REPO });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("no stack file stacks/Pulumi.nope.yaml");
  });
});
