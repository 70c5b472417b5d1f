// node scripts/screenshot.ts: remake docs/report.png, the README's picture of the report, from the
// committed sample evidence (examples/demo) and sanity-day runs (test/fixtures/cloud), in headless
// Chromium (Debian's chromium; playwright-core drives it, no browser download).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { main } from "../src/cli/main.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "windtunnel-shot-"));
try {
  const out = join(dir, "report.html");
  const demo = join(ROOT, "examples/demo");
  const code = await main(["report", "--out", out, "--title", "windtunnel campaign report (sample evidence)", join(demo, "trajectory.jsonl"), join(demo, "curves/c078.jsonl"), join(demo, "curves/c023.jsonl"), join(demo, "curves/c086.jsonl"), join(demo, "campaign.yaml")]);
  if (code !== 0) throw new Error(`report exited ${code}`);
  const browser = await chromium.launch({ executablePath: process.env["WINDTUNNEL_CHROMIUM"] ?? "/usr/bin/chromium", args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"] });
  const page = await browser.newPage({ viewport: { width: 1000, height: 900 }, deviceScaleFactor: 1 });
  await page.goto(`file://${out}`);
  await page.screenshot({ path: join(ROOT, "docs/report.png"), fullPage: true });
  await browser.close();
  console.log("wrote docs/report.png");
} finally {
  rmSync(dir, { recursive: true, force: true });
}
