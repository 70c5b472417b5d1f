// `windtunnel schema <name>`: the JSON Schema of our formats, for trainers and CI that validate their own files.
import { jsonSchemaOf, metricPointSchema, trajectoryRecordSchema } from "../../evidence/schemas.ts";
import { policySchema } from "../../policy/schema.ts";
import { campaignPlanSchema } from "../../cost/campaign-plan.ts";
import { verdictSchema } from "../../gates/verdict.ts";
import { menuSchema } from "../../lab/menu.ts";
import { stackConfigSchema } from "../../infra/config.ts";
import { envelopeSchema } from "../../forecast/envelope.ts";
import { UsageError } from "../../common/errors.ts";
import type { Io } from "../io.ts";

const SCHEMAS = {
  metrics: metricPointSchema,
  trajectory: trajectoryRecordSchema,
  policy: policySchema,
  campaign: campaignPlanSchema,
  verdict: verdictSchema,
  menu: menuSchema,
  stack: stackConfigSchema,
  envelope: envelopeSchema,
} as const;

export function schemaCommand(name: string | undefined, io: Io): number {
  const names = Object.keys(SCHEMAS);
  if (name === undefined) {
    io.out(names.join("\n"));
    return 0;
  }
  const schema = SCHEMAS[name as keyof typeof SCHEMAS];
  if (schema === undefined) throw new UsageError(`schema: unknown format ${JSON.stringify(name)}; known: ${names.join(", ")}`);
  io.out(JSON.stringify(jsonSchemaOf(schema()), null, 2));
  return 0;
}
