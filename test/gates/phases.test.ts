// The phase registry keeps itself complete: a phase added to PHASES without its entries does not
// compile. The type-level cases below are checked by `tsc --noEmit` (part of `npm test`): each
// `@ts-expect-error` fails the typecheck if the line under it ever compiles. The last case runs
// the compiler on a copy of src/ with a half-added phase and reads which tables it names.
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, expectTypeOf, it } from "vitest";
import { GATE_IDS, LOCAL_PHASES, PHASE_INFO, PHASES, type GateId, type Phase, type PhaseRegistry } from "../../src/gates/phases.ts";
import { JUDGES, type PhaseJudges } from "../../src/judge/phases.ts";
import type { PhaseOutcomes } from "../../src/gates/verdict.ts";

// A registry for one more phase than it has entries for.
// @ts-expect-error Property 'canary' is missing
const half: PhaseRegistry<Phase | "canary"> = PHASE_INFO;

// A registry or a judge table that lost an entry.
const { verify: _info, ...infoWithoutVerify } = PHASE_INFO;
// @ts-expect-error Property 'verify' is missing
const incompleteInfo: PhaseRegistry = infoWithoutVerify;
const { verify: _judge, ...judgesWithoutVerify } = JUDGES;
// @ts-expect-error Property 'verify' is missing
const incompleteJudges: PhaseJudges = judgesWithoutVerify;

// Gate ids are literal unions by phase: a sweep gate cannot carry a stress id, nor a typo.
// @ts-expect-error not a sweep gate id
const wrongPhase: GateId<"sweep"> = "stress.divergence";
// @ts-expect-error not a gate id at all
const typo: GateId = "stress.divergance";

describe("the phase registry", () => {
  it("has exactly one entry per phase in every table", () => {
    expectTypeOf<keyof typeof PHASE_INFO>().toEqualTypeOf<Phase>();
    expectTypeOf<keyof typeof JUDGES>().toEqualTypeOf<Phase>();
    expectTypeOf<keyof PhaseOutcomes>().toEqualTypeOf<Phase>();
    expect(Object.keys(PHASE_INFO).sort()).toEqual([...PHASES].sort());
    expect(Object.keys(JUDGES).sort()).toEqual([...PHASES].sort());
    void [half, incompleteInfo, incompleteJudges, wrongPhase, typo];
  });

  it("names every gate id under its own phase, once", () => {
    const all = Object.entries(GATE_IDS).flatMap(([phase, ids]) => ids.map((id) => [phase, id] as const));
    for (const [phase, id] of all) expect(id.startsWith(`${phase}.`)).toBe(true);
    expect(new Set(all.map(([, id]) => id)).size).toBe(all.length);
  });

  it("means sweep, stress, spend by --phase all: the local phases", () => {
    expect(LOCAL_PHASES).toEqual(["sweep", "stress", "spend"]);
  });

  it("refuses to compile a phase added to PHASES alone, naming each table it lacks", { timeout: 120_000 }, () => {
    const root = join(import.meta.dirname, "../..");
    const dir = mkdtempSync(join(tmpdir(), "wt-half-phase-"));
    try {
      cpSync(join(root, "src"), join(dir, "src"), { recursive: true });
      for (const f of ["package.json"]) cpSync(join(root, f), join(dir, f));
      symlinkSync(join(root, "node_modules"), join(dir, "node_modules"));
      const tsconfig = JSON.parse(readFileSync(join(root, "tsconfig.json"), "utf8")) as { include: string[] };
      writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ ...tsconfig, include: ["src"] }));
      const phasesFile = join(dir, "src/gates/phases.ts");
      const before = readFileSync(phasesFile, "utf8");
      const after = before.replace('"sanity", "verify"] as const;', '"sanity", "verify", "canary"] as const;');
      expect(after).not.toBe(before);
      writeFileSync(phasesFile, after);
      let out = "";
      try {
        execFileSync(join(root, "node_modules/.bin/tsc"), ["--noEmit", "-p", "."], { cwd: dir, encoding: "utf8", stdio: "pipe" });
      } catch (err) {
        out = String((err as { stdout?: string }).stdout);
      }
      const files = new Set([...out.matchAll(/^(src\/[^(]+)\(\d+,\d+\): error/gm)].map((m) => m[1]));
      // The gate ids, the phase descriptions, the judges and the verdict's rows: each must be told.
      expect([...files].sort()).toEqual(expect.arrayContaining(["src/gates/phases.ts", "src/gates/verdict.ts", "src/judge/phases.ts"]));
      expect(out).toMatch(/canary/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
