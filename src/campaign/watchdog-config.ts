// The watchdog's config (watchdog/<campaign>/<stage>/config.json): what the stack writes and the
// Lambda reads, validated on both sides by this one schema. The handler used to cast whatever
// JSON it found; a config from another version of the stack, or a hand-edited one, is now refused
// with the field named before any tick runs.
import "../common/zod-setup.ts";
import * as z from "zod/mini";
import { lazy } from "../evidence/schemas.ts";
import { policySchema } from "../policy/schema.ts";

export const watchdogTargetSchema = lazy(() => {
  const p = policySchema().shape;
  const envelope = z.strictObject({
    points: z.array(z.strictObject({ x: z.number().check(z.positive()), expected: z.number().check(z.positive()), band: z.optional(z.number().check(z.positive(), z.maximum(1))) })).check(z.minLength(2)),
    band: z.number().check(z.positive(), z.maximum(1)),
    axis: z.enum(["tokens", "step"]),
    series: z.optional(z.enum(["loss", "val_loss", "val_bpb"])),
    assumption: z.optional(z.string()),
  });
  const count = () => z.int().check(z.nonnegative());
  const minutes = () => z.number().check(z.nonnegative());
  /** What a relaunch needs: the stack's launch template and node script, and the recovery policy. */
  const recovery = z.strictObject({
    launchTemplateId: z.string().check(z.minLength(1)),
    launchTemplateVersion: z.string().check(z.minLength(1)),
    securityGroupIds: z.array(z.string().check(z.minLength(1))),
    /** The node script the stack gave its node (base64, as RunInstances takes it): every attempt runs the same script. */
    userData: z.string().check(z.minLength(1)),
    maxRestarts: count(),
    windowHours: z.number().check(z.positive()),
    backoffMinutes: minutes(),
    restartOverheadMinutes: minutes(),
    subnets: z.array(z.string().check(z.minLength(1))),
    budgetUsd: z.number().check(z.positive()),
    /** Hours of training the stage is planned for. */
    plannedHours: z.number().check(z.positive()),
    /** The instance tags every attempt carries (the campaign's, the node's rank, its name). */
    tags: z.record(z.string(), z.string()),
    /**
     * recovery.fallbackAfter: after this many interruptions the replacement is on-demand, from the
     * stack's second template (the same node without spot market options: RunInstances cannot
     * turn a spot template's launch into an on-demand one), paid at `hourlyUsd` per node-hour.
     */
    fallback: z.optional(z.strictObject({
      after: z.int().check(z.positive()),
      hourlyUsd: z.number().check(z.positive()),
      launchTemplateId: z.string().check(z.minLength(1)),
      launchTemplateVersion: z.string().check(z.minLength(1)),
    })),
  });
  return z.strictObject({
    bucket: z.string().check(z.minLength(1)),
    /** The campaign's prefix in the bucket. */
    prefix: z.string().check(z.minLength(1)),
    topicArn: z.string().check(z.minLength(1)),
    config: z.strictObject({
      campaign: z.string().check(z.minLength(1)),
      stage: z.enum(["sanity", "full"]),
      hoursCap: z.number().check(z.positive()),
      hourlyUsd: z.number().check(z.positive()),
      nodes: z.int().check(z.positive()),
      policy: z.strictObject({ stress: p.stress, verify: p.verify, sanity: p.sanity, health: p.health }),
      envelope: z.optional(envelope),
      recovery: z.optional(recovery),
    }),
  });
});

export type WatchdogTarget = z.infer<ReturnType<typeof watchdogTargetSchema>>;
export type WatchdogConfig = WatchdogTarget["config"];
export type RecoveryConfig = NonNullable<WatchdogConfig["recovery"]>;

/** The config as JSON text, checked: the watchdog's target, or every problem with its field. */
export function parseWatchdogTarget(text: string): { ok: true; target: WatchdogTarget } | { ok: false; problems: string[] } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { ok: false, problems: [`not JSON: ${(err as Error).message}`] };
  }
  const r = watchdogTargetSchema().safeParse(raw);
  if (!r.success) return { ok: false, problems: r.error.issues.map((i) => `${i.path.join(".") || "config"}: ${i.message}`) };
  return { ok: true, target: r.data };
}
