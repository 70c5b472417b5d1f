// Where windtunnel's own files (gates/, examples/demo/) live, whether it runs from src/, from the
// bundled dist/ or from node_modules: the nearest folder up from this module with our package.json.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

let cached: string | undefined;

export function packageRoot(): string {
  if (cached !== undefined) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, "utf8")) as { name?: string }).name === "windtunnel") return (cached = dir);
    const up = dirname(dir);
    if (up === dir) throw new Error("windtunnel's package.json not found above its modules");
    dir = up;
  }
}
