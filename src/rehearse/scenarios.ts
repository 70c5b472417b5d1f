// The rehearsal's scenarios, apart from the rehearsal: `--help` lists them without loading it.
export const SCENARIOS = ["healthy", "diverge", "nan", "silent", "fail", "spot", "hours-cap"] as const;
export type Scenario = (typeof SCENARIOS)[number];
