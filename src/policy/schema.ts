// The gate policy: every threshold the gates use, as data reviewed like code (gates/*.yaml).
// One zod definition gives the complete policy a gate run needs, the partial form a file that
// `extends` another may take, the TypeScript type and the published JSON Schema.
import * as z from "zod";

const fraction = z.number().min(0).max(1);
const positive = z.number().positive();
const count = z.int().positive();
const steps = z.int().nonnegative();
const stepWindow = z.tuple([steps, steps]).refine(([a, b]) => a < b, { error: "expected [from, to] with from < to" });

export const PolicySchema = z.strictObject({
  extends: z.string().min(1).optional().describe('another policy to start from: a path relative to this file, or "default" / "strict" for the built-in ones'),
  sweep: z.strictObject({
    metric: z.strictObject({
      name: z.string().min(1).describe("val_bpb, or any numeric results.tsv column"),
      goal: z.enum(["min", "max"]),
    }),
    coverage: z.strictObject({
      min_evaluated: count.describe("evaluations that produced a value"),
      min_distinct: count.describe("distinct configs among them (repeats count once)"),
      max_failed_fraction: fraction.describe("crash + timeout + unreadable rows over all attempts"),
    }),
    noise: z.strictObject({
      assumed_sigma: positive.describe("σ of the metric when the trajectory repeats no config"),
      min_dof: count.describe("degrees of freedom Σ(nᵢ−1) the repeats must give before their σ is used"),
      floor: z.number().nonnegative().describe("lower bound on the σ used"),
    }),
    separation: z.strictObject({
      z: positive.describe("a config counts only if Δ/√(1/n₁+1/n₂) ≥ z·σ"),
      reference: z.enum(["auto", "baseline", "median"]).describe("auto: the baseline when the trajectory has one, else the median"),
    }),
    finalists: z.strictObject({
      count: count.describe("separable distinct configs that go to the stress test"),
      list: count.describe("how many of the ranking to report"),
    }),
  }),
  target: z
    .strictObject({
      d_model: count,
      n_layer: count,
      round_to: count.describe("round projected widths (n_head·head_dim, d_ff) to a multiple of this"),
      keys: z.strictObject({
        d_model: z.string(),
        n_layer: z.string(),
        n_head: z.string(),
        head_dim: z.string(),
        d_ff: z.string(),
        ffn_ratio: z.string(),
        lr: z.string(),
      }).describe("config key names in your trajectory"),
    })
    .nullable()
    .describe("target architecture finalists are projected to (null: no projection)"),
  stress: z.strictObject({
    series: z.enum(["auto", "loss", "val_loss"]).describe("auto: training loss when logged, else validation loss"),
    min_steps: count,
    max_log_interval: count.describe("median steps between logged points"),
    divergence: z.strictObject({
      window_steps: count.describe("rolling-median window, in steps"),
      rise: positive.describe("fraction above the running minimum of the smoothed loss"),
      patience: count.describe("consecutive logged points the rise must last"),
      after_step: steps,
    }),
    flatline: z.strictObject({
      early: stepWindow,
      late: stepWindow,
      min_drop: z.number().nonnegative().describe("relative drop required from the early to the late window"),
    }),
    grad_norm: z.strictObject({
      factor: positive,
      reference_steps: count.describe("steps after warmup whose largest grad norm is the reference"),
      after_step: steps.describe("end of warmup"),
    }),
    min_survivors: count,
  }),
  spend: z.strictObject({
    allowed_instance_types: z.array(z.string().min(1)).min(1),
    max_gpu_hourly_usd: positive.describe("refuse a plan paying more per GPU-hour"),
    wrong_pick_rate: fraction.describe("wrong-pick rate of a blind booking"),
    post_filter_wrong_pick_rate: fraction.describe("wrong picks the filter is assumed to leave"),
    require_positive_ev: z.boolean(),
  }),
});

export type Policy = z.infer<typeof PolicySchema>;
export type SweepPolicy = Policy["sweep"];
export type StressPolicy = Policy["stress"];
export type SpendPolicy = Policy["spend"];
export type TargetShape = NonNullable<Policy["target"]>;

/** The same schema with every key optional at every depth: what one file of a chain may hold. */
export const PolicyFileSchema = deepPartial(PolicySchema) as z.ZodType<DeepPartial<Policy>>;

type DeepPartial<T> = T extends readonly unknown[] ? T : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

function deepPartial(s: z.ZodType): z.ZodType {
  if (s instanceof z.ZodNullable) return deepPartial(s.unwrap() as z.ZodType).nullable();
  if (!(s instanceof z.ZodObject)) return s;
  const shape = Object.fromEntries(Object.entries(s.shape as Record<string, z.ZodType>).map(([k, v]) => [k, deepPartial(v).optional()]));
  return z.strictObject(shape);
}
