// A stack config for tests: the committed sample evidence (examples/demo, which passes the
// default policy) and a valid config; each test overrides what it is about.
import { join } from "node:path";
import { REPO } from "./shared.ts";

export const SAMPLE = join(REPO, "examples", "demo");

export function stackConfig(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    campaign: "test-7b",
    stage: "sanity",
    evidence: { trajectory: join(SAMPLE, "trajectory.jsonl"), curves: [join(SAMPLE, "curves", "*.jsonl")] },
    policy: "default",
    budgetUsd: 6000,
    hours: 168,
    sanityHours: 24,
    hoursCap: 200,
    node: { instanceType: "p5.48xlarge", count: 1, market: "spot", hourlyUsd: 28 },
    container: {
      image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/pretrain:v1",
      command: "torchrun --nnodes=$NNODES --node-rank=$NODE_RANK train.py",
      sanityCommands: [
        { name: "bf16", command: "python train.py --precision bf16" },
        { name: "fp8", command: "python train.py --precision fp8" },
      ],
    },
    target: { params: 7e9, n_layer: 32 },
    alertEmail: "lead@example.com",
    ...over,
  };
}

/** As the Pulumi CLI hands config to a program: `windtunnel:key` → string, objects as JSON. */
export function pulumiConfig(c: Record<string, unknown>, region = "us-east-1"): Record<string, string> {
  const out: Record<string, string> = { "aws:region": region };
  for (const [k, v] of Object.entries(c)) out[`windtunnel:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
  return out;
}
