import { describe, expect, it } from "vitest";
import { readFile } from "../../helpers/read.ts";
import { useTmpDir } from "../../helpers/tmp.ts";
import { logPattern } from "../../../src/evidence/formats/log.ts";
import { UsageError } from "../../../src/common/errors.ts";

const tmp = useTmpDir();

describe("training logs", () => {
  it("reads modded-nanogpt train and val lines as two series", async () => {
    const f = tmp.write(
      "a.log",
      ["step:0/6200 val_loss:10.9264 train_time:285ms step_avg:nanms", "step:1/6200 train_loss:10.9184 train_time:74701ms step_avg:nanms", "some unrelated print", "step:125/6200 train_loss:4.7 train_time:2000ms step_avg:16ms", "step:125/6200 val_loss:4.66 train_time:2.5s step_avg:20.00ms"].join("\n"),
    );
    const r = await readFile(f);
    expect(r.format).toBe("log");
    expect(r.errors).toBe(0);
    expect(r.points).toEqual([
      { step: 0, line: 1, val_loss: 10.9264, time_s: 0.285 },
      { step: 1, line: 2, loss: 10.9184, time_s: 74.701 },
      { step: 125, line: 4, loss: 4.7, time_s: 2 },
      { step: 125, line: 5, val_loss: 4.66, time_s: 2.5 },
    ]);
  });

  it("reads `s:250 tel:6.3 / trl:` validation logs", async () => {
    const r = await readFile(tmp.write("b.log", "s:0 tel:10.9830\ns:250 tel:6.3097 / trl:6.2\ns:500 tel:5.5887 / trl:\n"));
    expect(r.points).toEqual([
      { step: 0, line: 1, val_loss: 10.983 },
      { step: 250, line: 2, val_loss: 6.3097, loss: 6.2 },
      { step: 500, line: 3, val_loss: 5.5887 },
    ]);
  });

  it("accepts nan and inf as logs print them", async () => {
    const r = await readFile(tmp.write("c.log", "step:1/10 train_loss:nan\nstep:2/10 train_loss:inf\n"));
    expect(r.points[0]?.loss).toBeNaN();
    expect(r.points[1]?.loss).toBe(Infinity);
  });

  it("reports a bad number and a step that goes backwards within a series", async () => {
    const r = await readFile(tmp.write("d.log", "step:1/10 train_loss:8.6x\nstep:5/10 train_loss:4\nstep:4/10 train_loss:4\nstep:4/10 val_loss:4\n"));
    expect(r.problems.map((p) => [p.line, p.field])).toEqual([
      [1, "loss"],
      [3, "step"],
    ]);
  });

  it("takes a custom regex with named groups", async () => {
    const r = await readFile(tmp.write("e.log", "it 10 | loss 3.25 | gnorm 1.5\nit 20 | loss 3.1 | gnorm 1.4\n"), { logRegex: String.raw`^it (?<step>\d+) \| loss (?<loss>\S+) \| gnorm (?<grad_norm>\S+)` });
    expect(r.points).toEqual([
      { step: 10, line: 1, loss: 3.25, grad_norm: 1.5 },
      { step: 20, line: 2, loss: 3.1, grad_norm: 1.4 },
    ]);
  });

  it.each([
    [String.raw`(?<loss>\S+)`, /step/],
    [String.raw`(?<step>\d+)`, /at least one of/],
    [String.raw`(?<step>\d+) (?<loss>\S+) (?<bogus>\S+)`, /unknown named group/],
    ["(unclosed", /not a valid regular expression/],
  ])("refuses the custom regex %s", (regex, message) => {
    expect(() => logPattern({ regex })).toThrow(UsageError);
    expect(() => logPattern({ regex })).toThrow(message);
  });
});
