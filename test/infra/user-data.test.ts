// The node's bootstrap script: what it guarantees, and shellcheck-clean in every variant the
// program can generate. shellcheck is Debian's package (.ci/run installs it); under CI=true a
// missing shellcheck is a failure, not a skip.
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { EC2_USER_DATA_LIMIT_BYTES, hardStopOf, renderUserData, shq, userDataBytes } from "../../src/infra/user-data.ts";
import { MIN_HARD_STOP_MINUTES, type UserDataInput } from "../../src/infra/user-data-input.ts";
import { NODE_FIXTURES } from "../helpers/node-script.ts";
import { useTmpDir } from "../helpers/tmp.ts";

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

  // windtunnel rehearse compresses time: the node ships every interval of simulated time.
  it("a render option overrides the upload interval (fractional seconds), and refuses one that is not > 0", () => {
    const s = renderUserData({ ...base, metricsIntervalS: 30 }, { metricsIntervalS: 0.5 });
    expect(s).toContain("readonly METRICS_INTERVAL_S=0.5");
    expect(s.replace("readonly METRICS_INTERVAL_S=0.5", "readonly METRICS_INTERVAL_S=30")).toBe(renderUserData({ ...base, metricsIntervalS: 30 }));
    expect(() => renderUserData(base, { metricsIntervalS: 0 })).toThrow("options.metricsIntervalS: expected a number > 0, got 0");
  });

  it("polls the spot notice every 5 s, ships metrics every interval, and powers off when the runs end", () => {
    const s = renderUserData({ ...base, metricsIntervalS: 30 });
    expect(s).toContain("imds_once spot/instance-action");
    expect(s).toContain("readonly SPOT_POLL_S=5");
    expect(s).toContain('until spot_noticed; do nap "$SPOT_POLL_S"; done');
    expect(s).toContain("readonly METRICS_INTERVAL_S=30");
    expect(s).toContain('awsc s3 sync --only-show-errors --region "$REGION" "$OUT" "s3://$BUCKET/$PREFIX/"');
    expect(s).toContain("awsc() { aws --cli-connect-timeout 10 --cli-read-timeout 30 ");
    expect(s).toContain("export AWS_RETRY_MODE=standard AWS_MAX_ATTEMPTS=3");
    expect(s).toContain("trap finish EXIT");
    expect(s).toMatch(/shutdown -P \+5 "windtunnel: runs ended/);
    expect(s).toContain("readonly NODE_PREFIX='test-7b/sanity/node-0'");
  });

  it("logs in to ECR only for an ECR image, and uses IMDSv2 tokens", () => {
    expect(renderUserData(base)).toContain("awsc ecr get-login-password --region 'us-east-1' | docker login --username AWS --password-stdin '123456789012.dkr.ecr.us-east-1.amazonaws.com'");
    expect(renderUserData({ ...base, image: "nvcr.io/nvidia/pytorch:25.01-py3" })).not.toContain("ecr get-login-password");
    expect(renderUserData(base)).toContain("X-aws-ec2-metadata-token-ttl-seconds");
  });

  it("quotes any string safely for bash", () => {
    for (const s of ["plain", "it's", "$HOME `x` \"y\"", "'", "", "a\nb"]) {
      expect(execFileSync("bash", ["-c", `printf %s ${shq(s)}`], { encoding: "utf8" })).toBe(s);
    }
  });
});

// Run the rendered script for real, with the node's stand-ins (src/rehearse/bin: docker, curl
// for IMDS, shutdown; each records its argv) and two more here: an aws that only answers the ECR
// login and says no checkpoint marker exists (test/infra/user-data-run.test.ts runs the real CLI
// against moto), and a short sleep;
// docker records each run without running its command (STUB_DOCKER_RUN_EXIT).
const STUBS: Record<string, string> = {
  aws: `for a; do
  [ "$a" = ecr ] && echo password
  [ "$a" = get-object ] && { echo "An error occurred (NoSuchKey) when calling the GetObject operation: The specified key does not exist." >&2; exit 254; }
done
exit 0`,
  sleep: `exec /usr/bin/sleep 0.05`,
};

