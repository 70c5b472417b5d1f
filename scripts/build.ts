// npm run build: bundle with esbuild into dist/: the CLI as one script (cli.cjs) behind a small
// loader (bin.js) that runs it with a code cache; the reference trainer and the Pulumi program as
// ES modules. The built-in gate policies are precomputed so `windtunnel gate` does not parse and
// validate gates/default.yaml on every run.
import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { basename } from "node:path";
import { build, type Plugin } from "esbuild";
import { CORE_COMMANDS } from "../src/cli/core-commands.ts";
import { WRAPPER } from "../src/cli/code-cache.ts";
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
const define = { WINDTUNNEL_PRECOMPILED_POLICIES: JSON.stringify(JSON.stringify(precompiled)) };
const common = { bundle: true, platform: "node", target: "node22", minify: true, logLevel: "warning", define } as const;
// The Pulumi SDK stays a dependency: the program must share one SDK instance with Pulumi's
// language host, and the SDK loads its own files at run time. resvg ships a native addon per
// platform; esbuild itself is called by the Watchdog component.
const external = ["@pulumi/pulumi", "@pulumi/pulumi/*", "@pulumi/aws", "@pulumi/aws/*", "@resvg/resvg-js", "esbuild"];

// The CLI: one CommonJS script that dist/bin.js runs through a V8 code cache (src/cli/code-cache.ts).
// The AWS SDK, vega and yaml (only for precise error lines) stay packages, loaded from
// node_modules by the commands that use them: every byte of the script is read, and checked
// against its cache, on every run of every command.
const cli = {
  ...common,
  entryPoints: ["src/cli/main.ts"],
  format: "cjs",
  external: [...external, "@aws-sdk/*", "vega", "vega-lite", "yaml"],
  define: { ...define, "import.meta.url": "__wtUrl" },
  banner: { js: WRAPPER.banner },
  footer: { js: WRAPPER.footer },
  charset: "ascii",
} as const;
await build({ ...cli, outfile: "dist/cli.cjs" });
// The same script for CORE_COMMANDS only (src/cli/core-commands.ts): a command's flags file
// imports its handler when it runs; the handlers of other commands become a stub that says it is
// missing, which the loader never reaches, since it picks this script only for the core's.
const coreHandlers = new Set(CORE_COMMANDS.map((c) => `./${c}.ts`));
const coreOnly: Plugin = {
  name: "core-commands-only",
  setup(b) {
    b.onResolve({ filter: /.*/ }, (a) => (a.kind === "dynamic-import" && a.importer.endsWith(".flags.ts") && !coreHandlers.has(a.path) ? { path: a.path, namespace: "not-in-core" } : undefined));
    b.onLoad({ filter: /.*/, namespace: "not-in-core" }, (a) => ({ contents: `throw new Error(${JSON.stringify(`${a.path} is not in dist/core.cjs (only ${CORE_COMMANDS.join(", ")}): a packaging bug`)});`, loader: "js" }));
  },
};
await build({ ...cli, outfile: "dist/core.cjs", plugins: [coreOnly] });
await build({ ...common, entryPoints: { bin: "src/cli/dist-bin.ts" }, outdir: "dist", format: "esm" });
await build({
  ...common,
  // The reference trainer ships as JavaScript: Node refuses to strip types under node_modules.
  // infra: the Pulumi program, for a project whose Pulumi.yaml has main: node_modules/windtunnel/dist/infra.js
  entryPoints: { trainer: "examples/trainer/train.ts", infra: "src/infra/index.ts" },
  external,
  splitting: true,
  format: "esm",
  outdir: "dist",
  entryNames: "[name]",
  chunkNames: "chunks/[name]-[hash]",
  // Bundled CommonJS dependencies call require(); give ESM chunks one.
  banner: { js: "import{createRequire as __wtRequire}from'node:module';const require=__wtRequire(import.meta.url);" },
});
// The node's stand-ins for `windtunnel rehearse`: shell scripts, copied with their modes.
cpSync("src/rehearse/bin", "dist/rehearse-bin", { recursive: true });
// The watchdog's Lambda bundle, for the Pulumi program run from the package (it has no sources).
const { bundleHandler, PREBUILT } = await import("../src/infra/watchdog.ts");
writeFileSync(PREBUILT, await bundleHandler());
console.log(`dist/ built; precompiled policies: ${Object.keys(precompiled).join(", ")}; watchdog bundle ${basename(PREBUILT)}`);
