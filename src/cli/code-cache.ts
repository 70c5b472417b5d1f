// How the packaged CLI starts almost as fast as `node` itself (issue 16): dist/cli.cjs is one
// script, compiled through node:vm with a V8 code cache that is written *after* the command ran.
//
// Node's own compile cache (module.enableCompileCache) stores each module's code as compiled at
// load time, which is only its top level: V8 compiles functions lazily, so every run of `gate`
// compiled the same few hundred functions again. A cache created once the command has finished
// holds every function that run compiled, and the next run deserializes instead of parsing and
// compiling anything. Measured on `gate --phase all` (README, Benchmarks): the ESM chunks with
// Node's compile cache ran 3.2–3.8× `node -e 0`, this loader ≈2×.
//
// One cache per command word, so `gate` is not served the functions `validate` compiled. The
// file lives in Node's compile-cache folder (NODE_COMPILE_CACHE, else the OS temp folder) and is
// keyed by the script's size and mtime, Node's version and the V8 flags; V8 checks its own
// version, flags and the source length again and rejects a cache that does not fit, which this
// loader then replaces. NODE_DISABLE_COMPILE_CACHE=1 turns it off. Writing is atomic (a
// temporary file renamed), so concurrent CI steps never read a torn cache, and it never fails a
// run: a cache is an optimisation, the command's exit code is what matters.
// Node's modules through process.getBuiltinModule, not ES imports: importing one as a module
// materialises every export, and node:fs's ReadStream getter alone loads the whole stream stack
// (≈3 ms a run) that the CLI never needs.
const module = process.getBuiltinModule("node:module");
const { mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } = process.getBuiltinModule("node:fs");
const { dirname, join } = process.getBuiltinModule("node:path");
const { pathToFileURL } = process.getBuiltinModule("node:url");
const { constants, Script } = process.getBuiltinModule("node:vm");

export interface LoadedScript {
  /** What the script assigned to module.exports. */
  exports: Record<string, unknown>;
  /** Whether a cache was found and V8 accepted it. */
  cached: boolean;
  /** Write the cache when this run had none (or V8 refused it); call once the command is done. */
  save(): void;
}

/**
 * The script is one function expression taking what a CommonJS module expects, plus the URL
 * esbuild's `import.meta.url` is defined to. The build writes the wrapper into the file (its
 * banner and footer), so the loader compiles the text as read: wrapping it here copied the whole
 * script into a second string on every run.
 */
export const WRAPPER = { banner: "(function (exports, require, module, __filename, __dirname, __wtUrl) {", footer: "\n})" } as const;

/** Where the caches go: Node's compile-cache folder, or nowhere when it is disabled. */
export function cacheDirectory(): string | undefined {
  const r = module.enableCompileCache?.();
  const ok = r !== undefined && (r.status === module.constants.compileCacheStatus.ENABLED || r.status === module.constants.compileCacheStatus.ALREADY_ENABLED);
  return ok && r.directory !== undefined ? join(r.directory, "windtunnel") : undefined;
}

/** FNV-1a, enough to tell apart V8 flag sets in a file name (no node:crypto on the start-up path). */
export function shortHash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, "0");
}

/** The cache file for `script` run as `label` (a command word), or undefined without a folder. */
export function cacheFileOf(script: string, label: string, dir: string | undefined): string | undefined {
  if (dir === undefined) return undefined;
  const st = statSync(script);
  const flags = shortHash([...process.execArgv, process.env["NODE_OPTIONS"] ?? ""].join("\u0000"));
  return join(dir, `${label}-${st.size}-${Math.trunc(st.mtimeMs)}-${process.version}-${process.arch}-${flags}.v8`);
}

/**
 * The bundle's import() of an ES module package goes through Node's own loader
 * (vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER), which Node marks experimental and warns about on
 * first use: a line on stderr of `plan` or `report` that says nothing about them. That one warning
 * is dropped; every other goes on as Node emits it.
 */
function quietLoaderWarning(): void {
  const emit = process.emitWarning;
  process.emitWarning = function (this: unknown, warning: string | Error, ...rest: unknown[]) {
    if (String(typeof warning === "string" ? warning : warning.message).includes("USE_MAIN_CONTEXT_DEFAULT_LOADER")) return;
    return (emit as (...a: unknown[]) => void).call(process, warning, ...rest);
  } as typeof process.emitWarning;
}

/** Run a CommonJS bundle through node:vm with the cache for `label`. */
export function loadBundle(script: string, label: string, dir: string | undefined = cacheDirectory()): LoadedScript {
  const cacheFile = cacheFileOf(script, label, dir);
  let cachedData: Buffer | undefined;
  if (cacheFile !== undefined) {
    try {
      cachedData = readFileSync(cacheFile);
    } catch {
      cachedData = undefined; // first run of this build, or the folder was cleaned
    }
  }
  // esbuild writes ASCII (it escapes the rest), so latin1 reads it without decoding UTF-8.
  const compiled = new Script(readFileSync(script, "latin1"), {
    filename: script,
    ...(cachedData !== undefined ? { cachedData } : {}),
    // The bundle's import() of an ES module package (vega) goes through Node's own loader.
    importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const cached = cachedData !== undefined && compiled.cachedDataRejected !== true;
  quietLoaderWarning();
  const mod = { exports: {} as Record<string, unknown> };
  (compiled.runInThisContext() as (...args: unknown[]) => void)(mod.exports, module.createRequire(script), mod, script, dirname(script), pathToFileURL(script).href);
  return {
    exports: mod.exports,
    cached,
    save() {
      if (cached || cacheFile === undefined) return;
      try {
        const data = compiled.createCachedData();
        mkdirSync(dirname(cacheFile), { recursive: true });
        const tmp = `${cacheFile}.${process.pid}.tmp`;
        writeFileSync(tmp, data);
        renameSync(tmp, cacheFile);
        removeStale(cacheFile, label);
      } catch {
        // a read-only or full temp folder: the next run compiles again, nothing else changes
      }
    },
  };
}

/** How long a cache of another build may sit unused before a new cache of the same command removes it. */
const STALE_MS = 7 * 24 * 3600 * 1000;

/**
 * Caches of this label left by earlier builds or Node versions. Only old ones: two installed
 * versions sharing a temp folder must not delete each other's cache on every run.
 */
function removeStale(current: string, label: string): void {
  const dir = dirname(current);
  const now = Date.now();
  for (const f of readdirSync(dir)) {
    const path = join(dir, f);
    if (path !== current && f.startsWith(`${label}-`) && f.endsWith(".v8") && now - statSync(path).mtimeMs > STALE_MS) {
      try {
        unlinkSync(path);
      } catch {
        // another process removed it first
      }
    }
  }
}
