// Which Phase 2 curves count: the stress test is of the sweep's finalists, so each curve is tied
// to a finalist by its candidate id (lab stress writes curves/<id>.jsonl), and every finalist
// needs exactly one curve. A curve given twice (the same file, a copy, or two finalists whose
// trainer ran them identically) holds the same points and counts once: it is one run, however
// many names it has. Without this, the curve of any config, or one good curve under two names,
// passed stress.
import type { CurveOutcome } from "./stress.ts";
import { gate, type GateResult } from "./types.ts";

export interface JudgedCurve {
  outcome: CurveOutcome;
  /** The candidate id the curve claims to be, from its file name. */
  candidate: string;
  /** The file as the verdict names it. */
  file: string;
  /** The curve's identity: a hash of its points (not its bytes: a re-saved copy is the same curve). */
  fingerprint: string;
}

/** A finalist as the sweep chose it: its id and the ids of its repeats (other seeds). */
export interface FinalistRef {
  id: string;
  ids: readonly string[];
}

export interface Coverage {
  result: GateResult;
  /** The curves that count towards stress.survivors: one per finalist, one per distinct run. */
  counted: CurveOutcome[];
}

/** The candidate id in a curve's file name: `c078.jsonl`, `c078.metrics.jsonl`, `c078.log`. */
export function candidateOfFile(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? name;
  return base.replace(/(\.metrics)?\.(jsonl|log|txt)$/, "");
}

/** `finalists` undefined: no trajectory was given, so the curves cannot be tied to a sweep. */
export function curveCoverage(curves: readonly JudgedCurve[], finalists: readonly FinalistRef[] | undefined): Coverage {
  // Same points, same run: the first name given stands for it, the others are noted.
  const firstOf = new Map<string, JudgedCurve>();
  const copies: string[] = [];
  const isCopy = new Set<JudgedCurve>();
  for (const c of curves) {
    const same = firstOf.get(c.fingerprint);
    if (same === undefined) firstOf.set(c.fingerprint, c);
    else {
      isCopy.add(c);
      copies.push(same.file === c.file ? `${c.file} is given twice` : `${c.file} holds the same points as ${same.file}`);
    }
  }
  const once = copies.length > 0 ? `; ${copies.join(", ")}: one run, counted once` : "";
  const g = gate("stress", "stress.coverage", `${curves.length} curve${curves.length === 1 ? "" : "s"}`);
  if (finalists === undefined) {
    const counted = curves.filter((c) => !isCopy.has(c)).map((c) => c.outcome);
    return { counted, result: g.skip(`not tied to a sweep: no trajectory was given, so nothing checks that these are its finalists' curves (give the trajectory too)${once}`) };
  }
  const finalistOf = new Map<string, FinalistRef>();
  for (const f of finalists) for (const id of [f.id, ...f.ids]) finalistOf.set(id, f);
  const byFinalist = new Map<string, JudgedCurve[]>();
  const strangers: JudgedCurve[] = [];
  for (const c of curves) {
    if (isCopy.has(c) && firstOf.get(c.fingerprint)?.file === c.file) continue; // the same file twice
    const f = finalistOf.get(c.candidate);
    if (f === undefined) strangers.push(c);
    else byFinalist.set(f.id, [...(byFinalist.get(f.id) ?? []), c]);
  }
  const problems: string[] = [];
  const names = finalists.map((f) => f.id).join(", ") || "none";
  for (const c of strangers) problems.push(`${c.file} is the curve of ${c.candidate}, which is not a finalist (finalists: ${names})`);
  for (const [id, cs] of byFinalist) {
    const runs = new Set(cs.map((c) => c.fingerprint));
    if (runs.size > 1) problems.push(`finalist ${id} has ${runs.size} different curves (${cs.map((c) => c.file).join(", ")}); give one`);
  }
  const missing = finalists.filter((f) => !byFinalist.has(f.id)).map((f) => f.id);
  if (missing.length > 0) problems.push(`no curve for finalist${missing.length === 1 ? "" : "s"} ${missing.join(", ")} (name each curve <candidate id>.jsonl, as lab stress does)`);
  // One curve per finalist (its first, in the order given), and one per run.
  const seen = new Set<string>();
  const counted: CurveOutcome[] = [];
  for (const f of finalists) {
    const c = byFinalist.get(f.id)?.[0];
    if (c === undefined || seen.has(c.fingerprint)) continue;
    seen.add(c.fingerprint);
    counted.push(c.outcome);
  }
  const covered = finalists.length - missing.length;
  const ok = problems.length === 0;
  return {
    counted,
    result: g.judged(ok, {
      measured: covered,
      op: "≥",
      threshold: finalists.length,
      message: `${ok ? `one curve for each of the ${finalists.length} finalists (${names})` : problems.join("; ")}${once}`,
    }),
  };
}
