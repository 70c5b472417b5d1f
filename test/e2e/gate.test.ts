// `windtunnel gate` as CI runs it: a subprocess, real files, exit codes 0 / 1 / 2.
import { appendFileSync, copyFileSync, linkSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { execa } from "execa";
import { REPO, describeWithSharedFixtures } from "../helpers/shared.ts";
import { useTmpDir } from "../helpers/tmp.ts";

const tmp = useTmpDir();
const BIN = join(REPO, "src/cli/bin.ts");
const DEMO = join(REPO, "examples/demo");
const DEMO_ARGS = [join(DEMO, "trajectory.jsonl"), join(DEMO, "curves/c078.jsonl"), join(DEMO, "curves/c023.jsonl"), join(DEMO, "curves/c086.jsonl"), "--campaign", join(DEMO, "campaign.yaml")];
const STACK_TRACE = /^\s+at .+\(.*:\d+:\d+\)$/m;

function windtunnel(args: readonly string[], cwd = REPO) {
  return execa(process.execPath, [BIN, ...args], { reject: false, cwd, env: { WINDTUNNEL_DEBUG: "" } });
}

describe("windtunnel gate", () => {
  it("passes the demo evidence (one finalist rejected, two survive) with exit 0", async () => {
    const r = await windtunnel(["gate", ...DEMO_ARGS]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^windtunnel gate: PASS · 1 of 3 finalist curves rejected/m);
    expect(r.stdout).toMatch(/stress\.survivors .* 2 of 3 pass every stress gate/s);
  });

  it("exits 1 when a gate fails, e.g. the strict policy wanting two survivors and more evidence", async () => {
    const r = await windtunnel(["gate", "--policy", "strict", ...DEMO_ARGS]);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/^windtunnel gate: FAIL/m);
  });

  it("prints json (the verdict) and markdown (for $GITHUB_STEP_SUMMARY)", async () => {
    const json = await windtunnel(["gate", "--format", "json", ...DEMO_ARGS]);
    const v = JSON.parse(json.stdout);
    expect(v).toMatchObject({ verdict_version: 1, pass: true, phases: ["sweep", "stress", "spend"] });
    expect(v.sweep.finalists.map((f: { id: string }) => f.id)).toEqual(["c078", "c023", "c086"]);
    const md = await windtunnel(["gate", "--format", "markdown", ...DEMO_ARGS]);
    expect(md.stdout).toMatch(/^### ✅ windtunnel gate: PASS/);
    expect(md.stdout).toContain("| ✗ | `stress.finite` | c086 |");
    expect(md.stdout.split("\n").filter((l) => l.startsWith("| ")).every((l) => l.split(/(?<!\\)\|/).length === 8 || l.split(/(?<!\\)\|/).length === 9)).toBe(true);
  });

  it("writes a verdict that --check accepts, and refuses once an evidence file changes, naming it", async () => {
    const dir = tmp.dir();
    for (const f of ["trajectory.jsonl", "campaign.yaml", "curves/c078.jsonl", "curves/c023.jsonl", "curves/c086.jsonl"]) copyFileSync(join(DEMO, f), join(dir, f.replace("curves/", "")));
    const run = await windtunnel(["gate", "--out", "verdict.json", "trajectory.jsonl", "c078.jsonl", "c023.jsonl", "c086.jsonl", "--campaign", "campaign.yaml"], dir);
    expect(run.exitCode, run.stderr).toBe(0);
    const v = JSON.parse(readFileSync(join(dir, "verdict.json"), "utf8"));
    expect(v.evidence.map((e: { file: string }) => e.file)).toEqual(["trajectory.jsonl", "c078.jsonl", "c023.jsonl", "c086.jsonl", "campaign.yaml"]);

    const ok = await windtunnel(["gate", "--check", join(dir, "verdict.json")]);
    expect(ok.exitCode, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/valid — evidence and policy unchanged/);

    appendFileSync(join(dir, "c023.jsonl"), '{"step": 1010, "loss": 2.9}\n');
    const tampered = await windtunnel(["gate", "--check", join(dir, "verdict.json")]);
    expect(tampered.exitCode).toBe(1);
    expect(tampered.stdout).toMatch(/✗ c023\.jsonl \(curve\): changed/);
    expect(tampered.stderr).toMatch(/refused: c023\.jsonl changed/);
  });

  it("refuses a verdict whose policy file changed", async () => {
    const dir = tmp.dir();
    writeFileSync(join(dir, "policy.yaml"), "extends: default\nstress:\n  min_steps: 900\n");
    copyFileSync(join(DEMO, "curves/c078.jsonl"), join(dir, "c.jsonl"));
    expect((await windtunnel(["gate", "--phase", "stress", "--policy", "policy.yaml", "--out", "v.json", "c.jsonl"], dir)).exitCode).toBe(0);
    writeFileSync(join(dir, "policy.yaml"), "extends: default\nstress:\n  min_steps: 800\n");
    const r = await windtunnel(["gate", "--check", "v.json"], dir);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/✗ policy policy\.yaml: changed/);
  });

  it("leaves an earlier verdict untouched when a run fails on bad input", async () => {
    const dir = tmp.dir();
    copyFileSync(join(DEMO, "curves/c078.jsonl"), join(dir, "c.jsonl"));
    expect((await windtunnel(["gate", "--phase", "stress", "--out", "v.json", "c.jsonl"], dir)).exitCode).toBe(0);
    const before = readFileSync(join(dir, "v.json"), "utf8");
    writeFileSync(join(dir, "bad.jsonl"), '{"step":1,"loss":"x"}\n');
    const r = await windtunnel(["gate", "--phase", "stress", "--out", "v.json", "bad.jsonl"], dir);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^bad\.jsonl:1: loss: expected a number/m);
    expect(readFileSync(join(dir, "v.json"), "utf8")).toBe(before);
  });

  it("shows policy errors at file:line:col with the key path, exit 2", async () => {
    const p = tmp.write("p.yaml", "extends: default\nsweep:\n  separation:\n    z: three\n  finalistz: 3\n");
    const r = await windtunnel(["gate", "--phase", "sweep", "--policy", p, join(DEMO, "trajectory.jsonl")]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`${p}:4:8: sweep.separation.z: expected number, got "three"`);
    expect(r.stderr).toContain(`${p}:5:3: sweep.finalistz: unknown key`);
    expect(r.stderr).not.toMatch(STACK_TRACE);
  });

  it("says which inputs a phase is missing, exit 2", async () => {
    const r = await windtunnel(["gate", "--phase", "all", join(DEMO, "trajectory.jsonl")]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/stress needs at least one Phase 2 curve/);
    expect(r.stderr).toMatch(/spend needs a campaign plan/);
    expect((await windtunnel(["gate", "--phase", "sweeep", join(DEMO, "trajectory.jsonl")])).exitCode).toBe(2);
  });

  it("rejects a campaign plan with a bad field at its line", async () => {
    const text = readFileSync(join(DEMO, "campaign.yaml"), "utf8").replace("market: spot", "market: cheap");
    const plan = tmp.write("plan.yaml", text);
    const line = text.split("\n").findIndex((l) => l.startsWith("market:")) + 1;
    const r = await windtunnel(["gate", "--phase", "spend", "--campaign", plan]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`${plan}:${line}:9: market: expected one of "spot"|"on-demand"|"capacity-block", got "cheap"`);
  });
});