function runScript(dir: string, u: UserDataInput): { status: number | null; output: string; calls: string[][] } {
  const bin = join(dir, "bin");
  mkdirSync(bin, { recursive: true });
  mkdirSync(join(dir, "state"), { recursive: true });
  for (const [name, body] of Object.entries(STUBS)) {
    writeFileSync(join(bin, name), `#!/bin/bash\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  }
  const log = join(dir, "calls");
  writeFileSync(join(dir, "user-data.sh"), renderUserData(u, { logFile: join(dir, "windtunnel.log"), outDir: join(dir, "out"), retryWaitsS: [0.05] }));
  const r = spawnSync("bash", [join(dir, "user-data.sh")], { env: { PATH: `${bin}:${NODE_FIXTURES}:${process.env["PATH"] ?? ""}`, STUB_LOG: log, STUB_STATE: join(dir, "state"), STUB_DOCKER_RUN_EXIT: "0" }, encoding: "utf8", timeout: 30_000 });
  const calls = existsSync(log) ? readFileSync(log, "utf8").split("\x1e").filter((x) => x !== "").map((x) => x.split("\x1f")) : [];
  return { status: r.status, output: r.stdout + r.stderr, calls };
}

describe("user data, run with stand-ins for the node's tools", () => {
  const tmp = useTmpDir();

  it("schedules the hard stop first, pulls and runs the image, then powers off after the grace period", () => {
    const r = runScript(tmp.dir(), base);
    expect(r.status, r.output).toBe(0);
    const shutdowns = r.calls.filter((c) => c[0] === "shutdown");
    expect(shutdowns[0]).toEqual(["shutdown", "-P", "+1440", "windtunnel: hours cap reached"]);
    expect(shutdowns.at(-1)).toEqual(["shutdown", "-P", "+5", "windtunnel: runs ended (status 0)"]);
    expect(r.calls[0]?.[0]).toBe("shutdown");
    const docker = r.calls.filter((c) => c[0] === "docker").map((c) => c.slice(1));
    expect(docker.map((c) => c[0])).toEqual(["login", "pull", "run", "run"]);
    expect(docker[1]).toEqual(["pull", "--", base.image]);
    const run = docker[2] ?? [];
    expect(run.slice(run.indexOf("--"))).toEqual(["--", base.image, "/bin/bash", "-lc", "python train.py --precision bf16"]);
  });

  // Red-team finding 24: without "--", docker parses an image named like an option as one.
  it.each(["--privileged", "-v/:/host"])("an image named %j reaches docker as the image, after --", (image) => {
    const r = runScript(tmp.dir(), { ...base, image, runs: [{ name: "only", command: "true" }] });
    expect(r.status, r.output).toBe(0);
    const docker = r.calls.filter((c) => c[0] === "docker").map((c) => c.slice(1));
    expect(docker[0]).toEqual(["pull", "--", image]);
    const run = docker[1] ?? [];
    expect(run.filter((a) => a === image)).toHaveLength(1);
    expect(run[run.indexOf(image) - 1]).toBe("--");
    expect(run.slice(run.indexOf(image) + 1)).toEqual(["/bin/bash", "-lc", "true"]);
  });
});

describe("user data refuses inputs that make a broken or unsafe script", () => {
  // Red-team finding 22: `shutdown -P +0` powers the node off at boot.
  it.each([0, 1, MIN_HARD_STOP_MINUTES - 1, 90.5, Number.NaN])("a hard stop of %d minutes", (hardStopMinutes) => {
    expect(() => renderUserData({ ...base, hardStopMinutes })).toThrow(/hardStopMinutes: expected a whole number ≥ 30 \(the node powers itself off/);
  });

  it("accepts the shortest sane hard stop", () => {
    expect(hardStopOf(renderUserData({ ...base, hardStopMinutes: MIN_HARD_STOP_MINUTES }))).toBe(MIN_HARD_STOP_MINUTES);
  });

  it.each<[string, Partial<UserDataInput>, RegExp]>([
    ["a NUL in a command", { runs: [{ name: "bf16", command: "python train.py\u0000 --evil" }] }, /runs\[0\]\.command: control character U\+0000 at index 15/],
    ["a CR in the image", { image: "nvcr.io/x\r" }, /image: control character U\+000D/],
    ["an escape in a target value", { target: { note: "\u001b[2J" } }, /target\.note: control character U\+001B/],
    ["a C1 control in a run name", { runs: [{ name: "a\u0085", command: "x" }] }, /runs\[0\]\.name: control character U\+0085/],
  ])("%s", (_name, over, message) => {
    expect(() => renderUserData({ ...base, ...over })).toThrow(message);
  });

  it("keeps tabs and newlines in commands", () => {
    const command = "python train.py \\\n\t--precision bf16";
    expect(renderUserData({ ...base, runs: [{ name: "bf16", command }] })).toContain(shq(command));
  });

  it("names every problem at once", () => {
    expect(() => renderUserData({ ...base, hardStopMinutes: 0, image: "a\u0000" })).toThrow(/hardStopMinutes: .*; image: control character/);
  });

  // Red-team finding 23: EC2 refuses user data over 16 KB before base64.
  it("refuses a script over EC2's 16,384-byte limit, and measures it the same way", () => {
    const fixed = userDataBytes({ ...base, runs: [{ name: "long", command: "" }] });
    const fits = { ...base, runs: [{ name: "long", command: "x".repeat(EC2_USER_DATA_LIMIT_BYTES - fixed) }] };
    expect(userDataBytes(fits)).toBe(EC2_USER_DATA_LIMIT_BYTES);
    expect(() => renderUserData(fits)).not.toThrow();
    const over = { ...base, runs: [{ name: "long", command: "x".repeat(EC2_USER_DATA_LIMIT_BYTES - fixed + 1) }] };
    expect(() => renderUserData(over)).toThrow("renderUserData: the script is 16385 bytes, over EC2's limit of 16384 bytes (before base64)");
    // Bytes, not UTF-16 units: "é" is two bytes.
    expect(userDataBytes({ ...base, runs: [{ name: "long", command: "é" }] })).toBe(fixed + 2);
  });
});
