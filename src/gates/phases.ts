// The phase registry: every phase, what it reads, how it is described, which gates it owns and
// when a stack judges it, in one table the compiler checks. A phase added to PHASES without an
// entry here (or in the judge's table, judge/phases.ts) does not compile: the tables are mapped
// types over Phase, not lists kept by hand. Pure data, so `--help` and `parsePhases` load nothing
// else.

export const PHASES = ["sweep", "stress", "spend", "sanity", "verify"] as const;
export type Phase = (typeof PHASES)[number];

/** The watchdog's own gates (dead-man switch, exit status, hours cap) run only in the account, never in `gate`. */
export type GatePhase = Phase | "health";

/** The kinds of evidence a verdict binds (by sha256), by the role they play. */
export const EVIDENCE_ROLES = ["trajectory", "curve", "campaign", "sanity", "cloud", "envelope"] as const;
export type EvidenceRole = (typeof EVIDENCE_ROLES)[number];

/** Every gate id, by phase: the ids a verdict, the watchdog and the report may carry. */
export const GATE_IDS = {
  sweep: ["sweep.coverage.distinct", "sweep.coverage.evaluated", "sweep.coverage.failed", "sweep.noise", "sweep.separation", "sweep.finalists"],
  stress: ["stress.finite", "stress.divergence", "stress.flatline", "stress.grad_norm", "stress.steps", "stress.interval", "stress.coverage", "stress.survivors"],
  spend: ["spend.instance", "spend.price", "spend.max_price", "spend.hours", "spend.budget", "spend.ev"],
  sanity: ["sanity.fp8.gap", "sanity.fp8.auc", "sanity.parallel", "sanity.throughput"],
  verify: ["verify.forecast", "verify.envelope"],
  health: ["health.first_metrics", "health.dead_man", "health.exit_status", "health.hours_cap"],
} as const satisfies { readonly [P in GatePhase]: readonly `${P}.${string}`[] };

export type GateId<P extends GatePhase = GatePhase> = (typeof GATE_IDS)[P][number];

/** When a Pulumi stack needs a phase to pass: before it books anything, or before the full run. */
export type StackRule = "before-any-node" | "before-full" | "during-full";

export interface PhaseInfo {
  /** One line for `gate --help` and the report. */
  summary: string;
  /** The evidence a verdict of this phase must list, by role. */
  needs: readonly EvidenceRole[];
  /** When a stack judges it (infra/judge-campaign.ts, the watchdog); before any node: `--phase all`. */
  stack: StackRule;
}

/** A registry over a set of phase names: one entry each, no more, no less. */
export type PhaseRegistry<K extends string = Phase> = { readonly [P in K]: PhaseInfo };

export const PHASE_INFO: PhaseRegistry = {
  sweep: { summary: "Phase 1: coverage, noise, separation and the finalists of the recipe lab", needs: ["trajectory"], stack: "before-any-node" },
  stress: { summary: "Phase 2: divergence, flatlines, gradient-norm blowups of the finalists' long curves", needs: ["curve"], stack: "before-any-node" },
  spend: { summary: "the campaign plan: instance, price, hours, budget and expected value", needs: ["campaign"], stack: "before-any-node" },
  sanity: { summary: "the sanity day: FP8 vs BF16, TP/PP parity and throughput on the cloud node", needs: ["sanity"], stack: "before-full" },
  verify: { summary: "the cloud curve against the Phase 2 forecast (envelope.json)", needs: ["cloud", "envelope"], stack: "during-full" },
};

/** The phases a stack judges at one point of its life, in the registry's order. */
export const phasesJudged = (when: StackRule): Phase[] => PHASES.filter((p) => PHASE_INFO[p].stack === when);

/** What `--phase all` means: the gates judged before any booking, from local evidence. */
export const LOCAL_PHASES: readonly Phase[] = phasesJudged("before-any-node");

export const isPhase = (s: string): s is Phase => (PHASES as readonly string[]).includes(s);
