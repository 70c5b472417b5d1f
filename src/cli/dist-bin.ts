#!/usr/bin/env node
// The packaged `windtunnel` executable (dist/bin.js): dist/cli.cjs, the whole CLI in one script,
// run through the code cache of its command (code-cache.ts says why), then the cache is saved
// if this run had none.
import { fileURLToPath } from "node:url";
import { loadBundle } from "./code-cache.ts";

const script = fileURLToPath(new URL("./cli.cjs", import.meta.url));
const word = process.argv[2];
const cli = loadBundle(script, word !== undefined && /^[a-z]{1,20}$/.test(word) ? word : "_");
const main = cli.exports["main"] as (argv: readonly string[]) => Promise<number>;
process.exitCode = await main(process.argv.slice(2));
cli.save();
