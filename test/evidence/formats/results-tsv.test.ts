import { describe, expect, it } from "vitest";
import { splitTsv } from "../../../src/evidence/formats/results-tsv.ts";
import { readFile } from "../../helpers/read.ts";
import { useTmpDir } from "../../helpers/tmp.ts";

const tmp = useTmpDir();
const HEADER = ["exp_id", "parent_exp", "hypothesis", "status", "val_bpb", "train_s", "notes"].join("\t");
const tsv = (...rows: string[]): string => `${[HEADER, ...rows].join("\n")}\n`;
const r = (...f: string[]): string => f.join("\t");

describe("splitTsv", () => {
  it.each([
    ["a\tb\tc", ["a", "b", "c"]],
    ["a\t\t", ["a", "", ""]],
    ['"quoted\ttab"\tx', ["quoted\ttab", "x"]],
    ['"say ""hi"""\tx', ['say "hi"', "x"]],
    ['mid"quote\tx', ['mid"quote', "x"]],
    ['"multi\nline"\tx', ["multi\nline", "x"]],
  ])("splits %j", (text, fields) => {
    expect(splitTsv(text)).toEqual({ kind: "fields", fields });
  });

  it("says when a quote is still open", () => {
    expect(splitTsv('a\t"open')).toEqual({ kind: "open", at: 2 });
  });

  it("says where a closing quote is followed by something other than a tab", () => {
    expect(splitTsv('a\t"x" -0.1 crash')).toEqual({ kind: "broken", field: 1, at: 5 });
  });
});

describe("results.tsv", () => {
  it("reads rows, statuses, values and numeric columns", async () => {
    const f = tmp.write("a.tsv", tsv(r("000", "", "baseline", "baseline", "1.0810", "", ""), r("001", "000", "cosine warmdown", "keep", "1.0804", "600.1", "ok"), r("002", "000", "value residual", "crash", "", "34", "Traceback")));
    const x = await readFile(f);
    expect(x.format).toBe("results-tsv");
    expect(x.unreadable).toBe(0);
    expect(x.rows.map((y) => [y.id, y.status, y.rawStatus, y.val_bpb, y.baseline])).toEqual([
      ["000", "ok", "baseline", 1.081, true],
      ["001", "ok", "keep", 1.0804, false],
      ["002", "crash", "crash", null, false],
    ]);
    expect(x.rows[1]?.metrics).toEqual({ train_s: 600.1 });
    expect(x.rows[1]?.config).toEqual({ hypothesis: "cosine warmdown", parent_exp: "000" });
  });

  it("reads double-quoted fields that span lines, numbering the row by its first line", async () => {
    const f = tmp.write("b.tsv", tsv(r("001", "000", '"line one\nline two\tstill quoted"', "keep", "1.07", "1", "x"), r("002", "000", "next", "discard", "1.09", "1", "y")));
    const x = await readFile(f);
    expect(x.unreadable).toBe(0);
    expect(x.rows.map((y) => [y.id, y.line])).toEqual([
      ["001", 2],
      ["002", 4],
    ]);
    expect(x.rows[0]?.config["hypothesis"]).toBe("line one\nline two\tstill quoted");
  });

  it("reports a row with broken quoting by line and keeps every good row", async () => {
    const f = tmp.write("c.tsv", tsv(r("001", "000", "fine", "keep", "1.07", "1", "x"), r("002", "000", '"leaked tool call</hypothesis> <parameter name=""notes"">…" -0.001 harness_abort   15999615'), r("003", "000", "also fine", "discard", "1.08", "1", "y")));
    const x = await readFile(f);
    expect(x.rows.map((y) => y.id)).toEqual(["001", "003"]);
    expect(x.unreadable).toBe(1);
    expect(x.problems[0]).toMatchObject({ line: 3, field: "hypothesis", kind: "unreadable" });
    expect(x.problems[0]?.message).toMatch(/quoting is broken/);
  });

  it("does not let an unterminated quote swallow the rows after it", async () => {
    const f = tmp.write("d.tsv", tsv(r("001", "000", '"never closed', "keep", "1.07", "1", "x"), r("002", "000", "fine", "keep", "1.06", "1", "y"), r("003", "000", "fine too", "discard", "1.08", "1", "z")));
    const x = await readFile(f);
    expect(x.rows.map((y) => y.id)).toEqual(["002", "003"]);
    expect(x.problems).toMatchObject([{ line: 2, field: "row", kind: "unreadable" }]);
    expect(x.problems[0]?.message).toMatch(/unterminated quote/);
  });

  it("reports rows with the wrong number of fields, a bad value or an unknown status", async () => {
    const f = tmp.write("e.tsv", tsv(r("001", "000", "short row", "keep"), r("002", "000", "bad value", "keep", "1.0x", "1", ""), r("003", "000", "odd status", "exploded", "", "1", ""), r("004", "000", "good", "keep", "1.0", "1", "")));
    const x = await readFile(f);
    expect(x.rows.map((y) => y.id)).toEqual(["004"]);
    expect(x.problems.map((p) => [p.line, p.field])).toEqual([
      [2, "row"],
      [3, "val_bpb"],
      [4, "status"],
    ]);
  });

  it("maps extra statuses with statusMap", async () => {
    const f = tmp.write("f.tsv", tsv(r("001", "000", "oom", "cuda_oom", "", "1", "")));
    const x = await readFile(f, { statusMap: { cuda_oom: "crash" } });
    expect(x.rows[0]?.status).toBe("crash");
  });

  it("accepts CRLF line endings", async () => {
    const f = tmp.write("g.tsv", tsv(r("001", "000", "h", "keep", "1.07", "1", "x")).replaceAll("\n", "\r\n"));
    const x = await readFile(f);
    expect(x.rows.map((y) => [y.id, y.val_bpb, y.metrics])).toEqual([["001", 1.07, { train_s: 1 }]]);
  });

  it("needs a status column", async () => {
    const x = await readFile(tmp.write("h.tsv", "exp_id\tval_bpb\n001\t1.0\n"));
    expect(x.problems[0]).toMatchObject({ line: 1, field: "header", kind: "error" });
  });
});
