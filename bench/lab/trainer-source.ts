// Which trainer made the lab benchmark's ground truth: a hash over the reference trainer's source
// and every file of this repository it imports, so that any change to what it computes makes the
// cache stale. (A change that computes the same numbers does too: a remake takes minutes.)
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";

const RELATIVE_IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+"(\.{1,2}\/[^"]+)"|(?:^|\n)\s*import\s+"(\.{1,2}\/[^"]+)"/g;

/** The entry and every file it imports by a relative path, transitively, relative to `root`, sorted. */
export function trainerSourceFiles(entry: string, root: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const m of readFileSync(file, "utf8").matchAll(RELATIVE_IMPORT)) visit(resolve(dirname(file), (m[1] ?? m[2]) as string));
  };
  visit(resolve(root, entry));
  return [...seen].map((f) => relative(root, f)).sort();
}

/** sha256 over each file's path and content, in order. */
export function trainerSourceHash(entry: string, root: string): { hash: string; files: string[] } {
  const files = trainerSourceFiles(entry, root);
  const h = createHash("sha256");
  for (const f of files) h.update(`${f}\0${readFileSync(resolve(root, f), "utf8")}\0`);
  return { hash: h.digest("hex"), files };
}
