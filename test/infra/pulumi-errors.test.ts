// What `pulumi up` prints for each kind of error: a refusal or bad input without a stack trace,
// a bug with the stack a report needs.
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { GateRefusal, InputError, InternalError, UsageError } from "../../src/common/errors.ts";
import { forPulumi } from "../../src/infra/program.ts";

describe("errors for Pulumi", () => {
  it.each<[string, Error, string]>([
    ["bad input, one line per problem", new InputError([{ file: "stacks/Pulumi.a.yaml", line: 0, field: "windtunnel:hours", message: "expected a number", kind: "error" }]), "stacks/Pulumi.a.yaml: windtunnel:hours: expected a number"],
    ["a refusal", new GateRefusal("refused: the evidence does not pass"), "refused: the evidence does not pass"],
    ["a usage error", new UsageError("aws:region is not set"), "aws:region is not set"],
  ])("%s becomes a RunError", (_name, err, message) => {
    const out = forPulumi(err);
    expect(pulumi.RunError.isInstance(out)).toBe(true);
    expect((out as Error).message).toBe(message);
  });

  it.each([new InternalError("the program returned without judging the evidence"), new TypeError("x is undefined")])("a bug stays itself: %s", (err) => {
    expect(forPulumi(err)).toBe(err);
  });
});
