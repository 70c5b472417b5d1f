// The built-in proposers' names, apart from their code: `--help` lists them without loading it.
export const PROPOSER_NAMES = ["grid", "random", "tpe"] as const;
export type ProposerName = (typeof PROPOSER_NAMES)[number];

/** Early stopping's rules (`lab sweep --prune`). */
export const PRUNE_RULES = ["asha", "median", "none"] as const;
export type PruneRule = (typeof PRUNE_RULES)[number];
/** What an external proposer's stdin carries (proposers.ts proposerDocument). */
export const PROPOSER_INPUTS = ["jsonl", "document"] as const;
export type ProposerInput = (typeof PROPOSER_INPUTS)[number];
