// Reading a campaign's metrics from its bucket incrementally: each object from its cursor (a
// ranged GET of the new bytes only), complete lines only, so a torn last line is read whole next
// time. Shared by the watchdog's tick and `windtunnel watch`.
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import { Diagnostics } from "../common/problems.ts";
import { metricsMapper } from "../evidence/formats/metrics.ts";
import type { MetricPoint } from "../evidence/schemas.ts";
import type { NodeEvent } from "./decide.ts";
import { objectKind } from "../campaign/layout.ts";

export type Cursors = Record<string, { bytes: number; line: number }>;

export async function getBytes(s3: S3Client, bucket: string, key: string, range?: string): Promise<Uint8Array | undefined> {
  try {
    const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...(range ? { Range: range } : {}) }));
    return (await r.Body?.transformToByteArray()) ?? new Uint8Array();
  } catch (err) {
    if ((err as { name?: string }).name === "NoSuchKey") return undefined;
    throw err;
  }
}

export async function listObjects(s3: S3Client, bucket: string, prefix: string): Promise<{ key: string; size: number }[]> {
  const out: { key: string; size: number }[] = [];
  let token: string | undefined;
  do {
    const r = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
    for (const o of r.Contents ?? []) if (o.Key && o.Size !== undefined) out.push({ key: o.Key, size: o.Size });
    token = r.IsTruncated ? r.NextContinuationToken : undefined;
  } while (token);
  return out;
}

/** The complete lines of what was appended since the cursor; the cursor moves past them only. */
async function readNew(s3: S3Client, bucket: string, key: string, size: number, cursor: { bytes: number; line: number }): Promise<{ lines: string[]; next: { bytes: number; line: number }; bytes: number } | undefined> {
  if (size <= cursor.bytes) return undefined;
  const bytes = await getBytes(s3, bucket, key, `bytes=${cursor.bytes}-${size - 1}`);
  if (bytes === undefined) return undefined;
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = buf.lastIndexOf(0x0a);
  if (end === -1) return { lines: [], next: cursor, bytes: buf.length };
  const complete = buf.subarray(0, end + 1).toString("utf-8");
  const lines = complete.split("\n").slice(0, -1).map((l) => l.replace(/\r$/, ""));
  return { lines, next: { bytes: cursor.bytes + end + 1, line: cursor.line + lines.length }, bytes: buf.length };
}

export interface Updates {
  cursors: Cursors;
  batches: { key: string; points: MetricPoint[] }[];
  events: NodeEvent[];
  problems: string[];
  bytesRead: number;
}

/** New metrics points (per `*.metrics.jsonl` object) and node events under a prefix since `cursors`. */
export async function readUpdates(s3: S3Client, bucket: string, prefix: string, previous: Cursors): Promise<Updates> {
  const cursors = { ...previous };
  const out: Updates = { cursors, batches: [], events: [], problems: [], bytesRead: 0 };
  for (const o of await listObjects(s3, bucket, prefix)) {
    const isMetrics = objectKind(o.key) === "metrics";
    const isEvents = objectKind(o.key) === "events";
    if (!isMetrics && !isEvents) continue;
    const cursor = cursors[o.key] ?? { bytes: 0, line: 1 };
    const got = await readNew(s3, bucket, o.key, o.size, cursor);
    if (!got) continue;
    out.bytesRead += got.bytes;
    cursors[o.key] = got.next;
    if (isEvents) {
      for (const l of got.lines) {
        try {
          const e = JSON.parse(l) as NodeEvent;
          if (typeof e.event === "string") out.events.push({ ...e, key: o.key });
        } catch {
          out.problems.push(`${o.key}: an events line that is not JSON`);
        }
      }
      continue;
    }
    const diag = new Diagnostics(o.key, 20);
    const points = metricsMapper(diag)({ first: cursor.line, lines: got.lines });
    for (const p of diag.problems) out.problems.push(`${p.file}:${p.line}: ${p.field}: ${p.message}`);
    out.batches.push({ key: o.key, points });
  }
  return out;
}
