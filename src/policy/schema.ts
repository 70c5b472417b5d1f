// The gate policy: every threshold the gates use, as data reviewed like code (gates/*.yaml).
// One zod definition gives the complete policy a gate run needs, the partial form a file that
// `extends` another may take, the TypeScript type and the published JSON Schema.
import "../common/zod-setup.ts";
import * as z from "zod/mini";
import { described, lazy } from "../evidence/schemas.ts";

const fraction = () => z.number().check(z.minimum(0), z.maximum(1));
const positive = () => z.number().check(z.positive());
const count = () => z.int().check(z.positive());
const steps = () => z.int().check(z.nonnegative());
const stepWindow = () => z.tuple([steps(), steps()]).check(z.refine(([a, b]) => a < b, { error: "expected [from, to] with from < to" }));

export const policySchema = lazy(() =>
  z.strictObject({
    extends: described(z.optional(z.string().check(z.minLength(1))), 'another policy to start from: a path relative to this file, or "default" / "strict" for the built-in ones'),
    sweep: z.strictObject({
      metric: z.strictObject({
        name: described(z.string().check(z.minLength(1)), "val_bpb, or any numeric results.tsv column"),
        goal: z.enum(["min", "max"]),
      }),
      coverage: z.strictObject({
        min_evaluated: described(count(), "evaluations that produced a value"),
        min_distinct: described(count(), "distinct configs among them (repeats count once)"),
        max_failed_fraction: described(fraction(), "crash + timeout + unreadable rows over all attempts"),
      }),
      noise: z.strictObject({
        assumed_sigma: described(positive(), "σ of the metric when the trajectory repeats no config"),
        min_dof: described(count(), "degrees of freedom Σ(nᵢ−1) the repeats must give before their σ is used"),
        floor: described(z.number().check(z.nonnegative()), "lower bound on the σ used"),
      }),
      separation: z.strictObject({
        z: described(positive(), "a config counts only if Δ/√(1/n₁+1/n₂) ≥ z·σ"),
        reference: described(z.enum(["auto", "baseline", "median"]), "auto: the baseline when the trajectory has one, else the median"),
      }),
      finalists: z.strictObject({
        count: described(count(), "separable distinct configs that go to the stress test"),
        list: described(count(), "how many of the ranking to report"),
      }),
    }),
    target: described(
      z.nullable(
        z.strictObject({
          d_model: count(),
          n_layer: count(),
          round_to: described(count(), "round projected widths (n_head·head_dim, d_ff) to a multiple of this"),
          keys: described(
            z.strictObject({ d_model: z.string(), n_layer: z.string(), n_head: z.string(), head_dim: z.string(), d_ff: z.string(), ffn_ratio: z.string(), lr: z.string() }),
            "config key names in your trajectory",
          ),
        }),
      ),
      "target architecture finalists are projected to (null: no projection)",
    ),
    stress: z.strictObject({
      series: described(z.enum(["auto", "loss", "val_loss"]), "auto: training loss when logged, else validation loss"),
      min_steps: count(),
      max_log_interval: described(count(), "median steps between logged points"),
      divergence: z.strictObject({
        window_steps: described(count(), "rolling-median window, in steps"),
        rise: described(positive(), "fraction above the running minimum of the smoothed loss"),
        patience: described(count(), "consecutive logged points the rise must last"),
        after_step: steps(),
      }),
      flatline: z.strictObject({
        early: stepWindow(),
        late: stepWindow(),
        min_drop: described(z.number().check(z.nonnegative()), "relative drop required from the early to the late window"),
      }),
      grad_norm: z.strictObject({
        factor: positive(),
        reference_steps: described(count(), "steps after warmup whose largest grad norm is the reference"),
        after_step: described(steps(), "end of warmup"),
      }),
      min_survivors: count(),
    }),
    forecast: z.strictObject({
      axis: described(z.enum(["auto", "tokens", "step"]), "x axis of the fit and the envelope; auto: tokens when the curve logs them"),
      series: described(z.enum(["auto", "loss", "val_loss", "val_bpb"]), "auto: validation loss when the curve logs any (never replaced by training loss), else val_bpb, else training loss"),
      exclude_steps: described(steps(), "warmup: points at or before this step are not fitted"),
      min_points: described(count(), "refuse to forecast from fewer points of the chosen series after warmup"),
      constants: described(z.enum(["hoffmann2022", "besiroglu2024"]), "scaling-law constants for the proxy → target size shift"),
      overrides: described(z.nullable(z.strictObject({ A: positive(), alpha: positive() })), "your own size-term constants (A, α) instead"),
      band: z.strictObject({
        floor: described(fraction(), "smallest half-width of the forecast's own band, as a fraction of the expected loss (the band itself is calibrated by the backtest, to hold 90% of held-out points)"),
      }),
      horizon: described(positive(), "the envelope runs from the last fitted x to this multiple of it"),
    }),
    sanity: z.strictObject({
      fp8: z.strictObject({
        reference: described(z.string().check(z.minLength(1)), "tag of the high-precision run"),
        candidate: described(z.string().check(z.minLength(1)), "tag of the low-precision run"),
        max_gap: described(fraction(), "largest relative gap of the smoothed losses at matched steps"),
        max_auc_gap: described(fraction(), "hard limit on the relative difference of the areas under the two curves"),
        smooth: described(count(), "points in the rolling mean before comparing"),
        after_step: steps(),
        min_matched: described(count(), "matched steps needed to judge at all"),
      }),
      parallel: z.strictObject({
        reference: described(z.string().check(z.minLength(1)), "tag of the reference layout"),
        layouts: described(z.array(z.string().check(z.minLength(1))).check(z.minLength(1)), "tags of the TP/PP layouts compared with it"),
        max_abs: described(positive(), "per-step |Δloss| allowed"),
        max_rel: described(fraction(), "outer bound on |Δloss|/loss at any compared step"),
        max_miss_fraction: described(fraction(), "share of compared steps that may exceed max_abs"),
        steps: described(count(), "compare the first this many matched steps"),
        min_matched: count(),
      }),
      throughput: z.strictObject({
        min_tokens_per_s: described(z.nullable(positive()), "per node; null: not judged"),
        max_tokens_per_s: described(z.nullable(positive()), "per node; a run faster than this is suspect (a wrong batch or no work); null: no limit"),
        after_step: described(steps(), "warmup and compilation excluded"),
      }),
    }),
    verify: z.strictObject({
      band: described(fraction(), "allowed relative distance of the cloud loss from the envelope"),
      patience: described(count(), "consecutive points outside the band before the run fails"),
      min_span_steps: described(z.int().check(z.nonnegative()), "… and those points must span at least this many steps (5 points of a per-step log are a blip)"),
      smooth: described(count(), "rolling median over this many points first"),
      direction: described(z.enum(["both", "above"]), "both (the seed's rule): sustained above or below the band fails; above: only a loss worse than forecast fails"),
      below_action: described(z.enum(["alert", "teardown"]), "what the watchdog does when the loss stays below the band (proxy substitution broken: investigate)"),
    }),
    health: z.strictObject({
      stale_after_minutes: described(positive(), "no new metrics for this long: the watchdog alerts"),
      teardown_after_stale_minutes: described(positive(), "no new metrics for this long: the watchdog tears the node down (the dead-man switch)"),
      first_metrics_within_minutes: described(positive(), "after launch, the first metrics may take this long (image pull, compilation) before silence counts"),
      hours_cap_grace_minutes: described(z.number().check(z.nonnegative()), "past the hours cap by this much (the node's own timer failed): teardown"),
      failed_run_grace_minutes: described(z.number().check(z.nonnegative()), "stage full: a node that reported a non-zero status is torn down after this long if it has not stopped itself (its final upload and power-off come first)"),
    }),
    spend: z.strictObject({
      allowed_instance_types: z.array(z.string().check(z.minLength(1))).check(z.minLength(1)),
      max_gpu_hourly_usd: described(positive(), "refuse a plan paying more per GPU-hour"),
      wrong_pick_rate: described(fraction(), "wrong-pick rate of a blind booking"),
      post_filter_wrong_pick_rate: described(fraction(), "wrong picks the filter is assumed to leave"),
      require_positive_ev: z.boolean(),
      interruptions: described(
        z.strictObject({
          per_node_day: described(z.number().check(z.nonnegative()), "spot interruptions expected per node-day (0: none priced)"),
          boot_minutes: described(z.number().check(z.nonnegative()), "a replacement node's launch to a running OS"),
          image_pull_minutes: described(z.number().check(z.nonnegative()), "pulling and unpacking the training image again"),
          checkpoint_reload_minutes: described(z.number().check(z.nonnegative()), "reading the last checkpoint back from the bucket onto the GPUs"),
          checkpoint_every_minutes: described(positive(), "minutes between checkpoints: an interruption loses half of this on average"),
        }),
        "market spot only: the expected restarts (rate × node-days) and what each costs, priced into spend.budget",
      ),
    }),
  }).register(z.globalRegistry, { title: "windtunnel gate policy" }),
);

