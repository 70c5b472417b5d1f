import { appendFileSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { dropLines, isWholeRecord, Journal, jsonLine, repairTornTail } from "../../src/lab/journal.ts";
import { MetricsTail } from "../../src/lab/metrics-tail.ts";
import { useTmpDir } from "../helpers/tmp.ts";

const tmp = useTmpDir();

describe("journal", () => {
  it("appends whole lines and writes non-finite numbers as Python does", () => {
    const f = `${tmp.dir()}/t.jsonl`;
    const j = new Journal(f);
    j.append({ id: "a", v: Number.NaN, w: -Infinity, s: "NaN" });
    j.close();
    expect(readFileSync(f, "utf8")).toBe('{"id":"a","v":NaN,"w":-Infinity,"s":"NaN"}\n');
    expect(jsonLine([Infinity])).toBe("[Infinity]");
  });

  it("cuts only a torn last line", () => {
    const f = tmp.write("t.jsonl", '{"a":1}\n{"a":2}\n{"a"');
    const whole = (l: string): boolean => l.startsWith("{") && l.endsWith("}");
    expect(repairTornTail(f, whole)).toEqual({ kind: "cut", bytes: 4, line: 3 });
    expect(readFileSync(f, "utf8")).toBe('{"a":1}\n{"a":2}\n');
    expect(repairTornTail(f, whole)).toBeUndefined();
    writeFileSync(f, "");
    expect(repairTornTail(f, whole)).toBeUndefined();
  });

  it("keeps a whole last record that only lacks its newline, and adds the newline", () => {
    const f = tmp.write("t.jsonl", '{"a":1}\n{"a":2}');
    const seen: string[] = [];
    expect(repairTornTail(f, (l) => (seen.push(l), true))).toEqual({ kind: "completed", line: 2 });
    expect(seen).toEqual(['{"a":2}']);
    expect(readFileSync(f, "utf8")).toBe('{"a":1}\n{"a":2}\n');
  });

  // Whole means complete JSON: a bad field is the reader's to refuse at its line, not a torn line to cut.
  it.each([
    ['{"id":"c003","config":{"x":3},"val_bpb":2.0,"status":"ok","seed":0}', true],
    ['{"id":"c003","config":{"x":3},"val_bpb":NaN,"status":"crash","error":"x"}', true],
    ['{"id":"c003","config":{"x":3},"val_bpb":2.0}', true],
    ['{"id":"c099","config":{"x":3},"val_bpb":2.0,"status":"okay"}', true],
    ['{"id":"c003","config":{"x":3},"val_bpb":2.0,"status":"ok","seed":0', false],
    ['{"id":"c0', false],
    ["[1,2]", false],
  ])("takes %s as a whole record: %s", (line, whole) => {
    expect(isWholeRecord(line)).toBe(whole);
  });
});

describe("dropLines", () => {
  it("takes out only the picked lines, keeps the others byte for byte, and rewrites nothing when none is picked", () => {
    const f = tmp.write("t.jsonl", '{"id":"a","v":NaN}\n{"id":"b","environmental":true}\n{"id":"c" , "v":1}\n');
    const inode = statSync(f).ino;
    expect(dropLines(f, (l) => l.includes('"x"'))).toEqual([]);
    expect(statSync(f).ino).toBe(inode);
    expect(dropLines(f, (l) => l.includes("environmental"))).toEqual(['{"id":"b","environmental":true}']);
    expect(readFileSync(f, "utf8")).toBe('{"id":"a","v":NaN}\n{"id":"c" , "v":1}\n');
    // Replaced by a rename (a crash leaves the old file or the new one), no temporary file left.
    expect(statSync(f).ino).not.toBe(inode);
    expect(readdirSync(tmp.dir())).toEqual(["t.jsonl"]);
  });
});

describe("MetricsTail", () => {
  it("reads a file as it grows, holding a half-written line until it is complete", () => {
    const f = tmp.write("m.jsonl", "");
    const tail = new MetricsTail(f, "m.jsonl");
    appendFileSync(f, '{"step": 1, "loss": 3.0}\n{"step": 2, "lo');
    expect(tail.poll().map((p) => p.step)).toEqual([1]);
    appendFileSync(f, 'ss": NaN}\n{"step": 2, "loss": 1}\n');
    const next = tail.poll();
    expect(next.map((p) => p.step)).toEqual([2]);
    expect(Number.isNaN(next[0]?.loss)).toBe(true);
    expect(tail.diag.problems[0]).toMatchObject({ line: 3, field: "step" });
    appendFileSync(f, '{"step": 5, "loss": 0.5, "val_bpb": 1.2}');
    expect(tail.poll()).toEqual([]);
    expect(tail.poll(true)).toMatchObject([{ step: 5, val_bpb: 1.2, line: 4 }]);
    tail.close();
  });

  it("reports a torn last line at the end, and multi-byte characters split across reads", () => {
    const f = tmp.write("m.jsonl", "");
    const tail = new MetricsTail(f, "m.jsonl");
    const bytes = Buffer.from('{"step": 1, "loss": 1, "tag": "é"}\n{"step": 2, "loss"', "utf8");
    const cut = bytes.indexOf(0xc3) + 1;
    appendFileSync(f, bytes.subarray(0, cut));
    expect(tail.poll()).toEqual([]);
    appendFileSync(f, bytes.subarray(cut));
    expect(tail.poll()).toMatchObject([{ step: 1, tag: "é" }]);
    expect(tail.poll(true)).toEqual([]);
    expect(tail.diag.problems[0]?.message).toMatch(/last line has no newline and is cut short/);
  });
});