describeWithSharedFixtures("windtunnel gate on the seed's trajectory", (dir) => {
  it("fails the default policy with exit 1, in numbers", async () => {
    const r = await windtunnel(["gate", "--phase", "sweep", join(dir, "sweeps/agent-loop-trajectory.jsonl")]);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/51 evaluations over 14 distinct configs/);
    expect(r.stdout).toMatch(/σ=0\.01976 measured from 10 repeated configs/);
    expect(r.stdout).toMatch(/1 distinct config separable from the baseline/);
  });

  it("gates a results.tsv without error, its broken rows counted", async () => {
    const r = await windtunnel(["gate", "--phase", "sweep", "--format", "json", join(dir, "sweeps/multiagent-pg-results.tsv")]);
    expect([0, 1]).toContain(r.exitCode);
    const v = JSON.parse(r.stdout);
    expect(v.gates.find((g: { id: string }) => g.id === "sweep.coverage.failed").message).toMatch(/46 unreadable/);
  });
});

describe("the ranking", () => {
  it("lists the top 10 distinct configs, marking the separable ones", async () => {
    const r = await windtunnel(["gate", "--phase", "sweep", join(DEMO, "trajectory.jsonl")]);
    const block = r.stdout.slice(r.stdout.indexOf("Ranking (top 10"));
    expect(block.split("\n").filter((l) => /^\s+\d+\.\s/.test(l))).toHaveLength(10 + 3); // ranking + 3 finalists
    expect(block).toMatch(/1\.\s+\* c078\s+d_model=1280, lr=0\.0006/);
  });
});

