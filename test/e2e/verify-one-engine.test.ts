// One gate, one behaviour: the CLI (`gate --phase verify`), the watchdog's core (`decide`, fed tick
// by tick) and the report (`report --cloud`) judge the same cloud points against the same envelope
// and say the same thing: a healthy run, a run that diverges above the band, and a run that falls
// below it (proxy substitution broken: a fail in the gate, an alert in the watchdog).
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { decide, type WatchdogConfig, type WatchdogState } from "../../src/watchdog/decide.ts";
import type { GateResult } from "../../src/gates/types.ts";
import type { Envelope } from "../../src/forecast/envelope.ts";
import type { MetricPoint } from "../../src/evidence/schemas.ts";
import { DEFAULT_POLICY } from "../helpers/policy.ts";
import { REPO } from "../helpers/shared.ts";
import { useTmpDir } from "../helpers/tmp.ts";

const BIN = join(REPO, "src", "cli", "bin.ts");
const CLOUD = join(REPO, "test/fixtures/cloud");
const wt = (args: string[]) => execa(process.execPath, [BIN, ...args], { reject: false, cwd: REPO });
const readPoints = (f: string): MetricPoint[] => readFileSync(f, "utf8").trim().split("\n").map((l, i) => ({ ...(JSON.parse(l) as MetricPoint), line: i + 1 }));

/** The watchdog's verdict on the run, fed 7 points a tick (the monitors resume from their snapshots). */
function watchdog(env: Envelope, points: readonly MetricPoint[], name: string) {
  const config: WatchdogConfig = { campaign: "camp", stage: "full", hoursCap: 24, hourlyUsd: 98.32, nodes: 1, policy: { stress: DEFAULT_POLICY.stress, verify: DEFAULT_POLICY.verify, sanity: DEFAULT_POLICY.sanity, health: DEFAULT_POLICY.health }, envelope: env };
  let state: WatchdogState | undefined;
  const launchedAt = new Date("2026-12-01T00:00:00Z");
  const alerts: string[] = [];
  for (let i = 0, tick = 0; i < points.length; i += 7, tick++) {
    const d = decide({ config, state, now: new Date(launchedAt.getTime() + (tick + 1) * 60_000), launchedAt, batches: [{ key: `camp/full/node-0/${name}.metrics.jsonl`, points: points.slice(i, i + 7) }], events: [] });
    state = d.state;
    alerts.push(...d.alerts);
    if (d.action === "teardown") return { action: "teardown" as const, failed: d.failed, alerts };
  }
  return { action: alerts.length > 0 ? ("alert" as const) : ("continue" as const), failed: [] as GateResult[], alerts };
}

const unescape = (s: string): string => s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, "&");

describe("the verify gate: CLI, watchdog and report agree", () => {
  const tmp = useTmpDir();

  it("on a healthy run, a run above the band and a run below it", async () => {
    const envFile = join(tmp.dir(), "envelope.json");
    const f = await wt(["forecast", join(CLOUD, "verify-steady.jsonl"), "--fit-to-step", "600", "--until", "384000", "--out", envFile]);
    expect(f.exitCode, f.stderr).toBe(0);
    const env = JSON.parse(readFileSync(envFile, "utf8")) as Envelope;
    const steady = readPoints(join(CLOUD, "verify-steady.jsonl"));
    const below = steady.map((p) => (p.step > 700 ? { ...p, loss: (p.loss as number) * 0.85 } : p));
    writeFileSync(join(tmp.dir(), "below.jsonl"), `${below.map(({ line: _l, ...p }) => JSON.stringify(p)).join("\n")}\n`);
    const cases = [
      { name: "verify-steady", file: join(CLOUD, "verify-steady.jsonl"), cli: 0, watchdog: "continue" },
      { name: "verify-lr-jump", file: join(CLOUD, "verify-lr-jump.jsonl"), cli: 1, watchdog: "teardown" },
      { name: "below", file: join(tmp.dir(), "below.jsonl"), cli: 1, watchdog: "alert" },
    ] as const;
    for (const c of cases) {
      const g = await wt(["gate", "--phase", "verify", "--envelope", envFile, c.file, "--format", "json"]);
      expect(g.exitCode, `${c.name}: ${g.stderr}`).toBe(c.cli);
      const row = (JSON.parse(g.stdout) as { gates: GateResult[] }).gates.find((r) => r.id === "verify.envelope") as GateResult;
      expect(row.subject).toBe(c.name);

      const w = watchdog(env, readPoints(c.file), c.name);
      expect(w.action, c.name).toBe(c.watchdog);
      if (c.watchdog === "teardown") expect(w.failed.find((r) => r.id === "verify.envelope")).toEqual(row);
      if (c.watchdog === "alert") expect(w.alerts).toEqual([`${c.name}: verify.envelope at step ${row.step}: ${row.message}; the node keeps running (verify.below_action: alert)`]);
      if (c.watchdog === "continue") expect(row.status).toBe("pass");

      const out = join(tmp.dir(), `${c.name}.html`);
      const r = await wt(["report", "--out", out, join(CLOUD, "verify-steady.jsonl"), "--envelope", envFile, "--cloud", c.file]);
      expect(r.exitCode, r.stderr).toBe(0);
      const html = readFileSync(out, "utf8");
      const m = new RegExp(`<tr class="(\\w+)" data-gate="verify.envelope"[^>]*>.*?<td>(?:step \\d+: )?([^<]*)</td></tr>`).exec(html);
      expect(m, c.name).not.toBeNull();
      expect(m?.[1]).toBe(row.status);
      expect(unescape(m?.[2] ?? "")).toBe(row.message);
    }
  }, 60_000);
});
