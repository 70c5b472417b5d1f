// Temp folders that each test cleans up after itself.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "vitest";

export function useTmpDir(): { dir: () => string; write: (name: string, content: string | Uint8Array) => string } {
  let current: string | undefined;
  afterEach(() => {
    if (current) rmSync(current, { recursive: true, force: true });
    current = undefined;
  });
  const dir = (): string => (current ??= mkdtempSync(join(tmpdir(), "windtunnel-test-")));
  return {
    dir,
    write: (name, content) => {
      const p = join(dir(), name);
      writeFileSync(p, content);
      return p;
    },
  };
}
