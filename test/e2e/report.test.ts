// The report as a reader gets it: rendered by the CLI, opened in headless Chromium with every
// non-file request blocked and recorded, each figure checked for marks, the gate table checked
// against `windtunnel gate --format json` on the same files.
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, expect, it } from "vitest";
import { chromium, type Browser } from "playwright-core";
import { shown } from "../../src/report/html.ts";
import type { Verdict } from "../../src/gates/verdict.ts";
import { REPO, describeWithSharedFixtures } from "../helpers/shared.ts";
import { CHROMIUM, CHROMIUM_ARGS, describeWithChromium } from "../helpers/chromium.ts";
import { useTmpDir } from "../helpers/tmp.ts";

const BIN = join(REPO, "src/cli/bin.ts");
const DEMO = join(REPO, "examples/demo");
const wt = (args: string[]) => execa(process.execPath, [BIN, ...args], { reject: false, cwd: REPO });

interface Opened {
  external: string[];
  figures: Record<string, number>;
  rows: { id: string; subject: string; status: string; measured: string }[];
  digest: string;
}

let browser: Browser | undefined;

async function open(file: string): Promise<Opened> {
  browser ??= await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const context = await browser.newContext();
  const external: string[] = [];
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith("file:") || url.startsWith("data:")) return route.continue();
    external.push(url);
    return route.abort();
  });
  const page = await context.newPage();
  await page.goto(`file://${file}`);
  const figures = await page.$$eval("figure[data-figure]", (els) => Object.fromEntries(els.map((f) => [f.getAttribute("data-figure") ?? "", f.querySelectorAll("svg g[class*='role-mark'] > path, svg g[class*='role-mark'] > line, svg g[class*='role-mark'] > rect, svg g[class*='role-mark'] > text").length])));
  const rows = await page.$$eval("#gate-table tbody tr", (trs) => trs.map((tr) => ({ id: tr.getAttribute("data-gate") ?? "", subject: tr.getAttribute("data-subject") ?? "", status: tr.getAttribute("data-status") ?? "", measured: tr.querySelector("[data-measured]")?.getAttribute("data-measured") ?? "" })));
  const digest = (await page.textContent("#digest")) ?? "";
  await context.close();
  return { external, figures, rows, digest };
}

