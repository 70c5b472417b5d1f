// Every command, behind one lazy import from main.ts: `--version` loads none of them, and a
// command loads in one step rather than resolving a chain of small chunks (~7 ms of a gate run).
export { validateCommand } from "./validate.ts";
export { gateCommand, checkCommand } from "./gate.ts";
export { costCommand } from "./cost.ts";
export { schemaCommand } from "./schema.ts";
export { demoCommand } from "./demo.ts";
