// The CLI as users meet it: a subprocess (`node src/cli/bin.ts …`) with real files and exit codes.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { execa } from "execa";
import { REPO, describeWithSharedFixtures } from "../helpers/shared.ts";
import { useTmpDir } from "../helpers/tmp.ts";
import { BAD_CORPUS, TOLERATED } from "./bad-corpus.ts";
import { describeWithMoto } from "../helpers/moto.ts";

const tmp = useTmpDir();
const BIN = join(REPO, "src/cli/bin.ts");

function windtunnel(args: readonly string[], env: Record<string, string> = {}) {
  return execa(process.execPath, [BIN, ...args], { reject: false, env: { ...env, WINDTUNNEL_DEBUG: "" }, extendEnv: true, cwd: REPO });
}

const STACK_TRACE = /^\s+at .+\(.*:\d+:\d+\)$/m;

describe("windtunnel validate: the bad-input corpus", () => {
  it(`has at least 25 crafted files (${BAD_CORPUS.length})`, () => {
    expect(BAD_CORPUS.length).toBeGreaterThanOrEqual(25);
  });

  it.each(BAD_CORPUS.map((c) => [c.name, c] as const))("%s → exit 2 with file, line and field", async (_name, c) => {
    const file = tmp.write(c.name, c.content);
    const r = await windtunnel(["validate", ...(c.args ?? []), file]);
    expect(r.exitCode).toBe(2);
    const lines = r.stderr.split("\n").filter((l) => l.startsWith(file));
    expect(lines.length, r.stderr).toBeGreaterThanOrEqual(1);
    const [first] = lines;
    expect(first).toMatch(new RegExp(`^${escape(file)}:${c.line}: ${escape(c.field)}: `));
    expect(first).toMatch(c.message);
    expect(r.stderr).not.toMatch(STACK_TRACE);
    expect(r.stderr).not.toContain("\r");
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/internal error/);
  });

  it.each(TOLERATED.map((c) => [c.name, c] as const))("%s is valid", async (_name, c) => {
    const r = await windtunnel(["validate", "--json", tmp.write(c.name, c.content)]);
    expect(r.exitCode, r.stderr).toBe(0);
    const [report] = JSON.parse(r.stdout) as { summary: { points: number } }[];
    expect(report?.summary.points).toBe(c.points);
  });

  it("exits 2 if any one of several files is invalid, and still reports the valid ones", async () => {
    const good = tmp.write("good.jsonl", '{"step":1,"loss":1}\n');
    const bad = tmp.write("bad.jsonl", '{"step":1,"loss":"x"}\n');
    const r = await windtunnel(["validate", good, bad]);
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toContain(`✓ ${good}`);
    expect(r.stdout).toContain("1 of 2 files valid");
  });

  it.each([[[]], [["--format", "metrics"]]])("exits 2 for a missing file or a directory (options %j)", async (opts) => {
    const missing = await windtunnel(["validate", ...opts, "/nonexistent/evidence.jsonl"]);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/^\/nonexistent\/evidence\.jsonl: file: no such file$/m);
    const dir = await windtunnel(["validate", ...opts, tmp.dir()]);
    expect(dir.exitCode).toBe(2);
    expect(dir.stderr).toContain(`${tmp.dir()}: file: is a directory, expected a file`);
  });
});

