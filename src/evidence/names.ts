// Names the CLI offers as choices, kept free of imports so parsing arguments loads nothing heavy.

/** `pruned`: stopped early by the sweep's early stopping (issue 18), neither a result nor a failure. */
export const STATUSES = ["ok", "crash", "timeout", "blocked", "pruned"] as const;
export type Status = (typeof STATUSES)[number];

export const TRAJECTORY_FORMATS = ["trajectory", "agent-loop", "results-tsv"] as const;
export const METRICS_FORMATS = ["metrics", "log"] as const;
export const FORMATS = [...TRAJECTORY_FORMATS, ...METRICS_FORMATS] as const;
export type TrajectoryFormat = (typeof TRAJECTORY_FORMATS)[number];
export type MetricsFormat = (typeof METRICS_FORMATS)[number];
export type EvidenceFormat = (typeof FORMATS)[number];

export const LOG_PRESETS = {
  /** modded-nanogpt: `step:125/3350 val_loss:4.66 train_time:…` and `step:7/6200 train_loss:8.68 …`. */
  "modded-nanogpt": String.raw`^step:(?<step>\d+)/(?<total_steps>\d+)\s+(?:val_loss:(?<val_loss>\S+)|train_loss:(?<loss>\S+))(?:\s+train_time:(?:(?<time_ms>[\d.]+)ms|(?<time_s>[\d.]+)s))?`,
  /** Validation-only curves: `s:250 tel:6.3097`, optionally followed by ` / trl:<train loss>`. */
  tel: String.raw`^s:(?<step>\d+)\s+tel:(?<val_loss>[^\s/]+)(?:\s*/\s*trl:(?<loss>\S*))?`,
} as const;
export type LogPreset = keyof typeof LOG_PRESETS;
