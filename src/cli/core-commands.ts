// The commands CI runs on every push (`gate`, `validate`, `cost`, `schema`): the packaged CLI
// ships them a second time as dist/core.cjs, without the lab, the report, the stack or the
// watchdog, so the script a gate run reads and deserializes is half the size (scripts/build.ts).
// Their flags files import their handlers (commands/<name>.ts); dist-bin.ts picks the script by the
// command word. Kept free of imports: the loader reads it before anything else.
export const CORE_COMMANDS: readonly string[] = ["validate", "gate", "cost", "schema"];
