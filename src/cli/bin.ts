#!/usr/bin/env node
// The `windtunnel` executable: run the CLI and exit with its code once output has drained.
// Node's on-disk compile cache (22.1+) is switched on before anything else loads, so a CI step
// that runs the gates pays for parsing windtunnel's code once, not on every call.
import module from "node:module";

module.enableCompileCache?.();
// `windtunnel validate … | head` closes the pipe early: stop quietly, as `cat` does, rather than
// die on an unhandled EPIPE with a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code !== "EPIPE") throw err;
    process.exit(process.exitCode ?? 0);
  });
}
const { main } = await import("./main.ts");
process.exitCode = await main(process.argv.slice(2));
