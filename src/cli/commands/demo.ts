// `windtunnel demo` (npm run demo): the main job on the embedded evidence, no cloud account
// needed: validate the Phase 1 sweep and Phase 2 curves, gate them with the default policy
// against the example campaign plan, then price the campaign.
import { join } from "node:path";
import { packageRoot } from "../../evidence/package-root.ts";
import { validateCommand } from "./validate.ts";
import { gateCommand } from "./gate.ts";
import { costCommand } from "./cost.ts";
import type { Io } from "../io.ts";

/** examples/demo of the installed package. */
export const DEMO_DIR = join(packageRoot(), "examples", "demo");

export const DEMO_EVIDENCE = [
  join(DEMO_DIR, "trajectory.jsonl"),
  join(DEMO_DIR, "curves", "finalist-1.jsonl"),
  join(DEMO_DIR, "curves", "finalist-2.jsonl"),
  join(DEMO_DIR, "curves", "finalist-3.jsonl"),
];
export const DEMO_CAMPAIGN = join(DEMO_DIR, "campaign.yaml");

export async function demoCommand(io: Io): Promise<number> {
  io.out("windtunnel demo: a Phase 1 sweep, three Phase 2 curves and a campaign plan from examples/demo");
  io.out("");
  io.out("── 1. Evidence ───────────────────────────────────────────────────────────");
  const valid = await validateCommand(DEMO_EVIDENCE, {}, io);
  if (valid !== 0) return valid;
  io.out("");
  io.out("── 2. Gates (policy: default) ────────────────────────────────────────────");
  const gated = await gateCommand([...DEMO_EVIDENCE, DEMO_CAMPAIGN], { phase: "all", format: "table" }, io);
  io.out("");
  io.out("── 3. The campaign's economics ───────────────────────────────────────────");
  await costCommand({}, io);
  return gated;
}
