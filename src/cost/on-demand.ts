// What a node costs on demand, for the watchdog's fallback after spot interruptions
// (windtunnel:recovery.fallbackAfter): the replacement AWS will not reclaim is paid at this rate,
// and the budget check before the relaunch prices the rest of the run at it. Only the default
// node's price is built in, the one the seed and gates/default.yaml (spend.max_gpu_hourly_usd)
// already cite; any other type, or another region's price, is set as recovery.onDemandHourlyUsd.
// Pure.

/** Per node-hour, on demand, in us-east-1: AWS p5.48xlarge ≈ $55.04/h (8 × $6.88 per GPU-hour). */
export const ON_DEMAND_HOURLY_USD: Readonly<Record<string, number>> = {
  "p5.48xlarge": 55.04,
};

/** The on-demand price of a node: the stack's own, else the built-in one of its type, else unknown. */
export function onDemandHourlyUsd(instanceType: string, configured: number | undefined): number | undefined {
  return configured ?? ON_DEMAND_HOURLY_USD[instanceType];
}
