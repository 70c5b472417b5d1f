// Proxy → target: the parametric scaling law L(N, D) = E + A/N^α + B/D^β, used for its model-size
// term only. At equal tokens the target's loss sits A·(N_target^−α − N_proxy^−α) from the proxy's
// (negative: a bigger model is better). The constants come from Hoffmann et al. 2022 ("Chinchilla",
// approach 3) or the Besiroglu et al. 2024 replication; or they are calibrated from the user's own
// proxies at three sizes or more, which beats either (the constants' own uncertainty is
// comparable to the 5% band). Pure.
import { fitPowerLaw, type FitOutcome } from "./fit.ts";

export interface ScalingConstants {
  E: number;
  A: number;
  B: number;
  alpha: number;
  beta: number;
  source: string;
}

export const SCALING_CONSTANTS = {
  hoffmann2022: { E: 1.69, A: 406.4, B: 410.7, alpha: 0.34, beta: 0.28, source: "Hoffmann et al. 2022, Training Compute-Optimal Large Language Models, approach 3" },
  besiroglu2024: { E: 1.8172, A: 482.01, B: 2085.43, alpha: 0.3478, beta: 0.3658, source: "Besiroglu et al. 2024, Chinchilla Scaling: A replication attempt" },
} as const satisfies Record<string, ScalingConstants>;

/** The model-size term's change from the proxy to the target, in nats per token. */
export function sizeShift(nProxy: number, nTarget: number, k: Pick<ScalingConstants, "A" | "alpha">): number {
  return k.A * (nTarget ** -k.alpha - nProxy ** -k.alpha);
}

/** Nats per token → bits per byte for a tokenizer with this many bytes per token. */
export const natsToBpb = (nats: number, bytesPerToken: number): number => nats / (Math.LN2 * bytesPerToken);

/**
 * Calibrate the size term from the user's proxies: L_i = K + A·N_i^(−α) over ≥ 3 sizes, each L_i
 * the proxy's loss at the same token count. The same robust fit as the curves, with x = N.
 */
export function calibrateSizeTerm(points: readonly { params: number; loss: number }[]): FitOutcome {
  if (new Set(points.map((p) => p.params)).size < 3) return { ok: false, reason: `calibration needs proxies at 3 sizes or more, got ${new Set(points.map((p) => p.params)).size}` };
  return fitPowerLaw(points.map((p) => ({ x: p.params, y: p.loss })), { minPoints: 3, cRange: [0.05, 1.5], minR2: 0.8 });
}
