// Where the node's stand-ins live (docker, curl for IMDS, shutdown, date, the fault wrapper):
// shipped with the package so `windtunnel rehearse` and the tests run the same files.
import { join } from "node:path";
import { packageRoot } from "../evidence/package-root.ts";

/** The folder put first on the node script's PATH. */
export const standInsDir = (): string => join(packageRoot(), "src", "rehearse", "bin");
