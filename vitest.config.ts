import { defineConfig } from "vitest/config";

// The rehearsal and the demo run the node script on a compressed clock (10–20 simulated minutes
// per real second): a CPU shared with the rest of the suite makes their trainers lag the clock
// until a health gate fires (first metrics within 60 simulated minutes is 6 real seconds). They run
// last, one file at a time, on a machine the other tests have left.
const CLOCK_BOUND = ["test/e2e/rehearse.test.ts", "test/e2e/demo.test.ts"];

export default defineConfig({
  test: {
    // The JSON report is what .ci/run turns into its final "N passed, N failed" line.
    reporters: ["default", "json"],
    outputFile: { json: ".vitest/results.json" },
    projects: [
      { test: { name: "unit", include: ["test/**/*.test.ts"], exclude: ["test/e2e/**"], sequence: { groupOrder: 0 } } },
      { test: { name: "e2e", include: ["test/e2e/**/*.test.ts"], exclude: CLOCK_BOUND, testTimeout: 120_000, hookTimeout: 120_000, sequence: { groupOrder: 0 } } },
      { test: { name: "e2e-clock", include: CLOCK_BOUND, testTimeout: 240_000, hookTimeout: 120_000, fileParallelism: false, sequence: { groupOrder: 1 } } },
    ],
  },
});
