// The packaged CLI's loader: a V8 code cache written after the run, per command, never in the way.
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { execFileSync } from "node:child_process";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cacheFileOf, loadBundle, shortHash, WRAPPER } from "../../src/cli/code-cache.ts";

const LOADER = fileURLToPath(new URL("../../src/cli/code-cache.ts", import.meta.url));

let dir = "";
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "wt-code-cache-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A CommonJS bundle as esbuild writes one: module.exports, require, and __wtUrl for import.meta.url. */
function bundle(name: string, extra = ""): string {
  const body = Array.from({ length: 40 }, (_, i) => `s += Math.sqrt(i + ${i}) * ${i};`).join("\n");
  const file = join(dir, name);
  writeFileSync(
    file,
    WRAPPER.banner + `"use strict";\nconst path = require("node:path");\nfunction work(n) { let s = 0; for (let i = 0; i < n; i++) { ${body} } return s; }\n` +
      `module.exports = { work, url: __wtUrl, base: path.basename(__filename), later: () => import("node:path").then((m) => m.sep) };\n${extra}` + WRAPPER.footer,
  );
  return file;
}

/**
 * One run of the CLI in its own process, as in use: V8 keeps an in-process cache of scripts it
 * compiled, which would answer a second load in the same process without reading the file cache.
 */
function run(file: string, label: string, cache: string): { cached: boolean; work: number } {
  const code = `import { loadBundle } from ${JSON.stringify(LOADER)}; const m = loadBundle(${JSON.stringify(file)}, ${JSON.stringify(label)}, ${JSON.stringify(cache)}); const work = m.exports.work(50); m.save(); console.log(JSON.stringify({ cached: m.cached, work }));`;
  return JSON.parse(execFileSync(process.execPath, ["--input-type=module", "-e", code], { encoding: "utf8" })) as { cached: boolean; work: number };
}

describe("loadBundle", () => {
  it("runs the script with require, __filename and the file URL esbuild's import.meta.url stands for", async () => {
    const file = bundle("cli.cjs");
    const m = loadBundle(file, "gate", join(dir, "cache"));
    expect(m.cached).toBe(false);
    expect(m.exports["base"]).toBe("cli.cjs");
    expect(m.exports["url"]).toBe(pathToFileURL(file).href);
    // A dynamic import() inside the script goes through Node's own loader.
    await expect((m.exports["later"] as () => Promise<string>)()).resolves.toBe("/");
  });

  it("uses the cache the previous run saved, per command", () => {
    const file = bundle("cli.cjs");
    const cache = join(dir, "cache");
    expect(run(file, "gate", cache)).toEqual({ cached: false, work: expect.any(Number) });
    expect(readdirSync(cache).filter((f) => f.startsWith("gate-"))).toHaveLength(1);
    const second = run(file, "gate", cache);
    expect(second.cached).toBe(true);
    expect(second.work).toBe(run(file, "gate", cache).work);
    // Another command has its own cache: validate is not served what gate compiled.
    expect(run(file, "validate", cache).cached).toBe(false);
    expect(run(file, "validate", cache).cached).toBe(true);
  });

  it("saves the functions the run compiled, which a cache taken at load time lacks", () => {
    const file = bundle("cli.cjs");
    const idle = loadBundle(file, "idle", join(dir, "a"));
    idle.save();
    const busy = loadBundle(file, "busy", join(dir, "b"));
    (busy.exports["work"] as (n: number) => number)(100);
    busy.save();
    const size = (d: string): number => statSync(join(dir, d, readdirSync(join(dir, d))[0] ?? "")).size;
    expect(size("b")).toBeGreaterThan(size("a"));
  });

  it("replaces a cache V8 refuses, and keys a rebuilt script apart", () => {
    const file = bundle("cli.cjs");
    const cache = join(dir, "cache");
    run(file, "gate", cache);
    const [name] = readdirSync(cache);
    writeFileSync(join(cache, name ?? ""), "not a code cache");
    expect(run(file, "gate", cache).cached).toBe(false);
    expect(run(file, "gate", cache).cached).toBe(true);
    // A rebuilt bundle (another size and mtime) never reads the old file.
    const before = cacheFileOf(file, "gate", cache);
    bundle("cli.cjs", "// rebuilt\n");
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    expect(cacheFileOf(file, "gate", cache)).not.toBe(before);
    expect(run(file, "gate", cache).cached).toBe(false);
  });

  it("never fails the run: no folder, or one it cannot write", () => {
    const file = bundle("cli.cjs");
    const none = loadBundle(file, "gate", undefined);
    expect(() => none.save()).not.toThrow();
    const blocked = join(dir, "a-file");
    writeFileSync(blocked, "");
    const m = loadBundle(file, "gate", join(blocked, "cache"));
    expect(() => m.save()).not.toThrow();
    expect(m.exports["base"]).toBe("cli.cjs");
  });
});

describe("shortHash", () => {
  it("tells flag sets apart, the same way every time", () => {
    expect(shortHash("--max-old-space-size=4096")).toBe(shortHash("--max-old-space-size=4096"));
    expect(shortHash("--max-old-space-size=4096")).not.toBe(shortHash("--max-old-space-size=8192"));
    expect(shortHash("")).toMatch(/^[0-9a-f]{8}$/);
  });
});
