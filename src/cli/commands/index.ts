// Every command, behind one lazy import from main.ts: `--version` loads none of them, and a
// command loads in one step rather than resolving a chain of small chunks (~7 ms of a gate run).
// The lab and the demo (execa, the progress bar) are imported on their own, keeping gate runs light.
export { validateCommand } from "./validate.ts";
export { gateCommand, checkCommand } from "./gate.ts";
export { costCommand } from "./cost.ts";
export { schemaCommand } from "./schema.ts";
