#!/usr/bin/env node
// The packaged `windtunnel` executable (dist/bin.js): the CLI as one script, run through the code
// cache of its command (code-cache.ts says why), then the cache is saved if this run had none.
// dist/core.cjs serves the commands CI runs on every push, dist/cli.cjs everything.
import { loadBundle } from "./code-cache.ts";
import { CORE_COMMANDS } from "./core-commands.ts";

const word = process.argv[2];
const label = word !== undefined && /^[a-z]{1,20}$/.test(word) ? word : "_";
const script = process.getBuiltinModule("node:url").fileURLToPath(new URL(CORE_COMMANDS.includes(label) ? "./core.cjs" : "./cli.cjs", import.meta.url));
const cli = loadBundle(script, label);
const main = cli.exports["main"] as (argv: readonly string[]) => Promise<number>;
process.exitCode = await main(process.argv.slice(2));
cli.save();
