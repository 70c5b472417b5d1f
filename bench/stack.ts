// The bench's stack file: the committed sample evidence (it passes the default policy), a valid
// config, and the sanity commands a measurement needs.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";

export const SAMPLE = join(import.meta.dirname, "../examples/demo");

export function writeBenchStack(file: string, sanity: readonly string[] = ["bf16"]): string {
  writeFileSync(file, stringify({ config: {
    "aws:region": "us-east-1",
    "windtunnel:campaign": "bench-7b", "windtunnel:stage": "sanity",
    "windtunnel:evidence": { trajectory: join(SAMPLE, "trajectory.jsonl"), curves: [join(SAMPLE, "curves/*.jsonl")] },
    "windtunnel:budgetUsd": 6000, "windtunnel:hours": 168, "windtunnel:hoursCap": 200,
    "windtunnel:node": { hourlyUsd: 28 },
    "windtunnel:container": { image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/p:1", command: "python train.py", sanityCommands: sanity.map((name) => ({ name, command: "python train.py" })) },
    "windtunnel:alertEmail": "lead@example.com",
  } }));
  return file;
}
