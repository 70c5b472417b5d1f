import { describe, expect, it } from "vitest";
import { detectFormat } from "../../src/evidence/read.ts";
import { InputError } from "../../src/common/errors.ts";
import { useTmpDir } from "../helpers/tmp.ts";

const tmp = useTmpDir();

describe("detectFormat", () => {
  it.each([
    ['{"_meta":"x","baseline_val_bpb":1,"baseline_cfg":{}}\n', "agent-loop"],
    ['{"step":0,"loss":NaN}\n', "metrics"],
    ['\n\n{"step":0,"loss":1}\n', "metrics"],
    ['{"id":"a","config":{},"val_bpb":1,"status":"ok"}\n', "trajectory"],
    ["exp_id\tstatus\tval_bpb\n", "results-tsv"],
    ["commit\tval_bpb\tmemory_gb\tstatus\tdescription\n", "results-tsv"],
    ["step:0/3325 val_loss:10.82584 train_time:0.000s step_avg:0.12ms\n", "log"],
    ["booting…\nstep:1/10 train_loss:3.0\n", "log"],
    ["s:0 tel:10.9830\n", "log"],
    ["\uFEFF{\"step\":0,\"loss\":1}\n", "metrics"],
  ])("detects %j as %s", async (content, format) => {
    expect((await detectFormat(tmp.write("f", content))).format).toBe(format);
  });

  it("judges a first line longer than the sniff window by its keys", async () => {
    const f = tmp.write("long.jsonl", `{"step":1,"loss":1,"pad":"${"x".repeat(100_000)}"}\n`);
    expect((await detectFormat(f)).format).toBe("metrics");
  });

  it.each([
    ["", "file", /empty/],
    ["  \n\n", "file", /empty/],
    ["hello world\n", "format", /cannot tell/],
    ['{"foo":1}\n', "format", /not one of ours/],
    ["{oops\n", "json", /invalid JSON/],
  ])("refuses %j with field %s", async (content, field, message) => {
    const err = await detectFormat(tmp.write("g", content)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).first).toMatchObject({ line: 1, field });
    expect((err as Error).message).toMatch(message);
  });

  it("says when the file does not exist", async () => {
    await expect(detectFormat("/nonexistent/x.jsonl")).rejects.toThrow(/no such file/);
  });
});
