import { describe, expect, it } from "vitest";
import { readFile } from "../../helpers/read.ts";
import { useTmpDir } from "../../helpers/tmp.ts";
import { configHash } from "../../../src/evidence/hash.ts";

const tmp = useTmpDir();
const row = (o: Record<string, unknown>): string => JSON.stringify({ id: "a", config: { lr: 1 }, val_bpb: 1.5, status: "ok", ...o });

describe("windtunnel trajectory JSONL", () => {
  it("reads rows, hashing configs independent of key order and seed", async () => {
    const r = await readFile(tmp.write("t.jsonl", [row({ id: "a", config: { lr: 1, d: 2, seed: 0 }, baseline: true }), row({ id: "b", config: { d: 2, lr: 1, seed: 1 } }), row({ id: "c", status: "crash", val_bpb: null, error: "OOM" })].join("\n")));
    expect(r.format).toBe("trajectory");
    expect(r.errors).toBe(0);
    expect(r.rows.map((x) => [x.id, x.status, x.val_bpb, x.baseline])).toEqual([
      ["a", "ok", 1.5, true],
      ["b", "ok", 1.5, false],
      ["c", "crash", null, false],
    ]);
    expect(r.rows[0]?.configHash).toBe(r.rows[1]?.configHash);
  });

  it("checks a written config_hash against the config", async () => {
    const good = configHash({ lr: 1 });
    const ok = await readFile(tmp.write("h.jsonl", row({ config_hash: good })));
    expect(ok.errors).toBe(0);
    const bad = await readFile(tmp.write("h2.jsonl", row({ config_hash: "0".repeat(64) })));
    expect(bad.problems[0]).toMatchObject({ line: 1, field: "config_hash" });
  });

  it.each([
    ["unknown status", row({ status: "great" }), "status"],
    ["ok without a value", row({ val_bpb: null }), "val_bpb"],
    ["missing config", JSON.stringify({ id: "a", val_bpb: 1, status: "ok" }), "config"],
    ["empty id", row({ id: "" }), "id"],
  ])("reports %s", async (_n, line, field) => {
    const r = await readFile(tmp.write("b.jsonl", line), { format: "trajectory" });
    expect(r.problems[0]).toMatchObject({ line: 1, field });
  });

  it("reads a pruned row (the rung that stopped it in pruned_at) and the values at the rungs of any row", async () => {
    const r = await readFile(tmp.write("p.jsonl", [
      row({ id: "a", rungs: [{ step: 20, val_bpb: 2.5 }, { step: 40, val_bpb: 2.1 }] }),
      row({ id: "b", status: "pruned", val_bpb: null, steps: 20, pruned_at: { step: 20, val_bpb: 2.9 }, rungs: [{ step: 20, val_bpb: 2.9 }] }),
    ].join("\n")));
    expect(r.errors).toBe(0);
    expect(r.rows.map((x) => [x.id, x.status, x.val_bpb, x.prunedAt, x.rungs])).toEqual([
      ["a", "ok", 1.5, undefined, [{ step: 20, val_bpb: 2.5 }, { step: 40, val_bpb: 2.1 }]],
      ["b", "pruned", null, { step: 20, val_bpb: 2.9 }, [{ step: 20, val_bpb: 2.9 }]],
    ]);
  });

  it.each([
    ["a pruned row with a val_bpb", row({ status: "pruned", val_bpb: 2.9, pruned_at: { step: 20, val_bpb: 2.9 } }), "val_bpb", /must be null when status is pruned/],
    ["a pruned row without pruned_at", row({ status: "pruned", val_bpb: null }), "pruned_at", /required when status is pruned/],
    ["pruned_at on an ok row", row({ pruned_at: { step: 20, val_bpb: 2.9 } }), "pruned_at", /only a pruned row has one, and this row's status is ok/],
    ["a rung at a fractional step", row({ rungs: [{ step: 2.5, val_bpb: 1 }] }), "rungs.0.step", /./],
    ["a NaN value at a rung", row({ rungs: [{ step: 20, val_bpb: Number.NaN }] }).replace("null", "NaN"), "rungs.0.val_bpb", /finite/],
  ])("reports %s", async (_n, line, field, message) => {
    const r = await readFile(tmp.write("pb.jsonl", line), { format: "trajectory" });
    expect(r.problems[0]).toMatchObject({ line: 1, field });
    expect(r.problems[0]?.message).toMatch(message);
  });

  it("reports a duplicate id with the first line", async () => {
    const r = await readFile(tmp.write("d.jsonl", [row({ id: "x" }), row({ id: "x" })].join("\n")));
    expect(r.problems[0]).toMatchObject({ line: 2, field: "id" });
    expect(r.problems[0]?.message).toMatch(/first on line 1/);
  });
});