export type Policy = z.infer<ReturnType<typeof policySchema>>;
export type StressPolicy = Policy["stress"];
export type SpendPolicy = Policy["spend"];
export type InterruptionPolicy = SpendPolicy["interruptions"];
export type ForecastPolicy = Policy["forecast"];
export type SanityPolicy = Policy["sanity"];
export type VerifyPolicy = Policy["verify"];
export type HealthPolicy = Policy["health"];
export type TargetShape = NonNullable<Policy["target"]>;

type DeepPartial<T> = T extends readonly unknown[] ? T : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

let fileSchema: z.ZodMiniType<DeepPartial<Policy>> | undefined;

/** The same schema with every key optional at every depth: what one file of a chain may hold. Built on first use (only to locate problems). */
export function policyFileSchema(): z.ZodMiniType<DeepPartial<Policy>> {
  return (fileSchema ??= deepPartial(policySchema()) as unknown as z.ZodMiniType<DeepPartial<Policy>>);
}

function deepPartial(s: z.ZodMiniType): z.ZodMiniType {
  const def = s._zod.def as { type: string; innerType?: z.ZodMiniType; shape?: Record<string, z.ZodMiniType> };
  if (def.type === "nullable" && def.innerType) return z.nullable(deepPartial(def.innerType));
  if (def.type === "optional" && def.innerType) return z.optional(deepPartial(def.innerType));
  if (def.type !== "object" || !def.shape) return s;
  return z.strictObject(Object.fromEntries(Object.entries(def.shape).map(([k, v]) => [k, z.optional(deepPartial(v))])));
}
