#!/usr/bin/env node
// The `windtunnel` executable: run the CLI and exit with its code once output has drained.
// Node's on-disk compile cache (22.1+) is switched on before anything else loads, so a CI step
// that runs the gates pays for parsing windtunnel's code once, not on every call.
import module from "node:module";

module.enableCompileCache?.();
const { main } = await import("./main.ts");
process.exitCode = await main(process.argv.slice(2));
