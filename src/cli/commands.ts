// Every command, in the order `--help` lists them. Each is declared in its own `*.flags.ts`, next
// to its handler, which it imports only when it runs.
import type { CommandSpec } from "./flags.ts";
import { validate } from "./commands/validate.flags.ts";
import { gate } from "./commands/gate.flags.ts";
import { cost } from "./commands/cost.flags.ts";
import { schema } from "./commands/schema.flags.ts";
import { lab } from "./commands/lab.flags.ts";
import { forecast } from "./commands/forecast.flags.ts";
import { report } from "./commands/report.flags.ts";
import { watch } from "./commands/watch.flags.ts";
import { plan } from "./commands/plan.flags.ts";
import { rehearse } from "./commands/rehearse.flags.ts";
import { demo } from "./commands/demo.flags.ts";

export const COMMANDS: readonly CommandSpec[] = [validate, gate, cost, schema, lab, forecast, report, watch, plan, rehearse, demo];