describe("examples/github-actions.yml", () => {
  it("is a workflow that runs the gates with a markdown summary, keeps the verdict and checks it", async () => {
    const { load } = await import("js-yaml");
    const wf = load(readFileSync(join(REPO, "examples/github-actions.yml"), "utf8")) as { on: unknown; jobs: Record<string, { steps: { run?: string }[] }> };
    expect(Object.keys(wf.on as object)).toEqual(["pull_request"]);
    const runs = Object.values(wf.jobs).flatMap((j) => j.steps.map((s) => s.run ?? "")).join("\n");
    expect(runs).toMatch(/windtunnel gate --phase all --policy gates\/default\.yaml \\\s+--out verdict\.json --format markdown/);
    expect(runs).toContain("set -o pipefail");
    expect(runs).toContain('tee -a "$GITHUB_STEP_SUMMARY"');
    expect(runs).toContain("windtunnel gate --check verdict.json");
  });
});

describe("windtunnel gate: stress curves are the finalists' curves (issue 13, findings 1 and 2)", () => {
  const local = useTmpDir();

  it("fails a curve of a non-finalist and names the finalists left without one", async () => {
    // The red-team's case: the curve of c001 passed as "1 of 1 pass every stress gate: c001".
    const dir = local.dir();
    copyFileSync(join(DEMO, "curves/c078.jsonl"), join(dir, "c001.jsonl"));
    const r = await windtunnel(["gate", join(DEMO, "trajectory.jsonl"), join(dir, "c001.jsonl"), "--campaign", join(DEMO, "campaign.yaml")]);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/^✗ +stress\.coverage +1 curve +0 +≥ 3$/m);
    expect(r.stdout).toContain("c001.jsonl is the curve of c001, which is not a finalist (finalists: c078, c023, c086)");
    expect(r.stdout).toMatch(/✗ +stress\.survivors +1 curve +0 +≥ 1/);
  });

  it("counts a curve given twice once (it used to reach the strict policy's two survivors)", async () => {
    const f = join(DEMO, "curves/c078.jsonl");
    const r = await windtunnel(["gate", "--phase", "stress", "--policy", "strict", f, f, "--format", "json"]);
    expect(r.exitCode).toBe(1);
    const v = JSON.parse(r.stdout) as { gates: { id: string; status: string; measured: unknown; message: string }[] };
    expect(v.gates.find((g) => g.id === "stress.survivors")).toMatchObject({ status: "fail", measured: 1 });
    expect(v.gates.find((g) => g.id === "stress.coverage")?.message).toMatch(/c078\.jsonl is given twice: one run, counted once/);
  });

  it.each([
    ["byte for byte", (t: string) => t],
    ["with a trailing newline added", (t: string) => `${t}\n`],
    ["with CRLF line endings", (t: string) => t.replaceAll("\n", "\r\n")],
    ["with its keys in another order", (t: string) => t.split("\n").map((l) => (l ? JSON.stringify(Object.fromEntries(Object.entries(JSON.parse(l.replaceAll("NaN", "null"))).reverse())) : l)).join("\n")],
  ])("counts a copy of a curve under a second name once (%s), in gate and in plan", async (_how, copy) => {
    const dir = local.dir();
    mkdirSync(join(dir, "curves"));
    copyFileSync(join(DEMO, "trajectory.jsonl"), join(dir, "trajectory.jsonl"));
    copyFileSync(join(DEMO, "curves/c078.jsonl"), join(dir, "curves/c078.jsonl"));
    writeFileSync(join(dir, "curves/c023.jsonl"), copy(readFileSync(join(DEMO, "curves/c078.jsonl"), "utf8")));
    copyFileSync(join(DEMO, "curves/c086.jsonl"), join(dir, "curves/c086.jsonl"));
    // Strict wants two survivors: c078 and its copy would be two; c086 ends in NaN.
    const strict = join(dir, "strict.yaml");
    writeFileSync(strict, "extends: default\nstress:\n  min_survivors: 2\n");
    const g = await windtunnel(["gate", "--policy", strict, "trajectory.jsonl", "curves/c078.jsonl", "curves/c023.jsonl", "curves/c086.jsonl", "--campaign", join(DEMO, "campaign.yaml")], dir);
    expect(g.exitCode).toBe(1);
    const flat = (t: string): string => t.replace(/\s+/g, " "); // the table wraps at 100 columns
    expect(flat(g.stdout)).toContain("c023.jsonl holds the same points as c078.jsonl: one run, counted once");
    expect(g.stdout).toMatch(/✗ +stress\.survivors +3 curves +1 +≥ 2/);
    const stack = join(dir, "Pulumi.copy.yaml");
    writeFileSync(stack, readFileSync(join(REPO, "stacks/Pulumi.example.yaml"), "utf8").replace("windtunnel:policy: examples/demo-policy.yaml", `windtunnel:policy: ${strict}`));
    const p = await windtunnel(["plan", "--stack-file", stack, "--evidence-dir", dir]);
    expect(p.exitCode, p.stderr).toBe(1);
    // plan globs curves/*.jsonl (sorted), so there c023.jsonl comes first.
    expect(flat(p.stdout)).toContain("c078.jsonl holds the same points as c023.jsonl");
    expect(p.stdout).toMatch(/refused: the evidence does not pass \(stress\.survivors/);
  });
});

