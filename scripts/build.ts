// npm run build: bundle the CLI with esbuild into dist/ (one small entry, one lazily loaded chunk
// for the commands, lazy chunks for what only some runs need), and precompute the built-in gate
// policies so `windtunnel gate` does not parse and validate gates/default.yaml on every run.
import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { basename } from "node:path";
import { build } from "esbuild";
import { BUILTIN_POLICIES, loadPolicy, type PrecompiledPolicy } from "../src/policy/load.ts";

const precompiled: Record<string, PrecompiledPolicy> = {};
for (const name of BUILTIN_POLICIES) {
  const loaded = await loadPolicy(name);
  precompiled[name] = {
    // The YAML files exactly as reviewed: if any byte differs at run time, the cache is ignored.
    sources: loaded.files.map((f) => ({ file: basename(f), sha256: createHash("sha256").update(readFileSync(f)).digest("hex") })),
    policy: loaded.policy,
    sha256: loaded.sha256,
  };
}

rmSync("dist", { recursive: true, force: true });
await build({
  // The reference trainer ships as JavaScript: Node refuses to strip types under node_modules.
  // infra: the Pulumi program, for a project whose Pulumi.yaml has main: node_modules/windtunnel/dist/infra.js
  entryPoints: { bin: "src/cli/bin.ts", trainer: "examples/trainer/train.ts", infra: "src/infra/index.ts" },
  // The Pulumi SDK stays a dependency: the program must share one SDK instance with Pulumi's
  // language host, and the SDK loads its own files at run time.
  // resvg ships a native addon per platform; esbuild itself is called by the Watchdog component.
  external: ["@pulumi/pulumi", "@pulumi/pulumi/*", "@pulumi/aws", "@pulumi/aws/*", "@resvg/resvg-js", "esbuild"],
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node22",
  minify: true,
  outdir: "dist",
  entryNames: "[name]",
  chunkNames: "chunks/[name]-[hash]",
  logLevel: "warning",
  // Bundled CommonJS dependencies (cli-table3) call require(); give ESM chunks one.
  banner: { js: "import{createRequire as __wtRequire}from'node:module';const require=__wtRequire(import.meta.url);" },
  define: { WINDTUNNEL_PRECOMPILED_POLICIES: JSON.stringify(JSON.stringify(precompiled)) },
});
// The node's stand-ins for `windtunnel rehearse`: shell scripts, copied with their modes.
cpSync("src/rehearse/bin", "dist/rehearse-bin", { recursive: true });
// The watchdog's Lambda bundle, for the Pulumi program run from the package (it has no sources).
const { bundleHandler, PREBUILT } = await import("../src/infra/watchdog.ts");
writeFileSync(PREBUILT, await bundleHandler());
console.log(`dist/ built; precompiled policies: ${Object.keys(precompiled).join(", ")}; watchdog bundle ${basename(PREBUILT)}`);
