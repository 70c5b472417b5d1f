// Warm starts: earlier trajectories matched to a new menu (what is ignored, and said so), read in
// every trajectory format validate reads, and handed to an external proposer as its own field.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { InputError } from "../../src/common/errors.ts";
import type { TrajectoryRow } from "../../src/evidence/schemas.ts";
import { loadMenu, type LoadedMenu } from "../../src/lab/menu.ts";
import { describePrior, matchPrior, readPriors } from "../../src/lab/priors.ts";
import { commandProposer, PROPOSER_DOCUMENT_FORMAT, proposerDocument } from "../../src/lab/proposers.ts";
import { REPO } from "../helpers/shared.ts";
import { useTmpDir } from "../helpers/tmp.ts";

const tmp = useTmpDir();
const MENU = "knobs:\n  lr: [0.001, 0.01, 0.03]\n  width: [32, 64]\nbaseline:\n  lr: 0.001\n  width: 64\nfixed:\n  act: tanh\n";

const row = (id: string, config: Record<string, unknown>, val_bpb: number | null, status: TrajectoryRow["status"] = "ok"): TrajectoryRow => ({ id, line: 1, config, configHash: "", val_bpb, status, rawStatus: status, baseline: false });

describe("a prior matched to the menu", () => {
  it("keeps the rows on the menu, drops unknown keys, drops whole the rows off the menu or of another shape, and says so", async () => {
    const menu = await loadMenu(tmp.write("m.yaml", MENU));
    const p = matchPrior(menu, "old/trajectory.jsonl", "trajectory", [
      row("c0", { lr: 0.001, width: 64, act: "tanh", dropout: 0.1, seed: 0 }, 2.5),
      row("c1", { lr: 0.01, width: 32, act: "tanh", dropout: 0.2 }, 2.1),
      row("c2", { lr: 0.1, width: 32, act: "tanh" }, 9),
      row("c3", { lr: 0.03, width: 64, act: "relu" }, 1.5),
      row("c4", { lr: 0.03, width: 64, act: "tanh" }, null, "crash"),
      row("c5", { lr: 0.01 }, Number.NaN),
      row("c6", { hypothesis: "try a wider MLP" }, 2.0),
      row("c7", { lr: "0.01", width: 32 }, 2.0),
    ]);
    expect(p.rows).toEqual([
      { id: "c0", knobs: { lr: 0.001, width: 64 }, value: 2.5, status: "ok" },
      { id: "c1", knobs: { lr: 0.01, width: 32 }, value: 2.1, status: "ok" },
      { id: "c4", knobs: { lr: 0.03, width: 64 }, value: null, status: "crash" },
      // A NaN is a failure to learn from, not a row to drop.
      { id: "c5", knobs: { lr: 0.01 }, value: null, status: "ok" },
    ]);
    expect(p.unset).toEqual([{ knob: "width", rows: 1 }]);
    expect(describePrior(p)).toBe(
      'prior old/trajectory.jsonl [trajectory]: 4 of 8 rows used; ignored dropout (not on this menu) in 2 rows, hypothesis (not on this menu) in 1 row, 1 row with lr = 0.1 (not one of this menu\'s choices), 1 row with act = "relu" (fixed to "tanh" here), 1 row with none of this menu\'s knobs, 1 row with lr = "0.01" (not one of this menu\'s choices); not set there: width (1 row)',
    );
  });

  it("says nothing was ignored when nothing was", async () => {
    const menu = await loadMenu(tmp.write("m.yaml", MENU));
    expect(describePrior(matchPrior(menu, "a.jsonl", "trajectory", [row("c0", { lr: 0.01, width: 32, act: "tanh" }, 2)]))).toBe("prior a.jsonl [trajectory]: all 1 rows used; nothing ignored");
  });

  it("reads each trajectory format validate reads, and refuses a curve", async () => {
    const menu = await loadMenu(tmp.write("m.yaml", MENU));
    const jsonl = tmp.write("t.jsonl", `${JSON.stringify({ id: "c0", config: { lr: 0.01, width: 32, act: "tanh" }, val_bpb: 2.2, status: "ok" })}\n${JSON.stringify({ id: "c1", config: { lr: 0.03, width: 32, act: "tanh" }, val_bpb: NaN, status: "ok" }).replace("null", "NaN")}\n`);
    const agent = tmp.write(
      "agent.jsonl",
      [
        JSON.stringify({ _meta: "trajectory log", baseline_val_bpb: 3, baseline_cfg: { lr: 0.001, width: 64 } }),
        JSON.stringify({ iter: 1, stage: "evaluated", candidate_cfg: { lr: 0.03, width: 64, n_layer: 2 }, val_bpb: 2.5, decision: "keep", eval_metrics: { ok: true } }),
      ].join("\n"),
    );
    const tsv = tmp.write("results.tsv", "commit\tval_bpb\tstatus\tdescription\na1\t2.1\tkeep\twider\n");
    const [a, b, c] = await readPriors(menu, [jsonl, agent, tsv]);
    expect(a?.format).toBe("trajectory");
    expect(a?.rows.map((r) => [r.id, r.value])).toEqual([["c0", 2.2], ["c1", null]]);
    expect(b?.format).toBe("agent-loop");
    expect(b?.rows.map((r) => [r.id, r.knobs, r.value])).toEqual([["baseline", { lr: 0.001, width: 64 }, 3], ["iter-1", { lr: 0.03, width: 64 }, 2.5]]);
    expect(b?.ignored).toEqual([{ kind: "key", key: "n_layer", rows: 1 }]);
    // A results.tsv names experiments in prose: nothing in it is a knob here.
    expect(c?.format).toBe("results-tsv");
    expect(c?.rows).toEqual([]);
    expect(describePrior(c as NonNullable<typeof c>)).toMatch(/: 0 of 1 rows used; ignored description \(not on this menu\) in 1 row, 1 row with none of this menu's knobs$/);
    const curve = tmp.write("curve.jsonl", '{"step": 1, "loss": 3}\n');
    await expect(readPriors(menu, [curve])).rejects.toThrow(InputError);
    await expect(readPriors(menu, [curve])).rejects.toThrow(/expected a Phase 1 trajectory, found metrics data/);
  });
});

describe("an external proposer's stdin", () => {
  const trajectory = `${JSON.stringify({ id: "c000", config: { x: 1 }, val_bpb: 2.5, status: "ok", proposer: "baseline" })}\n{"id": "c001", "config": {"x": 2}, "val_bpb": NaN, "status": "ok"}\n`;

  it("as a document: the trajectory's rows as written, the priors in a field of their own", async () => {
    const menu = await loadMenu(tmp.write("m.yaml", MENU));
    const prior = matchPrior(menu, "old.jsonl", "trajectory", [row("p0", { lr: 0.01, width: 32, act: "tanh", dropout: 0 }, 2.1, "ok"), row("p1", { lr: 0.2, width: 32 }, 2.0)]);
    const text = proposerDocument(trajectory, [prior], 3);
    expect(text.endsWith("\n")).toBe(true);
    // Non-finite values as the trajectory writes them.
    expect(text).toContain('"val_bpb":NaN');
    const doc = JSON.parse(text.replace("NaN", "null")) as Record<string, unknown>;
    expect(doc).toEqual({
      format: PROPOSER_DOCUMENT_FORMAT,
      proposal: 3,
      trajectory: [
        { id: "c000", config: { x: 1 }, val_bpb: 2.5, status: "ok", proposer: "baseline" },
        { id: "c001", config: { x: 2 }, val_bpb: null, status: "ok" },
      ],
      priors: [
        {
          file: "old.jsonl",
          format: "trajectory",
          read: 2,
          used: 1,
          ignored: [{ key: "dropout", rows: 1 }, { reason: "lr = 0.2 (not one of this menu's choices)", rows: 1 }],
          rows: [{ id: "p0", config: { lr: 0.01, width: 32 }, val_bpb: 2.1, status: "ok" }],
        },
      ],
    });
  });

  async function answers(input: "jsonl" | "document" | undefined, priors: Parameters<typeof proposerDocument>[1]): Promise<{ stdin: string; form: string }> {
    const menu: LoadedMenu = await loadMenu(tmp.write("x.yaml", "knobs:\n  x: [1, 2, 3, 4]\nbaseline:\n  x: 1\n"));
    const file = tmp.write("trajectory.jsonl", trajectory);
    const echo = tmp.dir();
    const p = commandProposer(menu, `${process.execPath} ${join(REPO, "test/fixtures/lab/proposer-echo.mjs")} ${echo}`, { ...(input ? { input } : {}), priors });
    expect(await p.next({ trajectoryFile: file, n: 1 })).toEqual({ kind: "config", config: { x: 2 } });
    return { stdin: readFileSync(join(echo, "stdin-1.txt"), "utf8"), form: readFileSync(join(echo, "input-1.txt"), "utf8") };
  }

  it("a real proposer script receives the priors on stdin, and WINDTUNNEL_PROPOSER_INPUT=document", async () => {
    const menu = await loadMenu(tmp.write("m.yaml", MENU));
    const prior = matchPrior(menu, "old.jsonl", "trajectory", [row("p0", { lr: 0.01, width: 32 }, 2.1)]);
    const got = await answers("document", [prior]);
    expect(got.form).toBe("document");
    const doc = JSON.parse(got.stdin.replace("NaN", "null")) as { trajectory: unknown[]; priors: { rows: unknown[] }[] };
    expect(doc.trajectory).toHaveLength(2);
    expect(doc.priors[0]?.rows).toEqual([{ id: "p0", config: { lr: 0.01, width: 32 }, val_bpb: 2.1, status: "ok" }]);
  });

  it("by default is the trajectory JSONL as written, as before documents existed", async () => {
    const got = await answers(undefined, []);
    expect(got).toEqual({ stdin: trajectory, form: "jsonl" });
  });
});
