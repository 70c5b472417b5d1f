// The Lambda entry point (bundled with esbuild by the Watchdog component): read the watchdog's
// config object once per container, then run one tick. EventBridge calls it every few minutes;
// reserved concurrency 1 keeps two ticks from racing on the state.
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { EC2Client } from "@aws-sdk/client-ec2";
import { SNSClient } from "@aws-sdk/client-sns";
import { tick, type Clients, type TickResult, type TickTarget } from "./tick.ts";
import { parseWatchdogTarget } from "../campaign/watchdog-config.ts";
import { InternalError } from "../common/errors.ts";

/** Standard retry mode: exponential backoff with jitter for throttling and 5xx, a few attempts. */
const CLIENT = { maxAttempts: 5, retryMode: "standard" } as const;

let clients: Clients | undefined;
let target: TickTarget | undefined;

/** The config the stack wrote, checked with the contract's schema: a config this handler cannot read is an error before any tick. */
export async function loadTarget(s3: S3Client, bucket: string, key: string): Promise<TickTarget> {
  const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const parsed = parseWatchdogTarget(await (r.Body?.transformToString("utf-8") ?? Promise.resolve("")));
  if (!parsed.ok) throw new InternalError(`s3://${bucket}/${key} is not a watchdog config this handler reads: ${parsed.problems.slice(0, 5).join("; ")}`);
  return parsed.target;
}

/** EventBridge's two-minute warning, as a notice of the instance it names (a scheduled tick carries none). */
export function spotWarningOf(event: unknown): { instanceId: string; at: string } | undefined {
  if (event === null || typeof event !== "object") return undefined;
  const e = event as { "detail-type"?: unknown; time?: unknown; detail?: { "instance-id"?: unknown } };
  if (e["detail-type"] !== "EC2 Spot Instance Interruption Warning" || typeof e.detail?.["instance-id"] !== "string") return undefined;
  return { instanceId: e.detail["instance-id"], at: typeof e.time === "string" ? e.time : new Date().toISOString() };
}

export async function handler(event?: unknown): Promise<{ action: string; reasons: string[]; terminated: string[]; bytesRead: number }> {
  const bucket = process.env["WINDTUNNEL_BUCKET"];
  const key = process.env["WINDTUNNEL_WATCHDOG_CONFIG"];
  if (!bucket || !key) throw new InternalError("WINDTUNNEL_BUCKET and WINDTUNNEL_WATCHDOG_CONFIG must be set (the Watchdog component sets both on the function)");
  clients ??= { s3: new S3Client(CLIENT), ec2: new EC2Client(CLIENT), sns: new SNSClient(CLIENT) };
  target ??= await loadTarget(clients.s3, bucket, key);
  const warning = spotWarningOf(event);
  const r: TickResult = await tick(clients, target, new Date(), warning ? [warning] : []);
  // One line per tick in CloudWatch Logs: what was decided and why.
  console.log(JSON.stringify({ action: r.decision.action, reasons: r.decision.reasons, alerts: r.decision.alerts, terminated: r.terminated, bytesRead: r.bytesRead, problems: r.problems.slice(0, 5) }));
  return { action: r.decision.action, reasons: r.decision.reasons, terminated: r.terminated, bytesRead: r.bytesRead };
}
