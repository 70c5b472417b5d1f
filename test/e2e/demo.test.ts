// `npm run demo` end to end: the reference trainer really trains, the sweep gate picks finalists,
// the stress test runs them, and the verdict passes; a menu whose only learning rate diverges
// late passes Phase 1 and is rejected in Phase 2 at the step it turns.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { execa } from "execa";
import { REPO } from "../helpers/shared.ts";
import { useTmpDir } from "../helpers/tmp.ts";

const tmp = useTmpDir();

interface Verdict {
  pass: boolean;
  gates: { id: string; status: string; subject: string; step?: number }[];
}

describe("windtunnel demo", () => {
  it("sweeps, stresses, gates and ends with a passing verdict, leaving its evidence in one folder", async () => {
    const r = await execa("npm", ["run", "--silent", "demo", "--", "--dir", tmp.dir()], { cwd: REPO, reject: false, env: { CI: "true" } });
    expect(r.exitCode, r.stderr).toBe(0);
    const dir = join(tmp.dir(), "menu");
    for (const f of ["trajectory.jsonl", "stress.jsonl", "verdict.json", "lab.json"]) expect(existsSync(join(dir, f)), f).toBe(true);
    const verdict = JSON.parse(readFileSync(join(dir, "verdict.json"), "utf8")) as Verdict;
    expect(verdict.pass).toBe(true);
    expect(verdict.gates.filter((g) => g.id === "stress.steps")).toHaveLength(3);
    const rows = readFileSync(join(dir, "trajectory.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { status: string });
    expect(rows).toHaveLength(24 + 2 * 4);
    // Phase 1 stops hopeless candidates early (TPE + ASHA at η 2, what bench:lab measured) and says what it saved.
    expect(r.stdout).toMatch(/TPE proposals, ASHA early stopping \(η 2\)/);
    const pruned = rows.filter((row) => row.status === "pruned").length;
    expect(pruned).toBeGreaterThan(0);
    expect(r.stdout).toMatch(new RegExp(`^early stopping: ${pruned} candidate\\(s\\) pruned \\(.*\\): [\\d,]+ trainer steps run, [\\d,]+ saved \\(\\d+%\\) against every run going to step 60$`, "m"));
    expect(r.stdout).toMatch(/windtunnel gate: PASS/);
    expect(r.stdout).toMatch(/Whole campaign: 8 GPUs/);
    expect(r.stdout).toMatch(/The evidence passes: the campaign plan \(examples\/demo\/campaign\.yaml\) may be booked/);
    // Phase 3 runs the real Pulumi program offline on the example stack and this evidence.
    expect(r.stdout).toMatch(/pulumi up would create 29 resources in 4 components/);
    expect(r.stdout).toMatch(/p5\.48xlarge · spot \(one-time, terminate on interruption, no max price\) · IMDSv2 required/);
    expect(r.stdout).toMatch(/powers off after 24 h \(user data\) · runs bf16, fp8, tp2pp2/);
    // It ends with the report, one self-contained file.
    expect(r.stdout).toMatch(/Open the report: .*report\.html/);
    expect(existsSync(join(dir, "report.html"))).toBe(true);
    // Phase 3 rehearsed (moto_server is here under CI=true): a healthy sanity day, then stage full from its metrics.
    expect(r.stdout).toMatch(/windtunnel rehearse: stack example, stage sanity, scenario healthy/);
    expect(r.stdout).toMatch(/windtunnel rehearse: stack example, stage full, scenario healthy/);
    expect(r.stdout).toMatch(/^Rehearsal: the sanity day passed and the full run ran to its end untouched \(\$[\d.,]+ of simulated node time\)\.$/m);
    for (const run of ["bf16", "fp8", "tp2pp2"]) expect(existsSync(join(dir, "rehearsal", "sanity-day", "node-0", `${run}.metrics.jsonl`)), run).toBe(true);
    const check = await execa(process.execPath, [join(REPO, "src/cli/bin.ts"), "gate", "--check", join(dir, "verdict.json")], { reject: false });
    expect(check.exitCode, check.stdout).toBe(0);
  });

  it("with a menu that only offers a late-diverging learning rate, fails the stress gate naming the step", async () => {
    const r = await execa(process.execPath, [join(REPO, "src/cli/bin.ts"), "demo", "--dir", tmp.dir(), "--menu", join(REPO, "examples/menu-diverging.yaml")], { reject: false, env: { CI: "true" } });
    expect(r.exitCode, r.stderr).toBe(1);
    // Its rungs would judge inside the 600-step warmup, so the demo sweeps without early stopping.
    expect(r.stdout).toContain("No early stopping: ASHA would judge candidates at steps 20 and 40, inside the menu's 600-step warmup (warmup), where the ranking is not yet the ranking at step 60.");
    expect(readFileSync(join(tmp.dir(), "menu-diverging", "trajectory.jsonl"), "utf8")).not.toContain('"pruned"');
    const verdict = JSON.parse(readFileSync(join(tmp.dir(), "menu-diverging", "verdict.json"), "utf8")) as Verdict;
    expect(verdict.gates.filter((g) => g.id.startsWith("sweep.")).every((g) => g.status === "pass")).toBe(true);
    const diverged = verdict.gates.filter((g) => g.id === "stress.divergence" && g.status === "fail");
    expect(diverged).toHaveLength(3);
    // The warmup reaches ~0.03 at step 90–150, where this model's loss turns upward.
    for (const g of diverged) expect(g.step).toBeGreaterThan(60);
    for (const g of diverged) expect(g.step).toBeLessThan(400);
    expect(r.stdout).toMatch(/✗ c\d+: stopped early at step \d+ \(.*\), fails stress\.divergence at step \d+[^:]*: loss rises from step \d+/);
    expect(r.stdout).toMatch(/✗  stress\.survivors\s+3 curves\s+0/);
    expect(r.stdout).toMatch(/The evidence does not pass: nothing may be booked/);
    expect(r.stdout).toContain("refused: the evidence does not pass (stress.survivors (3 curves)); nothing was created.");
    expect(r.stdout).toMatch(/^✗ stress\.survivors: 0 of 3 pass every stress gate/m);
    expect(r.stdout).not.toMatch(/pulumi up would create/);
    // Booked anyway, in the rehearsal: the watchdog tears the finalist's run down.
    expect(r.stdout).toMatch(/^Rehearsal: booked anyway, c\d+ would have been torn down at simulated minute [\d.]+ \(stress\.divergence\), \$[\d.,]+ of node time\.$/m);
  });

  it("with too few candidates for a finalist, ends on the refusal, not on plan's missing curves (exit 1)", async () => {
    const r = await execa(process.execPath, [join(REPO, "src/cli/bin.ts"), "demo", "--dir", tmp.dir(), "--candidates", "3"], { reject: false, env: { CI: "true" } });
    expect(r.exitCode, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/The evidence does not pass: nothing may be booked\. Failed: sweep\.coverage\.evaluated/);
    expect(r.stdout).toMatch(/refused: no Phase 2 curves in .*menu\/curves\/ \(the sweep gate chose no finalists to stress\); nothing would be created\./);
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/no file matches/);
    expect(r.stdout).toMatch(/Open the report: /);
  });
});