describeWithChromium("the report in headless Chromium", () => {
  const tmp = useTmpDir();
  afterAll(async () => {
    await browser?.close();
  });

  it("the demo evidence: every figure drawn, the gate table = windtunnel gate --format json, nothing fetched", async () => {
    const files = [join(DEMO, "trajectory.jsonl"), ...["c078", "c023", "c086"].map((f) => join(DEMO, "curves", `${f}.jsonl`)), join(DEMO, "campaign.yaml")];
    const out = join(tmp.dir(), "report.html");
    const r = await wt(["report", "--out", out, ...files, "--sanity", join(REPO, "test/fixtures/cloud/sanity-fp64.jsonl"), "--sanity", join(REPO, "test/fixtures/cloud/sanity-bf16.jsonl")]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^wrote .*report\.html \(sweep, stress, forecast, sanity, money; \d+ gates, FAIL\)$/);
    const o = await open(out);
    expect(o.external).toEqual([]);
    expect(Object.keys(o.figures).sort()).toEqual(["forecast", "money", "sanity", "stress", "sweep"]);
    // Marks per figure: a point per candidate (71 distinct configs), a line per curve or run, bars.
    expect(o.figures).toMatchObject({ sweep: expect.any(Number), stress: expect.any(Number), forecast: expect.any(Number), sanity: expect.any(Number), money: expect.any(Number) });
    expect(o.figures["sweep"]).toBeGreaterThanOrEqual(71);
    expect(o.figures["stress"]).toBeGreaterThanOrEqual(3 + 2);
    expect(o.figures["forecast"]).toBeGreaterThanOrEqual(3);
    expect(o.figures["sanity"]).toBeGreaterThanOrEqual(2);
    expect(o.figures["money"]).toBeGreaterThanOrEqual(4 + 4);
    const g = await wt(["gate", "--format", "json", ...files]);
    const verdict = JSON.parse(g.stdout) as Verdict;
    const local = o.rows.filter((row) => !row.id.startsWith("sanity."));
    expect(local).toEqual(verdict.gates.map((x) => ({ id: x.id, subject: x.subject, status: x.status, measured: shown(x.measured) })));
    expect(o.rows.filter((row) => row.id.startsWith("sanity.")).length).toBeGreaterThan(0);
  });

  it("PNG figures for READMEs: one file per figure", async () => {
    const dir = join(tmp.dir(), "figures");
    const r = await wt(["report", "--format", "png", "--out", dir, join(DEMO, "trajectory.jsonl"), join(DEMO, "curves", "c078.jsonl"), join(DEMO, "campaign.yaml")]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(["forecast.png", "money.png", "stress.png", "sweep.png"]);
  });

  describeWithSharedFixtures("on the real public artifacts", (fixtures) => {
    it("the seed's agent-loop trajectory and four real modded-nanogpt curves", async () => {
      const group = join(fixtures, "curves/modded-nanogpt-optimizers/20260430_muonh");
      const logs = readdirSync(group).map((f) => join(group, f));
      const out = join(tmp.dir(), "real.html");
      const r = await wt(["report", "--out", out, join(fixtures, "sweeps/agent-loop-trajectory.jsonl"), ...logs]);
      expect(r.exitCode, r.stderr).toBe(0);
      const o = await open(out);
      expect(o.external).toEqual([]);
      expect(Object.keys(o.figures)).toEqual(expect.arrayContaining(["sweep", "stress", "forecast"]));
      expect(o.figures["sweep"]).toBeGreaterThanOrEqual(14);
      expect(o.figures["stress"]).toBeGreaterThanOrEqual(4);
      expect(o.figures["forecast"]).toBeGreaterThanOrEqual(3);
      const g = await wt(["gate", "--format", "json", join(fixtures, "sweeps/agent-loop-trajectory.jsonl"), ...logs, "--phase", "sweep,stress"]);
      const verdict = JSON.parse(g.stdout) as Verdict;
      expect(o.rows).toEqual(verdict.gates.map((x) => ({ id: x.id, subject: x.subject, status: x.status, measured: shown(x.measured) })));
    });
  });
});

/** A watchdog state.json as the watchdog writes it (its monitors left out): a spot attempt reclaimed, its on-demand replacement up. */
function writeState(dir: string, over: Record<string, unknown> = {}): string {
  const file = join(dir, "watchdog-state.json");
  const attempts = [
    { attempt: 1, instanceId: "i-1", subnet: "subnet-a", launchedAt: "2026-12-01T00:00:00.000Z", endedAt: "2026-12-01T02:02:00.000Z", interruptedAt: "2026-12-01T02:00:00.000Z", market: "spot", hourlyUsd: 28 },
    { attempt: 2, instanceId: "i-2", subnet: "subnet-b", launchedAt: "2026-12-01T02:04:00.000Z", market: "on-demand", hourlyUsd: 55.04 },
  ];
  writeFileSync(file, JSON.stringify({ version: 1, firstTickAt: "2026-12-01T00:02:00.000Z", ticks: 180, lastTickAt: "2026-12-01T06:00:00.000Z", cursors: {}, runs: {}, nodes: {}, alerted: [], recovery: { attempts, refusals: 0 }, ...over }));
  return file;
}

// No browser needed: the caption is text in the file.
const captionTmp = useTmpDir();

it("the spot attempts, from the watchdog's state: one row an attempt and the totals, in the HTML", async () => {
  const out = join(captionTmp.dir(), "report.html");
  const r = await wt(["report", "--out", out, join(DEMO, "trajectory.jsonl"), join(DEMO, "curves", "c078.jsonl"), "--attempts", writeState(captionTmp.dir())]);
  expect(r.exitCode, r.stderr).toBe(0);
  expect(r.stdout).toMatch(/^wrote .*report\.html \(sweep, stress, forecast, attempts; \d+ gates, (PASS|FAIL)\)$/);
  const html = readFileSync(out, "utf8");
  const section = /<section class="table" id="attempts">.*?<\/section>/s.exec(html)?.[0] ?? "";
  const cells = [...section.matchAll(/<tr[^>]*>(.*?)<\/tr>/gs)].map((m) => [...(m[1] ?? "").matchAll(/<t[dh]>(.*?)<\/t[dh]>/g)].map((c) => c[1]));
  expect(cells).toEqual([
    ["attempt", "instance", "subnet", "market", "launched", "stopped", "hours", "cost", "ended"],
    ["1", "i-1", "subnet-a", "spot", "2026-12-01 00:00Z", "2026-12-01 02:02Z", "2.0", "$56.93", "interrupted at 2026-12-01 02:00Z"],
    ["2", "i-2", "subnet-b", "on-demand", "2026-12-01 02:04Z", "—", "3.9", "$216.49", "running"],
    ["total", "1 restart", "", "1 interruption", "", "", "6.0", "$273.42", ""],
  ]);
  // After the figures, before the gate table.
  expect(html.indexOf('id="attempts"')).toBeGreaterThan(html.indexOf('data-figure="forecast"'));
  expect(html.indexOf('id="attempts"')).toBeLessThan(html.indexOf('id="gates"'));
  // PNG figures have no table: the report says where it is.
  const png = await wt(["report", "--format", "png", "--out", join(captionTmp.dir(), "figs"), join(DEMO, "trajectory.jsonl"), join(DEMO, "curves", "c078.jsonl"), "--attempts", writeState(captionTmp.dir())]);
  expect(png.stdout).toMatch(/\(the attempts table is in the HTML report only\)$/);
});

it.each([
  { name: "a market it does not know", over: { recovery: { attempts: [{ attempt: 1, instanceId: "i-1", launchedAt: "2026-12-01T00:00:00.000Z", market: "reserved" }], refusals: 0 } }, line: /^watchdog-state\.json: recovery\.attempts\.0\.market: not a windtunnel watchdog state: expected one of "spot"\|"on-demand", got "reserved"$/ },
  { name: "another version's state", over: { version: 2 }, line: /^watchdog-state\.json: version: not a windtunnel watchdog state: .*, got 2$/ },
])("--attempts: $name is one line naming the file and the field, exit 2", async ({ over, line }) => {
  writeState(captionTmp.dir(), over);
  const r = await execa(process.execPath, [BIN, "report", "--out", join(captionTmp.dir(), "r.html"), join(DEMO, "trajectory.jsonl"), "--attempts", "watchdog-state.json"], { reject: false, cwd: captionTmp.dir() });
  expect(r.exitCode).toBe(2);
  expect(r.stderr.trim().split("\n")).toHaveLength(1);
  expect(r.stderr.trim()).toMatch(line);
});
it("the stress caption names every failing stress gate, also those the figure cannot mark", async () => {
  // The curve of a non-finalist: stress.coverage and stress.survivors fail, neither has a step.
  const curve = join(captionTmp.dir(), "c001.jsonl");
  copyFileSync(join(DEMO, "curves", "c078.jsonl"), curve);
  const out = join(captionTmp.dir(), "report.html");
  const r = await wt(["report", "--out", out, join(DEMO, "trajectory.jsonl"), curve]);
  expect(r.exitCode, r.stderr).toBe(0);
  const html = readFileSync(out, "utf8");
  expect(html).not.toContain("No stress gate failed");
  expect(html).toMatch(/1 curve: stress\.coverage: c001\.jsonl is the curve of c001, which is not a finalist/);
  expect(html).toMatch(/stress\.survivors: 0 of 0 pass every stress gate/);
});

it("the sanity figure keeps each node's runs apart, as the sanity gates judge them", async () => {
  const dir = captionTmp.dir();
  const files: string[] = [];
  for (const node of ["node-0", "node-1"]) {
    mkdirSync(join(dir, node));
    for (const tag of ["fp64", "bf16"]) {
      const f = join(dir, node, `${tag}.metrics.jsonl`);
      copyFileSync(join(REPO, "test/fixtures/cloud", `sanity-${tag}.jsonl`), f);
      files.push("--sanity", f);
    }
  }
  const out = join(dir, "report.html");
  const r = await wt(["report", "--out", out, join(DEMO, "curves", "c078.jsonl"), ...files]);
  expect(r.exitCode, r.stderr).toBe(0);
  expect(readFileSync(out, "utf8")).toContain("4 runs by node and tag: node-0/fp64, node-0/bf16, node-1/fp64, node-1/bf16.");
});
