// Options shared by the trajectory adapters.
import type { Status } from "../schemas.ts";

export interface TrajectoryOptions {
  /** Top-level config keys left out of the identity hash. @default ["seed"] */
  identityExclude?: readonly string[];
  /** Extra raw-status → status mappings for results.tsv files with their own vocabulary. */
  statusMap?: Readonly<Record<string, Status>>;
}
