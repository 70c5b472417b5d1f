// Where the node's stand-ins live (docker, curl for IMDS, shutdown, date, the fault wrapper):
// shipped with the package so `windtunnel rehearse` and the tests run the same files. From the
// sources they are src/rehearse/bin; the build copies them to dist/rehearse-bin (no src/ ships).
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { packageRoot } from "../common/package-root.ts";

/** The folder put first on the node script's PATH. */
export function standInsDir(): string {
  const sources = join(dirname(fileURLToPath(import.meta.url)), "bin");
  return existsSync(join(sources, "rehearse-run")) ? sources : join(packageRoot(), "dist", "rehearse-bin");
}