describe("windtunnel gate --check re-runs the gates (issue 13, finding 8)", () => {
  const local = useTmpDir();

  async function verdictOf(policy = "default"): Promise<{ dir: string; file: string; v: Record<string, unknown> & { gates: { id: string; status: string; measured: unknown }[]; pass: boolean; evidence: unknown[] } }> {
    const dir = local.dir();
    for (const f of ["trajectory.jsonl", "campaign.yaml", "curves/c078.jsonl", "curves/c023.jsonl", "curves/c086.jsonl"]) copyFileSync(join(DEMO, f), join(dir, f.replace("curves/", "")));
    await windtunnel(["gate", "--policy", policy, "--out", "verdict.json", "trajectory.jsonl", "c078.jsonl", "c023.jsonl", "c086.jsonl", "--campaign", "campaign.yaml"], dir);
    const file = join(dir, "verdict.json");
    return { dir, file, v: JSON.parse(readFileSync(file, "utf8")) };
  }

  it("refuses a failing verdict edited to say it passed", async () => {
    const { file, v } = await verdictOf("strict");
    expect(v.pass).toBe(false);
    writeFileSync(file, JSON.stringify({ ...v, pass: true, gates: v.gates.map((g) => ({ ...g, status: g.status === "fail" ? "pass" : g.status })) }));
    const r = await windtunnel(["gate", "--check", file]);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/✗ the gates, re-run, give another outcome/);
    expect(r.stdout).toMatch(/recorded pass \(measured .*\), the gates give fail/);
    expect(r.stdout).toContain("the verdict says PASS, the gates say FAIL");
    expect(r.stderr).toMatch(/refused: its recorded outcome is not what the gates give/);
  });

  it("refuses a verdict whose measured values were edited, though every file hashes as recorded", async () => {
    const { file, v } = await verdictOf();
    expect((await windtunnel(["gate", "--check", file])).exitCode).toBe(0);
    writeFileSync(file, JSON.stringify({ ...v, gates: v.gates.map((g) => (g.id === "spend.budget" ? { ...g, measured: 100 } : g)) }));
    const r = await windtunnel(["gate", "--check", file]);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain("spend.budget (campaign.yaml): recorded pass (measured 100), the gates give pass (measured 5405.87)");
  });

  it("refuses a verdict with no evidence for its phases", async () => {
    const { file, v } = await verdictOf();
    writeFileSync(file, JSON.stringify({ ...v, evidence: [] }));
    const r = await windtunnel(["gate", "--check", file]);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain("✗ phase sweep lists no trajectory evidence");
    expect(r.stdout).toContain("✗ phase stress lists no curve evidence");
    expect(r.stderr).toMatch(/refused: its evidence does not cover its phases/);
  });

  it("refuses a 'curve' that is /etc/passwd with a matching hash", async () => {
    const { dir, file, v } = await verdictOf();
    const { createHash } = await import("node:crypto");
    const sha256 = createHash("sha256").update(readFileSync("/etc/passwd")).digest("hex");
    const passwd = relative(dir, "/etc/passwd");
    writeFileSync(file, JSON.stringify({ ...v, phases: ["stress"], evidence: [{ file: passwd, role: "curve", sha256 }], gates: v.gates.filter((g) => g.id.startsWith("stress.")) }));
    const r = await windtunnel(["gate", "--check", file]);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/✓ .*etc\/passwd \(curve\): unchanged/);
    expect(r.stdout).toContain("✗ the gates could not be re-run on the verdict's evidence");
    expect(r.stderr).toMatch(/refused: its evidence is not what it claims to be: .*passwd:1: format: cannot tell the format/);
  });

  it("reads a trajectory as one beside log curves read with --log-regex", async () => {
    const dir = local.dir();
    const lines = Array.from({ length: 100 }, (_, i) => `it ${(i + 1) * 10} | loss ${(2.6 + 9 * ((i + 1) * 10) ** -0.45).toFixed(4)}`);
    writeFileSync(join(dir, "c078.log"), `${lines.join("\n")}\n`);
    const r = await windtunnel(["gate", "--phase", "sweep,stress", "--log-regex", String.raw`^it (?<step>\d+) \| loss (?<loss>\S+)`, join(DEMO, "trajectory.jsonl"), "c078.log", "--format", "json"], dir);
    const v = JSON.parse(r.stdout) as { evidence: { role: string; format: string }[] };
    expect(v.evidence.map((e) => `${e.role}:${e.format}`)).toEqual(["trajectory:trajectory", "curve:log"]);
  });

  it("runs a verdict's recorded --log-regex only when the command line gives the same one", async () => {
    // A verdict is a file anyone can edit; a regex can be written to backtrack for hours.
    const dir = local.dir();
    const lines = Array.from({ length: 100 }, (_, i) => `it ${(i + 1) * 10} | loss ${(2.6 + 9 * ((i + 1) * 10) ** -0.45).toFixed(4)}`);
    writeFileSync(join(dir, "c.log"), `${lines.join("\n")}\n`);
    const regex = String.raw`^it (?<step>\d+) \| loss (?<loss>\S+)`;
    expect((await windtunnel(["gate", "--phase", "stress", "--log-regex", regex, "--out", "v.json", "c.log"], dir)).exitCode).toBe(0);
    const bare = await windtunnel(["gate", "--check", "v.json"], dir);
    expect(bare.exitCode).toBe(1);
    expect(bare.stderr).toContain("its curves were read with --log-regex");
    expect(bare.stderr).toContain("windtunnel runs a regex only from your own command line");
    const other = await windtunnel(["gate", "--check", "v.json", "--log-regex", String.raw`^it (?<step>\d+).*loss (?<loss>\S+)`], dir);
    expect(other.exitCode).toBe(1);
    expect(other.stderr).toContain("(the one given differs)");
    const same = await windtunnel(["gate", "--check", "v.json", "--log-regex", regex], dir);
    expect(same.exitCode, same.stdout + same.stderr).toBe(0);
  });

  it("is bad input (exit 2) when the verdict writes a key twice", async () => {
    const { file } = await verdictOf();
    writeFileSync(file, readFileSync(file, "utf8").replace('"pass": true,', '"pass": false, "pass": true,'));
    const r = await windtunnel(["gate", "--check", file]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/verdict\.json: pass: written twice in one object/);
  });
});

