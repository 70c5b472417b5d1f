// Headless Chromium for the report's tests: Debian's chromium (.ci/run installs it), driven by
// playwright-core (no browser download), launched with the flags this machine kind needs. Where
// it is missing the tests skip with a notice; under CI=true its absence fails them.
import { existsSync } from "node:fs";
import { describe, it } from "vitest";

export const CHROMIUM = process.env["WINDTUNNEL_CHROMIUM"] ?? "/usr/bin/chromium";
export const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

export function describeWithChromium(title: string, body: () => void): void {
  if (existsSync(CHROMIUM)) {
    describe(title, body);
  } else if (process.env["CI"] === "true") {
    describe(title, () => {
      it("has chromium", () => {
        throw new Error(`${CHROMIUM} is missing; .ci/run installs Debian's chromium package`);
      });
    });
  } else {
    console.warn(`[windtunnel tests] skipping "${title}": ${CHROMIUM} not found (apt-get install chromium)`);
    describe.skip(title, () => it("needs chromium", () => {}));
  }
}
