// The renderer's checks on its options, on their own: the paths and waits a test or the rehearsal
// passes in land in the script unquoted (waits) or quoted (paths), so each must be refused here.
import { describe, expect, it } from "vitest";
import { optionProblems, type RenderOptions } from "../../src/infra/user-data-input.ts";
import { renderUserData } from "../../src/infra/user-data.ts";
import { InternalError } from "../../src/common/errors.ts";

describe("render options", () => {
  it("accepts none, and the rehearsal's fractional waits", () => {
    expect(optionProblems({})).toEqual([]);
    expect(optionProblems({ logFile: "/tmp/x/windtunnel.log", outDir: "/tmp/x/out", spotPollS: 0.2, metricsIntervalS: 0.5, retryWaitsS: [0.1, 0.2], awsConnectTimeoutS: 2, awsReadTimeoutS: 5, awsMaxAttempts: 2 })).toEqual([]);
  });

  it.each<[string, RenderOptions, string]>([
    ["a relative log file", { logFile: "windtunnel.log" }, 'options.logFile: expected an absolute path of A-Z, a-z, 0-9, ., _, - and /, got "windtunnel.log"'],
    ["a space in the out folder", { outDir: "/tmp/my out" }, 'options.outDir: expected an absolute path of A-Z, a-z, 0-9, ., _, - and /, got "/tmp/my out"'],
    ["a zero spot poll", { spotPollS: 0 }, "options.spotPollS: expected a number > 0, got 0"],
    ["an infinite upload interval", { metricsIntervalS: Infinity }, "options.metricsIntervalS: expected a number > 0, got Infinity"],
    ["a negative retry wait", { retryWaitsS: [1, -1] }, "options.retryWaitsS[1]: expected a number > 0, got -1"],
    ["a fractional connect timeout", { awsConnectTimeoutS: 1.5 }, "options.awsConnectTimeoutS: expected a whole number > 0, got 1.5"],
    ["no read timeout", { awsReadTimeoutS: 0 }, "options.awsReadTimeoutS: expected a whole number > 0, got 0"],
    ["NaN attempts", { awsMaxAttempts: Number.NaN }, "options.awsMaxAttempts: expected a whole number > 0, got NaN"],
  ])("refuses %s", (_name, o, problem) => {
    expect(optionProblems(o)).toEqual([problem]);
  });

  it("names every bad option at once", () => {
    expect(optionProblems({ spotPollS: -1, awsMaxAttempts: 0 })).toHaveLength(2);
  });

  it("a refused input is windtunnel's own bug (the stack schema refuses it first), not the user's", () => {
    const input = { campaign: "c", stage: "full", bucket: "wt-c", prefix: "c", region: "us-east-1", image: "img", runs: [{ name: "train", command: "true" }], hardStopMinutes: 60, metricsIntervalS: 60, rank: 0, nodes: 1, efa: false, target: {}, verdictDigest: "0".repeat(64) } as const;
    expect(() => renderUserData(input)).not.toThrow();
    expect(() => renderUserData(input, { spotPollS: 0 })).toThrow(InternalError);
  });
});
