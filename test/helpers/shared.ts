// The real public artifacts live outside the repo in ../shared/fixtures (never copied in).
// Where they are absent a test skips with a printed notice; under CI=true their absence fails.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { resolve } from "node:path";
import { describe, it } from "vitest";

export const REPO = fileURLToPath(new URL("../../", import.meta.url));
export const SHARED_FIXTURES = process.env["WINDTUNNEL_FIXTURES"] ?? resolve(REPO, "../shared/fixtures");

export function describeWithSharedFixtures(title: string, body: (dir: string) => void): void {
  if (existsSync(SHARED_FIXTURES)) {
    describe(title, () => body(SHARED_FIXTURES));
  } else if (process.env["CI"] === "true") {
    describe(title, () => {
      it("has ../shared/fixtures", () => {
        throw new Error(`${SHARED_FIXTURES} is missing; under CI=true the real-artifact tests must run (set WINDTUNNEL_FIXTURES to its path)`);
      });
    });
  } else {
    console.warn(`[windtunnel tests] skipping "${title}": ${SHARED_FIXTURES} not found (set WINDTUNNEL_FIXTURES to run it)`);
    describe.skip(title, () => {
      it("needs ../shared/fixtures", () => {});
    });
  }
}
