// Read crafted evidence from a string through the real streaming readers.
import { openEvidence, type ReadOptions } from "../../src/evidence/read.ts";
import type { MetricPoint, TrajectoryRow } from "../../src/evidence/schemas.ts";
import type { Problem } from "../../src/common/problems.ts";

export interface Read {
  format: string;
  rows: TrajectoryRow[];
  points: MetricPoint[];
  problems: Problem[];
  errors: number;
  unreadable: number;
}

export async function readFile(file: string, options: ReadOptions = {}): Promise<Read> {
  const ev = await openEvidence(file, options);
  const rows: TrajectoryRow[] = [];
  const points: MetricPoint[] = [];
  if (ev.kind === "trajectory") for await (const b of ev.rows) rows.push(...b);
  else for await (const b of ev.points) points.push(...b);
  return { format: ev.format, rows, points, problems: ev.diag.problems, errors: ev.diag.errorCount, unreadable: ev.diag.unreadableCount };
}