describe("--out never replaces an input (issue 13, finding 11)", () => {
  const local = useTmpDir();

  it.each([
    ["gate", (c: string, out: string) => ["gate", "--phase", "stress", "--out", out, c]],
    ["report", (c: string, out: string) => ["report", "--out", out, c]],
    ["forecast", (c: string, out: string) => ["forecast", c, "--out", out]],
  ])("%s: exit 2 for the input itself, a symlink to it and a hard link to it; the input is untouched", async (_cmd, args) => {
    const dir = local.dir();
    const curve = join(dir, "c.jsonl");
    copyFileSync(join(DEMO, "curves/c078.jsonl"), curve);
    symlinkSync(curve, join(dir, "link.jsonl"));
    linkSync(curve, join(dir, "hard.jsonl"));
    const before = readFileSync(curve, "utf8");
    for (const out of ["c.jsonl", "./c.jsonl", "link.jsonl", "hard.jsonl"]) {
      const r = await windtunnel(args("c.jsonl", out), dir);
      expect(r.exitCode, `${out}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(`--out ${out}: that is an input of this command (c.jsonl)`);
    }
    expect(readFileSync(curve, "utf8")).toBe(before);
  });

  it("an --out whose folder cannot be made is exit 2 at once (under /proc Node's recursive mkdir loops)", async () => {
    const r = await execa(process.execPath, [BIN, "gate", "--phase", "stress", "--out", "/proc/1/x/v.json", join(DEMO, "curves/c078.jsonl")], { reject: false, timeout: 30_000 });
    expect(r.timedOut).toBe(false);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("windtunnel: cannot write /proc/1/x/v.json: the file system does not allow a folder there");
  });

  it("refuses a policy file as --out too", async () => {
    const dir = local.dir();
    writeFileSync(join(dir, "p.yaml"), "extends: default\n");
    copyFileSync(join(DEMO, "curves/c078.jsonl"), join(dir, "c.jsonl"));
    const r = await windtunnel(["gate", "--phase", "stress", "--policy", "p.yaml", "--out", "p.yaml", "c.jsonl"], dir);
    expect(r.exitCode).toBe(2);
    expect(readFileSync(join(dir, "p.yaml"), "utf8")).toBe("extends: default\n");
  });
});
