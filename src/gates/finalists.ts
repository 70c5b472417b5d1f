// Which Phase 2 curves count: the stress test is of the sweep's finalists, so each curve is tied
// to a finalist by its candidate id (lab stress writes curves/<id>.jsonl), every finalist needs
// exactly one curve, and a curve given twice (the same file, or a byte-identical copy) counts
// once. Without this, the curve of any config, or one good curve under two names, passed stress.
import type { CurveOutcome } from "./stress.ts";
import type { GateResult } from "./types.ts";

export interface JudgedCurve {
  outcome: CurveOutcome;
  /** The candidate id the curve claims to be, from its file name. */
  candidate: string;
  /** The file as the verdict names it. */
  file: string;
  sha256: string;
}

/** A finalist as the sweep chose it: its id and the ids of its repeats (other seeds). */
export interface FinalistRef {
  id: string;
  ids: readonly string[];
}

export interface Coverage {
  result: GateResult;
  /** The curves that count towards stress.survivors: one per finalist (or per distinct file). */
  counted: CurveOutcome[];
}

/** The candidate id in a curve's file name: `c078.jsonl`, `c078.metrics.jsonl`, `c078.log`. */
export function candidateOfFile(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? name;
  return base.replace(/(\.metrics)?\.(jsonl|log|txt)$/, "");
}

/** `finalists` undefined: no trajectory was given, so the curves cannot be tied to a sweep. */
export function curveCoverage(curves: readonly JudgedCurve[], finalists: readonly FinalistRef[] | undefined): Coverage {
  const problems: string[] = [];
  const firstBySha = new Map<string, JudgedCurve>();
  const distinct: JudgedCurve[] = [];
  for (const c of curves) {
    const same = firstBySha.get(c.sha256);
    if (same === undefined) {
      firstBySha.set(c.sha256, c);
      distinct.push(c);
    } else {
      problems.push(same.file === c.file ? `${c.file} is given twice` : `${c.file} is byte for byte ${same.file}`);
    }
  }
  const base = { id: "stress.coverage", phase: "stress" as const, subject: `${curves.length} curve${curves.length === 1 ? "" : "s"}` };
  if (finalists === undefined) {
    const counted = distinct.map((c) => c.outcome);
    if (problems.length > 0) return { counted, result: { ...base, status: "fail", measured: distinct.length, op: "≥", threshold: curves.length, message: `${problems.join("; ")}: a curve counts once` } };
    return { counted, result: { ...base, status: "skip", measured: null, threshold: null, message: "not tied to a sweep: no trajectory was given, so nothing checks that these are its finalists' curves (give the trajectory too)" } };
  }
  const finalistOf = new Map<string, FinalistRef>();
  for (const f of finalists) for (const id of [f.id, ...f.ids]) finalistOf.set(id, f);
  const byFinalist = new Map<string, JudgedCurve[]>();
  const strangers: JudgedCurve[] = [];
  for (const c of distinct) {
    const f = finalistOf.get(c.candidate);
    if (f === undefined) strangers.push(c);
    else byFinalist.set(f.id, [...(byFinalist.get(f.id) ?? []), c]);
  }
  const names = finalists.map((f) => f.id).join(", ") || "none";
  for (const c of strangers) problems.push(`${c.file} is the curve of ${c.candidate}, which is not a finalist (finalists: ${names})`);
  for (const [id, cs] of byFinalist) if (cs.length > 1) problems.push(`finalist ${id} has ${cs.length} different curves (${cs.map((c) => c.file).join(", ")}); give one`);
  const missing = finalists.filter((f) => !byFinalist.has(f.id)).map((f) => f.id);
  if (missing.length > 0) problems.push(`no curve for finalist${missing.length === 1 ? "" : "s"} ${missing.join(", ")} (name each curve <candidate id>.jsonl, as lab stress does)`);
  // One curve per finalist counts: the first, in the order given.
  const counted = finalists.flatMap((f) => byFinalist.get(f.id)?.slice(0, 1).map((c) => c.outcome) ?? []);
  const covered = finalists.length - missing.length;
  const ok = problems.length === 0;
  return {
    counted,
    result: {
      ...base,
      status: ok ? "pass" : "fail",
      measured: covered,
      op: "≥",
      threshold: finalists.length,
      message: ok ? `one curve for each of the ${finalists.length} finalists (${names})` : problems.join("; "),
    },
  };
}
