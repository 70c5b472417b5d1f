// `windtunnel schema`: no flags; the handler is schema.ts.
import { defineCommand } from "../flags.ts";

export const schema = defineCommand({
  name: "schema [format]",
  description: "print the JSON Schema of a windtunnel format: metrics | trajectory | policy | campaign | verdict | menu | stack | envelope (lists them without an argument)",
  flags: [],
  async run([name], _o, io) {
    const { schemaCommand } = await import("./schema.ts");
    return schemaCommand(name as string | undefined, io);
  },
});
