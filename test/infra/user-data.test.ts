// The node's bootstrap script: what it guarantees, and shellcheck-clean in every variant the
// program can generate. shellcheck is Debian's package (.ci/run installs it); under CI=true a
// missing shellcheck is a failure, not a skip.
import { execFileSync, spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { hardStopOf, renderUserData, shq, type UserDataInput } from "../../src/infra/user-data.ts";

const base: UserDataInput = {
  campaign: "test-7b",
  stage: "sanity",
  bucket: "wt-test-7b-abc",
  prefix: "test-7b",
  region: "us-east-1",
  image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/pretrain:v1",
  runs: [{ name: "bf16", command: "python train.py --precision bf16" }, { name: "fp8", command: "python train.py --fp8" }],
  hardStopMinutes: 1440,
  metricsIntervalS: 60,
  rank: 0,
  nodes: 1,
  efa: false,
  target: { params: 7e9 },
  verdictDigest: "0".repeat(64),
};

const VARIANTS: [string, Partial<UserDataInput>][] = [
  ["sanity, one node, ECR image", {}],
  ["full, public image", { stage: "full", image: "nvcr.io/nvidia/pytorch:25.01-py3", runs: [{ name: "train", command: "torchrun --nnodes=$NNODES --node-rank=$NODE_RANK train.py" }] }],
  ["rank 1 of 2 with EFA", { rank: 1, nodes: 2, efa: true, masterAddr: "10.0.0.5" }],
  ["quotes, dollars and backticks in commands and target", { runs: [{ name: "odd", command: `python -c 'print("it'"'"'s $HOME \`x\`")'` }], target: { note: "it's \"quoted\" $x" } }],
];

const hasShellcheck = spawnSync("shellcheck", ["--version"]).status === 0;

describe("user data", () => {
  it.each(VARIANTS)("%s: passes shellcheck", (_name, over) => {
    if (!hasShellcheck) {
      if (process.env["CI"] === "true") throw new Error("shellcheck is missing; .ci/run installs Debian's shellcheck package");
      console.warn("[windtunnel tests] shellcheck not installed (apt-get install shellcheck); checking bash syntax only");
      execFileSync("bash", ["-n"], { input: renderUserData({ ...base, ...over }) });
      return;
    }
    const r = spawnSync("shellcheck", ["--shell=bash", "--severity=style", "-"], { input: renderUserData({ ...base, ...over }), encoding: "utf8" });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  it("shellcheck does catch a broken script (the check can fail)", () => {
    if (!hasShellcheck) return;
    const broken = renderUserData(base).replace('mkdir -p "$OUT"', "mkdir -p $OUT/$UNSET_THING");
    expect(spawnSync("shellcheck", ["--shell=bash", "-"], { input: broken }).status).not.toBe(0);
  });

  it("schedules the hard stop first, at the given minutes", () => {
    const s = renderUserData({ ...base, hardStopMinutes: 10_560 });
    expect(hardStopOf(s)).toBe(10_560);
    const firstCommand = s.split("\n").findIndex((l) => /^[a-z]/.test(l) && !l.startsWith("readonly") && !l.startsWith("set ") && !l.startsWith("exec "));
    expect(s.split("\n")[firstCommand]).toMatch(/^shutdown -P \+10560 /);
  });

  it("polls the spot notice every 5 s, ships metrics every interval, and powers off when the runs end", () => {
    const s = renderUserData({ ...base, metricsIntervalS: 30 });
    expect(s).toContain("imds spot/instance-action");
    expect(s).toMatch(/^ {4}sleep 5$/m);
    expect(s).toContain("readonly METRICS_INTERVAL_S=30");
    expect(s).toContain('aws s3 sync --only-show-errors --region "$REGION" "$OUT" "s3://$BUCKET/$PREFIX/"');
    expect(s).toContain("trap finish EXIT");
    expect(s).toMatch(/shutdown -P \+5 "windtunnel: runs ended/);
    expect(s).toContain("readonly PREFIX='test-7b/sanity/node-0'");
  });

  it("logs in to ECR only for an ECR image, and uses IMDSv2 tokens", () => {
    expect(renderUserData(base)).toContain("aws ecr get-login-password --region 'us-east-1' | docker login --username AWS --password-stdin '123456789012.dkr.ecr.us-east-1.amazonaws.com'");
    expect(renderUserData({ ...base, image: "nvcr.io/nvidia/pytorch:25.01-py3" })).not.toContain("ecr get-login-password");
    expect(renderUserData(base)).toContain("X-aws-ec2-metadata-token-ttl-seconds");
  });

  it("quotes any string safely for bash", () => {
    for (const s of ["plain", "it's", "$HOME `x` \"y\"", "'", "", "a\nb"]) {
      expect(execFileSync("bash", ["-c", `printf %s ${shq(s)}`], { encoding: "utf8" })).toBe(s);
    }
  });
});
