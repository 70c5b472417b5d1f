import { describe, expect, it } from "vitest";
import { readFile } from "../../helpers/read.ts";
import { useTmpDir } from "../../helpers/tmp.ts";

const tmp = useTmpDir();
const jsonl = (...lines: string[]): string => `${lines.join("\n")}\n`;

describe("metrics JSONL", () => {
  it("reads every field, treats null as absent and ignores unknown keys", async () => {
    const f = tmp.write("m.jsonl", jsonl('{"step":0,"loss":10.9,"lr":0,"tokens":0,"mfu":0.41}', '{"step":50,"loss":6.1,"val_loss":6.3,"val_bpb":null,"grad_norm":1.2,"lr":0.0003,"tokens":1638400,"time_s":73.5,"tag":"bf16"}'));
    const r = await readFile(f);
    expect(r.format).toBe("metrics");
    expect(r.errors).toBe(0);
    expect(r.points).toEqual([
      { step: 0, line: 1, loss: 10.9, lr: 0, tokens: 0 },
      { step: 50, line: 2, loss: 6.1, val_loss: 6.3, grad_norm: 1.2, lr: 0.0003, tokens: 1638400, time_s: 73.5, tag: "bf16" },
    ]);
  });

  it("keeps NaN and Infinity written by Python as non-finite values", async () => {
    const r = await readFile(tmp.write("n.jsonl", jsonl('{"step":1,"loss":NaN,"grad_norm":Infinity}', '{"step":2,"loss":-Infinity}')));
    expect(r.errors).toBe(0);
    expect(r.points[0]?.loss).toBeNaN();
    expect(r.points[0]?.grad_norm).toBe(Infinity);
    expect(r.points[1]?.loss).toBe(-Infinity);
  });

  it("orders steps per tag: sanity-day runs restart their steps in one stream", async () => {
    const r = await readFile(tmp.write("t.jsonl", jsonl('{"step":1,"loss":3,"tag":"fp8"}', '{"step":2,"loss":3,"tag":"fp8"}', '{"step":1,"loss":3,"tag":"bf16"}', '{"step":2,"loss":3,"tag":"bf16"}')));
    expect(r.errors).toBe(0);
    expect(r.points).toHaveLength(4);
  });

  it.each([
    ["loss given as text", '{"step":1,"loss":"1.2.3"}', "loss", /expected a number.*got "1\.2\.3"/],
    ["missing loss", '{"step":1}', "loss", /required field is missing/],
    ["negative step", '{"step":-1,"loss":1}', "step", /step ≥ 0/],
    ["fractional step", '{"step":1.5,"loss":1}', "step", /whole number/],
    ["overflowing loss", '{"step":1,"loss":1e999}', "loss", /overflows/],
    ["non-finite lr", '{"step":1,"loss":1,"lr":Infinity}', "lr", /finite/],
    ["tag of the wrong type", '{"step":1,"loss":1,"tag":5}', "tag", /got 5/],
    ["an array", "[1,2]", "row", /expected a JSON object, got an array/],
  ])("reports %s with line and field", async (_name, line, field, message) => {
    const r = await readFile(tmp.write("bad.jsonl", jsonl('{"step":0,"loss":1}', line)), { format: "metrics" });
    expect(r.errors).toBe(1);
    expect(r.problems[0]).toMatchObject({ line: 2, field });
    expect(r.problems[0]?.message).toMatch(message);
  });

  it("reports duplicate and decreasing steps, naming the earlier line", async () => {
    const r = await readFile(tmp.write("s.jsonl", jsonl('{"step":10,"loss":1}', '{"step":10,"loss":1}', '{"step":5,"loss":1}')));
    expect(r.problems.map((p) => [p.line, p.field])).toEqual([
      [2, "step"],
      [3, "step"],
    ]);
    expect(r.problems[0]?.message).toMatch(/duplicate step 10.*line 1/);
    expect(r.problems[1]?.message).toMatch(/goes backwards.*line 2 had step 10/);
  });

  it("keeps reading after a bad line and reports every one", async () => {
    const r = await readFile(tmp.write("k.jsonl", jsonl('{"step":1,"loss":1}', "{oops", '{"step":3,"loss":"x"}', '{"step":4,"loss":1}')));
    expect(r.points.map((p) => p.step)).toEqual([1, 4]);
    expect(r.problems.map((p) => p.line)).toEqual([2, 3]);
  });

  it("says when the last line was cut short by a killed writer", async () => {
    const r = await readFile(tmp.write("torn.jsonl", '{"step":1,"loss":1}\n{"step":2,"lo'));
    expect(r.problems[0]).toMatchObject({ line: 2, field: "json" });
    expect(r.problems[0]?.message).toMatch(/cut short/);
  });

  it("accepts a complete last line without a trailing newline", async () => {
    const r = await readFile(tmp.write("end.jsonl", '{"step":1,"loss":1}\n{"step":2,"loss":0.9}'));
    expect(r.errors).toBe(0);
    expect(r.points).toHaveLength(2);
  });
});
