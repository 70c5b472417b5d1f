// The evidence formats windtunnel owns, as zod schemas: the single source for validation, for
// the TypeScript types and for the published JSON Schema (`windtunnel schema <name>`), so a
// Python trainer can validate its own output against exactly what we accept.
import * as z from "zod";

const NUMBER_NOTE = "a JSON number; Python's NaN, Infinity and -Infinity tokens are accepted as non-finite values";

/** A number that may be non-finite: a NaN loss is evidence, not a parse error. */
export const metricNumber = z
  .union([z.number(), z.nan(), z.literal([Infinity, -Infinity])], { error: "expected a number (NaN and Infinity are allowed)" })
  .meta({ description: NUMBER_NOTE });

const finiteNonNegative = z.number({ error: "expected a finite number" }).nonnegative({ error: "expected a number ≥ 0" });

export const STATUSES = ["ok", "crash", "timeout", "blocked"] as const;
export type Status = (typeof STATUSES)[number];

export const MetricPointSchema = z
  .looseObject({
    step: z.int({ error: "expected a whole number of steps" }).nonnegative({ error: "expected a step ≥ 0" }).describe("optimizer step, strictly increasing within a tag"),
    loss: metricNumber.describe("training loss at this step (nats/token unless your policy says otherwise)"),
    val_loss: metricNumber.nullish().describe("validation loss, when evaluated at this step"),
    val_bpb: metricNumber.nullish().describe("validation bits per byte, comparable across tokenizers"),
    grad_norm: metricNumber.nullish().describe("global gradient norm before clipping"),
    lr: finiteNonNegative.nullish().describe("learning rate at this step"),
    tokens: finiteNonNegative.nullish().describe("tokens consumed so far"),
    time_s: finiteNonNegative.nullish().describe("seconds since the run started"),
    tag: z.string().min(1).max(128).nullish().describe("names one run inside a shared stream, e.g. fp8 / bf16 / tp4pp2"),
  })
  .meta({
    title: "windtunnel metrics point",
    description: "One JSON object per line, written by the trainer. Unknown keys are allowed and ignored.",
  });

export const TrajectoryRecordSchema = z
  .looseObject({
    id: z.string().min(1).describe("unique candidate evaluation id"),
    config: z.record(z.string(), z.unknown()).describe("the candidate's configuration; identical configs share a config hash"),
    config_hash: z.string().regex(/^[0-9a-f]{64}$/, { error: "expected 64 lowercase hex digits" }).optional().describe("sha256 of the canonical config (seed excluded); checked when present"),
    val_bpb: metricNumber.nullable().describe("validation bits per byte; null when the run produced none"),
    status: z.enum(STATUSES, { error: `expected one of ${STATUSES.join(", ")}` }),
    steps: z.int().nonnegative().optional().describe("training steps actually run"),
    seed: z.int().optional(),
    params: finiteNonNegative.optional().describe("parameter count of the proxy"),
    wall_s: finiteNonNegative.optional().describe("wall-clock seconds of the evaluation"),
    baseline: z.boolean().optional().describe("true for the reference configuration"),
    error: z.string().optional().describe("tail of stderr for crash/timeout rows"),
    time: z.string().optional().describe("ISO 8601 time the evaluation finished"),
  })
  .meta({
    title: "windtunnel trajectory row",
    description: "One evaluated Phase 1 candidate per line. Unknown keys are allowed and ignored.",
  });

export type TrajectoryRecord = z.infer<typeof TrajectoryRecordSchema>;

/** One point of a loss curve, whatever format it was read from. */
export interface MetricPoint {
  step: number;
  /** 1-based line in the source file. */
  line: number;
  loss?: number;
  val_loss?: number;
  val_bpb?: number;
  grad_norm?: number;
  lr?: number;
  tokens?: number;
  time_s?: number;
  tag?: string;
}

/** The loss-like series of a metrics point, in the order summaries list them. */
export const SERIES = ["loss", "val_loss", "val_bpb", "grad_norm"] as const;
export type Series = (typeof SERIES)[number];

/** One evaluated Phase 1 candidate, whatever format it was read from. */
export interface TrajectoryRow {
  id: string;
  line: number;
  config: Record<string, unknown>;
  configHash: string;
  /** null when the evaluation produced no value (crash, or a file that ranks by another metric). */
  val_bpb: number | null;
  status: Status;
  /** The status as the source wrote it (keep, discard, size_blocked, …). */
  rawStatus: string;
  baseline: boolean;
  steps?: number;
  seed?: number;
  params?: number;
  wall_s?: number;
  /** Other numeric columns (accuracy, train_s, …) for files that rank by something else. */
  metrics?: Record<string, number>;
}

/** JSON Schema (draft 2020-12) of one of our formats, as its input (what a file may hold). */
export function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  return z.toJSONSchema(schema, {
    io: "input",
    unrepresentable: "any",
    override: (ctx) => {
      // JSON has no NaN/Infinity: a union with z.nan() is our metric number; publish it as
      // "number" and explain the Python tokens in its description.
      const def = ctx.zodSchema._zod.def as { type: string; options?: { _zod: { def: { type: string } } }[] };
      if (def.type !== "union" || !def.options?.some((o) => o._zod.def.type === "nan")) return;
      const js = ctx.jsonSchema as Record<string, unknown>;
      const description = typeof js["description"] === "string" && js["description"] !== NUMBER_NOTE ? `${js["description"]}; ${NUMBER_NOTE}` : NUMBER_NOTE;
      for (const k of Object.keys(js)) delete js[k];
      Object.assign(js, { type: "number", description });
    },
  }) as Record<string, unknown>;
}