describe("files that are not regular files", () => {
  // Reading a FIFO blocks until something writes to it: in CI, forever (finding 21).
  it("refuses a named pipe as evidence, campaign plan or policy at once (exit 2)", async () => {
    const fifo = join(tmp.dir(), "curve.jsonl");
    await execa("mkfifo", [fifo]);
    const runs = [
      ["validate", fifo],
      ["gate", "--phase", "stress", fifo],
      ["gate", "--phase", "spend", "--campaign", fifo],
      ["gate", "--phase", "sweep", "--policy", fifo, "examples/demo/trajectory.jsonl"],
    ];
    for (const args of runs) {
      const r = await execa(process.execPath, [BIN, ...args], { reject: false, cwd: REPO, timeout: 20_000 });
      expect(r.timedOut, args.join(" ")).toBe(false);
      expect(r.exitCode, `${args.join(" ")}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(`${fifo}: file: is a named pipe (FIFO), expected a regular file`);
    }
  });

  it("refuses a socket (exit 2)", async () => {
    const sock = join(tmp.dir(), "s.sock");
    const { createServer } = await import("node:net");
    const server = createServer();
    await new Promise<void>((r) => server.listen(sock, r));
    try {
      const r = await windtunnel(["validate", sock]);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toContain(`${sock}: file: is a socket or a device without a reader, expected a regular file`);
    } finally {
      server.close();
    }
  });

  it("refuses a character device, which never ends (exit 2)", async () => {
    const r = await windtunnel(["validate", "/dev/zero"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("/dev/zero: file: is a character device, expected a regular file");
  });
});

describe("a reader that stops early", () => {
  it("`windtunnel validate … | head -1` ends quietly, without an EPIPE stack trace", async () => {
    const files = Array.from({ length: 40 }, () => "examples/demo/curves/c086.jsonl");
    // A real pipe into a real `head`, as a user types it.
    const r = await execa("bash", ["-c", `"${process.execPath}" "${BIN}" validate ${files.join(" ")} | head -1; echo "status \${PIPESTATUS[0]}" >&2`], { cwd: REPO, reject: false });
    expect(r.stdout).toBe("✓ examples/demo/curves/c086.jsonl  [metrics]");
    expect(r.stderr).not.toMatch(/EPIPE|Unhandled 'error'|node:events/);
    expect(r.stderr).toMatch(/status 0/);
  });
});

describe("windtunnel validate: summaries", () => {
  it("summarises the demo trajectory and curves", async () => {
    const r = await windtunnel(["validate", "examples/demo/trajectory.jsonl", "examples/demo/curves/c086.jsonl"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/rows\s+│ 100 evaluated/);
    expect(r.stdout).toMatch(/distinct configs\s+│ 91/);
    expect(r.stdout).toMatch(/non-finite points\s+│ 3 \(first at step 780, line 78\)/);
  });

  it("prints machine-readable reports with --json, non-finite values as strings", async () => {
    const r = await windtunnel(["validate", "--json", "examples/demo/curves/c086.jsonl"]);
    const [report] = JSON.parse(r.stdout) as { format: string; summary: { last: { loss: unknown } } }[];
    expect(report?.format).toBe("metrics");
    expect(report?.summary.last.loss).toBe("NaN");
  });

  it("reads a log with --log-regex", async () => {
    const f = tmp.write("custom.log", "it 10 | loss 3.25\nit 20 | loss 3.10\n");
    const r = await windtunnel(["validate", "--json", "--log-regex", String.raw`^it (?<step>\d+) \| loss (?<loss>\S+)`, f]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)[0].summary.points).toBe(2);
  });
});

describe("windtunnel cost", () => {
  it("prints the table", async () => {
    const r = await windtunnel(["cost"]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/Spark, total cost of use\s+│\s+\$0\.0101 │\s+\$1\.01 │/);
    expect(r.stdout).toMatch(/expected savings\s+│ \$1,678\.99 per campaign/);
    expect(r.stdout).toMatch(/70b-1024gpu-21d/);
  });

  it.each([
    [{ H100_HOURLY_USD: "abc" }, [], /env H100_HOURLY_USD: expected a non-negative number, got "abc"/],
    [{ ITER_SECONDS: "-88" }, [], /env ITER_SECONDS: .*negative/],
    [{ H100_HOURLY_USD: "" }, [], /env H100_HOURLY_USD: set but empty; unset it to use the default 2\.5/],
    [{}, ["--gpus", "-8"], /--gpus: expected a positive whole number, got "-8" \(negative\)/],
    [{}, ["--wrong-pick-rate", "-0.1"], /--wrong-pick-rate: expected a non-negative number, got "-0\.1" \(negative\)/],
    [{}, ["--wrong-pick-rate", "1.5"], /expected at most 1/],
    [{}, ["--gpus", "eight"], /expected a positive whole number/],
    [{}, ["--preset", "nope"], /--preset: expected one of 7b-spot-week, ondemand-3wk, 70b-1024gpu-21d, got "nope"/],
    [{}, ["--post-filter-rates", "0.7"], /above the blind wrong-pick rate/],
  ])("rejects %j %j with exit 2", async (env, args, message) => {
    const r = await windtunnel(["cost", ...args], env);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(STACK_TRACE);
  });
});

// Issue 17. moto_server answers DescribeSpotPriceHistory ($0.00001 in each AZ it lists for the
// type) but not GetSpotPlacementScores or DescribeCapacityBlockOfferings (HTTP 500): here those
// show as "not available"; test/cli/cost-live.test.ts injects a client that answers them.
describeWithMoto("windtunnel cost --live against moto_server", (moto) => {
  const KEYS = { AWS_ACCESS_KEY_ID: "testing", AWS_SECRET_ACCESS_KEY: "testing", AWS_EC2_METADATA_DISABLED: "true" };
  // No credentials anywhere the SDK looks (and no instance metadata: no network but 127.0.0.1).
  const NO_KEYS = { AWS_ACCESS_KEY_ID: "", AWS_SECRET_ACCESS_KEY: "", AWS_SESSION_TOKEN: "", AWS_PROFILE: "", AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/credentials", AWS_CONFIG_FILE: "/nonexistent/config", AWS_WEB_IDENTITY_TOKEN_FILE: "", AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: "", AWS_CONTAINER_CREDENTIALS_FULL_URI: "", AWS_EC2_METADATA_DISABLED: "true" };
  const live = (args: readonly string[], env: Record<string, string> = KEYS) => windtunnel(["cost", "--live", "--endpoint", moto().endpoint, ...args], env);

  it("prints every AZ's spot price after the campaign tables, and says which APIs did not answer", async () => {
    const r = await live(["--regions", "us-east-1"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/70b-1024gpu-21d[\s\S]*Live prices for 1 × p5\.48xlarge \(AWS, asked \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ;/);
    expect(r.stdout).toMatch(/│ us-east-1 │ us-east-1a +│ +\$0\.00 │/);
    expect(r.stdout).toContain("Spot placement scores: not available (GetSpotPlacementScores (p5.48xlarge, us-east-1): EC2 answered HTTP 500, not an EC2 response (does the endpoint support this API?))");
    expect(r.stdout).toContain("A Capacity Block is paid upfront, when it is purchased: neither pulumi destroy nor a watchdog teardown refunds it.");
  });

  it("--json: a live block with each AZ's quote; AWS_REGION is the default region", async () => {
    const r = await live(["--json"], { ...KEYS, AWS_REGION: "us-east-2" });
    expect(r.exitCode, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { live: { regions: { region: string; spot: { az: string; usd: number; at: string }[] }[] } };
    expect(j.live.regions.map((x) => x.region)).toEqual(["us-east-2"]);
    for (const q of j.live.regions[0]?.spot ?? []) expect(q).toEqual({ az: expect.stringMatching(/^us-east-2[a-z]$/), usd: expect.any(Number), at: expect.stringMatching(/Z$/) });
    expect(j.live.regions[0]?.spot.length).toBeGreaterThan(0);
  });

  it.each([
    ["no credentials", ["--regions", "us-east-1"], NO_KEYS, "windtunnel: DescribeSpotPriceHistory (p5.48xlarge, us-east-1): no AWS credentials: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (windtunnel only reads prices)"],
    ["an instance type not sold on spot there", ["--regions", "us-east-1", "--instance-type", "p9.nonexistent"], KEYS, "windtunnel: DescribeSpotPriceHistory: AWS quotes no spot price for p9.nonexistent in us-east-1 (an instance type sold on spot there? e.g. p5.48xlarge)"],
    ["a region that is not one", ["--regions", "us-east-1,Mars"], KEYS, 'windtunnel: --regions: expected AWS region names such as us-east-1, got "Mars"'],
  ])("%s: exit 2, one line, no stack trace", async (_n, args, env, line) => {
    const r = await live(args, env);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe(line);
    expect(r.stdout).toBe("");
  });

  it("an unreachable endpoint: exit 2, one line", async () => {
    const r = await windtunnel(["cost", "--live", "--endpoint", "http://127.0.0.1:9", "--regions", "us-east-1"], KEYS);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^windtunnel: DescribeSpotPriceHistory \(p5\.48xlarge, us-east-1\): could not reach EC2 \(ECONNREFUSED: .*\)$/);
  });

  it("the live flags without --live are a usage error", async () => {
    const r = await windtunnel(["cost", "--regions", "us-east-1", "--endpoint", moto().endpoint]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe("windtunnel: --regions, --endpoint: only with --live");
  });
});

describeWithSharedFixtures("windtunnel cost --json against the seed's recorded outputs", (dir) => {
  const contains = (got: unknown, want: unknown): void => {
    if (want !== null && typeof want === "object") for (const [k, v] of Object.entries(want)) contains((got as Record<string, unknown>)[k], v);
    else expect(got).toBe(want);
  };

  it("defaults equal spot-1wk.json", async () => {
    const r = await windtunnel(["cost", "--json"]);
    contains(JSON.parse(r.stdout), JSON.parse(readFileSync(join(dir, "cost/spot-1wk.json"), "utf8")));
  });

  it("H100_HOURLY_USD=3.50 FINAL_NODE_HOURS=504 equals ondemand-3wk.json", async () => {
    const r = await windtunnel(["cost", "--json"], { H100_HOURLY_USD: "3.50", FINAL_NODE_HOURS: "504" });
    contains(JSON.parse(r.stdout), JSON.parse(readFileSync(join(dir, "cost/ondemand-3wk.json"), "utf8")));
  });
});

describe("windtunnel schema, help, version, demo", () => {
  it("prints the metrics JSON Schema", async () => {
    const r = await windtunnel(["schema", "metrics"]);
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ type: "object", required: ["step", "loss"] });
  });

  it("lists the schemas and refuses an unknown one", async () => {
    expect((await windtunnel(["schema"])).stdout.split("\n")).toEqual(["metrics", "trajectory", "policy", "campaign", "verdict", "menu", "stack", "envelope"]);
    const policy = JSON.parse((await windtunnel(["schema", "policy"])).stdout);
    expect(policy.required).toEqual(["sweep", "target", "stress", "forecast", "sanity", "verify", "health", "spend"]);
    expect(policy.additionalProperties).toBe(false);
    const r = await windtunnel(["schema", "report"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/unknown format "report"/);
  });

  it("--help and --version exit 0; an unknown option or command exits 2", async () => {
    expect((await windtunnel(["--help"])).exitCode).toBe(0);
    expect((await windtunnel(["--version"])).stdout).toMatch(new RegExp(`^windtunnel/${JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")).version.replaceAll(".", "\\.")} `));
    expect((await windtunnel(["validate", "--bogus", "x"])).exitCode).toBe(2);
    expect((await windtunnel(["launch"])).exitCode).toBe(2);
  });

});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
