#!/usr/bin/env node
// The `windtunnel` executable: run the CLI and exit with its code once output has drained.
import { main } from "./main.ts";

process.exitCode = await main(process.argv.slice(2));
