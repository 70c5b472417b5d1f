// Windtunnel's own broken invariants say so at the throw site: InternalError (exit 70, "please
// report"), not a bare Error and not bad input. One case per site a unit test can reach.
import { describe, expect, it } from "vitest";
import { InternalError } from "../../src/common/errors.ts";
import { pyRound } from "../../src/cost/round.ts";
import { assertSelfContained } from "../../src/report/html.ts";
import { handler } from "../../src/watchdog/handler.ts";

describe("broken invariants are InternalErrors", () => {
  it("a figure that would load a resource", () => {
    expect(() => assertSelfContained('<svg><image href="http://x/y.png"/></svg>')).toThrow(InternalError);
  });

  it.each([-1, 1.5, 101])("pyRound to %d digits", (digits) => {
    expect(() => pyRound(1.25, digits)).toThrow(InternalError);
  });

  it("a watchdog function without the environment its component sets", async () => {
    const saved = { bucket: process.env["WINDTUNNEL_BUCKET"], key: process.env["WINDTUNNEL_WATCHDOG_CONFIG"] };
    delete process.env["WINDTUNNEL_BUCKET"];
    delete process.env["WINDTUNNEL_WATCHDOG_CONFIG"];
    try {
      await expect(handler()).rejects.toThrow(InternalError);
    } finally {
      if (saved.bucket !== undefined) process.env["WINDTUNNEL_BUCKET"] = saved.bucket;
      if (saved.key !== undefined) process.env["WINDTUNNEL_WATCHDOG_CONFIG"] = saved.key;
    }
  });
});
