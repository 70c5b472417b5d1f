// `windtunnel schema <name>`: the JSON Schema of our formats, for trainers that validate their own output.
import { jsonSchemaOf, SCHEMAS, type SchemaName } from "../../evidence/schemas.ts";
import { UsageError } from "../../evidence/errors.ts";
import type { Io } from "../io.ts";

export function schemaCommand(name: string | undefined, io: Io): number {
  const names = Object.keys(SCHEMAS);
  if (name === undefined) {
    io.out(names.join("\n"));
    return 0;
  }
  if (!names.includes(name)) throw new UsageError(`schema: unknown format ${JSON.stringify(name)}; known: ${names.join(", ")}`);
  io.out(JSON.stringify(jsonSchemaOf(name as SchemaName), null, 2));
  return 0;
}
