// The sweep's proposal loop against proposers that never propose anything new.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { baselineConfig, loadMenu } from "../../src/lab/menu.ts";
import type { Proposer } from "../../src/lab/proposers.ts";
import { runSweep, type SweepOptions } from "../../src/lab/sweep.ts";
import { REPO } from "../helpers/shared.ts";
import { useTmpDir } from "../helpers/tmp.ts";

const tmp = useTmpDir();
const TRAINER = [process.execPath, join(REPO, "test/fixtures/lab/trainer.mjs")];

async function options(proposer: (base: SweepOptions["menu"]) => Proposer, extra: Partial<SweepOptions> = {}): Promise<SweepOptions> {
  const menu = await loadMenu(tmp.write("menu.yaml", "steps: 20\nknobs:\n  x: [1, 2, 3]\nbaseline:\n  x: 1\nfixed:\n  mode: ok\n"));
  return { menu, dir: join(tmp.dir(), "runs"), command: TRAINER, proposer: proposer(menu), candidates: 3, repeats: 0, repeatTop: 0, parallel: 1, devices: null, timeoutMs: 30_000, logEvery: 10, maxIdleProposals: 20, ...extra };
}

/** Answers the baseline, at once, forever: the shape of a random proposer lost in a huge menu. */
const parrot = (name: string) => (menu: SweepOptions["menu"]): Proposer & { asked: number } => {
  const p = { name, asked: 0, next: async () => (p.asked++, { kind: "config" as const, config: baselineConfig(menu) }) };
  return p;
};

describe("the sweep's proposal loop", () => {
  it.each(["random", "grid", "command"])("gives up on a %s proposer after maxIdleProposals proposals in a row that train nothing", async (name) => {
    let proposer: ReturnType<ReturnType<typeof parrot>> | undefined;
    const o = await options((m) => (proposer = parrot(name)(m)));
    const r = await runSweep(o);
    expect(r.rows).toBe(1);
    expect(r.shortfall).toBe("1 of 3 candidates evaluated: the proposer made 20 proposals in a row that were repeats or invalid");
    // The first answer of the baseline is a replay (answered from the trajectory), then 20 repeats.
    expect(proposer?.asked).toBe(name === "command" ? 20 : 21);
  });

  it("yields to the event loop while proposing, so an abort (SIGINT/SIGTERM) stops a proposer that only repeats", async () => {
    const ac = new AbortController();
    let proposer: ReturnType<ReturnType<typeof parrot>> | undefined;
    const o = await options((m) => (proposer = parrot("random")(m)), { maxIdleProposals: Number.POSITIVE_INFINITY, signal: ac.signal });
    const t0 = performance.now();
    // A timer can fire only if the loop gives the event loop a turn.
    const timer = setInterval(() => {
      if ((proposer?.asked ?? 0) > 100) ac.abort();
    }, 20);
    const r = await runSweep(o).finally(() => clearInterval(timer));
    expect(r.interrupted).toBe(true);
    expect(r.rows).toBe(1);
    expect(performance.now() - t0).toBeLessThan(10_000);
  });
});
