// The evidence formats windtunnel owns, as zod schemas: the single source for validation, for
// the TypeScript types and for the published JSON Schema (`windtunnel schema <name>`), so a
// Python trainer can validate its own output against exactly what we accept.
import "../common/zod-setup.ts";
import * as z from "zod/mini";
import { STATUSES, type Status } from "./names.ts";

export { STATUSES, type Status };

const NUMBER_NOTE = "a JSON number; Python's NaN, Infinity and -Infinity tokens are accepted as non-finite values";

/**
 * A schema built on first use: building every schema at import cost a gate run more than the
 * few it needs (the policy arrives precompiled, verdicts are only read by --check).
 */
export function lazy<T>(build: () => T): () => T {
  let built: T | undefined;
  return () => (built ??= build());
}

/** Attach a description (for the published JSON Schema) to a fresh schema instance. */
export function described<T extends z.ZodMiniType>(schema: T, description: string): T {
  z.globalRegistry.add(schema, { description });
  return schema;
}

/**
 * A loss, bits per byte or gradient norm: never negative (a val_bpb of −5 once won a sweep with
 * z = 515), but it may be non-finite, since a NaN loss is evidence, not a parse error.
 */
export const metricNumber = () =>
  z.union([z.number().check(z.nonnegative({ error: NON_NEGATIVE })), z.nan(), z.literal([Infinity, -Infinity])], { error: (iss) => (typeof iss.input === "number" ? NON_NEGATIVE : "expected a number (NaN and Infinity are allowed)") });

/** What a negative or non-numeric loss-like value is told. */
export const NON_NEGATIVE = "expected a number ≥ 0 (a loss, bits per byte or gradient norm cannot be negative; NaN and Infinity are allowed)";

/** A step as JSON carries it exactly: 1e20 is whole, but "expected a whole number" misled. */
const stepNumber = () =>
  z.int({ error: (iss) => (iss.code === "too_big" ? "too large to be an exact step (2^53 or more)" : iss.code === "too_small" ? "expected a step ≥ 0" : "expected a whole number of steps") });

const finiteNonNegative = () => z.number({ error: "expected a finite number" }).check(z.nonnegative({ error: "expected a number ≥ 0" }));

export const metricPointSchema = lazy(() =>
  z.looseObject({
    step: described(stepNumber().check(z.nonnegative({ error: "expected a step ≥ 0" })), "optimizer step, strictly increasing within a tag"),
    loss: described(metricNumber(), "training loss at this step (nats/token unless your policy says otherwise)"),
    val_loss: described(z.nullish(metricNumber()), "validation loss, when evaluated at this step"),
    val_bpb: described(z.nullish(metricNumber()), "validation bits per byte, comparable across tokenizers"),
    grad_norm: described(z.nullish(metricNumber()), "global gradient norm before clipping"),
    lr: described(z.nullish(finiteNonNegative()), "learning rate at this step"),
    tokens: described(z.nullish(finiteNonNegative()), "tokens consumed so far"),
    time_s: described(z.nullish(finiteNonNegative()), "seconds since the run started"),
    tag: described(z.nullish(z.string().check(z.minLength(1), z.maxLength(128))), "names one run inside a shared stream, e.g. fp8 / bf16 / tp4pp2"),
  }).register(z.globalRegistry, { title: "windtunnel metrics point", description: "One JSON object per line, written by the trainer. Unknown keys are allowed and ignored." }),
);

/** A value at an early-stopping rung: finite, since a run whose value there is not is never pruned. */
const rungValueSchema = () =>
  z.looseObject({
    step: described(z.int().check(z.nonnegative()), "the rung: the step the value was reported at or first after"),
    val_bpb: described(finiteNonNegative(), "validation bits per byte at the rung"),
  });

export const trajectoryRecordSchema = lazy(() =>
  z.looseObject({
    id: described(z.string().check(z.minLength(1)), "unique candidate evaluation id"),
    config: described(z.record(z.string(), z.unknown()), "the candidate's configuration; identical configs share a config hash"),
    config_hash: described(z.optional(z.string().check(z.regex(/^[0-9a-f]{64}$/, { error: "expected 64 lowercase hex digits" }))), "sha256 of the canonical config (seed excluded); checked when present"),
    val_bpb: described(z.nullable(metricNumber()), "validation bits per byte; null when the run produced none"),
    status: described(z.enum(STATUSES, { error: `expected one of ${STATUSES.join(", ")}` }), "pruned: stopped early at a rung by the sweep's early stopping (see pruned_at); neither a result nor a failure"),
    steps: described(z.optional(z.int().check(z.nonnegative())), "training steps actually run"),
    seed: z.optional(z.int()),
    params: described(z.optional(finiteNonNegative()), "parameter count of the proxy"),
    wall_s: described(z.optional(finiteNonNegative()), "wall-clock seconds of the evaluation"),
    baseline: described(z.optional(z.boolean()), "true for the reference configuration"),
    error: described(z.optional(z.string()), "tail of stderr for crash/timeout rows"),
    time: described(z.optional(z.string()), "ISO 8601 time the evaluation finished"),
    pruned_at: described(z.optional(rungValueSchema()), "status pruned only (and required there): the rung at which early stopping stopped the run, and its val_bpb there"),
    rungs: described(z.optional(z.array(rungValueSchema())), "the run's val_bpb at each early-stopping rung it reached: what a resumed sweep judges later candidates against"),
  }).register(z.globalRegistry, { title: "windtunnel trajectory row", description: "One evaluated Phase 1 candidate per line. Unknown keys are allowed and ignored." }),
);

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

/** A run's val_bpb at an early-stopping rung (the trajectory's `pruned_at` and `rungs`). */
export interface RungValue {
  step: number;
  val_bpb: number;
}

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
  /** Status pruned: the rung that stopped it and its value there. */
  prunedAt?: RungValue;
  /** Its val_bpb at each early-stopping rung it reached. */
  rungs?: RungValue[];
  /** Other numeric columns (accuracy, train_s, …) for files that rank by something else. */
  metrics?: Record<string, number>;
}

/** JSON Schema (draft 2020-12) of one of our formats, as its input (what a file may hold). */
export function jsonSchemaOf(schema: z.ZodMiniType): Record<string, unknown> {
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
      const minimum = (js["anyOf"] as { minimum?: number }[] | undefined)?.find((o) => o.minimum !== undefined)?.minimum;
      for (const k of Object.keys(js)) delete js[k];
      Object.assign(js, { type: "number", ...(minimum !== undefined ? { minimum } : {}), description });
    },
  }) as Record<string, unknown>;
}
