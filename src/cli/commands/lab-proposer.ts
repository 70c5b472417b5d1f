// Which proposer `lab sweep` asks (--proposer, --proposer-cmd, --prior), and the flag
// combinations refused because one of them would be ignored without a word.
import { assertNever, UsageError } from "../../common/errors.ts";
import type { LoadedMenu } from "../../lab/menu.ts";
import type { Prior } from "../../lab/priors.ts";
import { commandProposer, gridProposer, randomProposer, type Proposer } from "../../lab/proposers.ts";
import { tpeProposer } from "../../lab/tpe-proposer.ts";
import type { SweepFlags } from "./lab.ts";

/** Flags that would be ignored without a word are refused: priors reach only a proposer that reads them. */
export function checkProposerFlags(flags: SweepFlags): void {
  const external = flags.proposerCmd !== undefined;
  const priors = flags.priors ?? [];
  if (priors.length > 0 && !external && flags.proposer !== "tpe") throw new UsageError(`--prior: the ${flags.proposer} proposer does not learn from results, so it would ignore the priors; use --proposer tpe or --proposer-cmd`);
  if (flags.proposerInput !== undefined && !external) throw new UsageError("--proposer-input: says what --proposer-cmd reads on stdin; there is no --proposer-cmd");
  if (flags.proposerInput === "jsonl" && priors.length > 0) throw new UsageError("--proposer-input jsonl: the trajectory's lines cannot carry the priors, so the proposer would never see them; use --proposer-input document (the default with --prior)");
  if (flags.priorWeight !== undefined && (external || flags.proposer !== "tpe")) throw new UsageError(`--prior-weight: weighs the priors in --proposer tpe${external ? "; an external proposer gets them whole" : ""}`);
}

export function proposerOf(flags: SweepFlags, menu: LoadedMenu, priors: readonly Prior[]): Proposer {
  if (flags.proposerCmd !== undefined) {
    const input = flags.proposerInput ?? (priors.length > 0 ? "document" : "jsonl");
    return commandProposer(menu, flags.proposerCmd, { input, priors, ...(flags.proposerTimeoutS !== undefined ? { timeoutMs: flags.proposerTimeoutS * 1000 } : {}) });
  }
  switch (flags.proposer) {
    case "grid":
      return gridProposer(menu);
    case "random":
      return randomProposer(menu, menu.seed);
    case "tpe":
      return tpeProposer(menu, menu.seed, priors, flags.priorWeight !== undefined ? { priorObservationWeight: flags.priorWeight } : {});
    default:
      return assertNever(flags.proposer);
  }
}
