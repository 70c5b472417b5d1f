#!/usr/bin/env node
// `windtunnel` from the sources (npm run windtunnel, npm run demo): run the CLI, exit with its code.
// The package's executable is dist/bin.js, built from dist-bin.ts: the same main through a code cache.
// Node's on-disk compile cache (22.1+) is switched on before anything else loads.
import module from "node:module";

module.enableCompileCache?.();
const { main } = await import("./main.ts");
process.exitCode = await main(process.argv.slice(2));
