import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { CurveMonitor, evaluateCurve, survivorsGate, type CurveOutcome } from "../../src/gates/stress.ts";
import type { MetricPoint } from "../../src/evidence/schemas.ts";
import { openEvidence } from "../../src/evidence/read.ts";
import { DEFAULT_POLICY, policyWith } from "../helpers/policy.ts";
import { describeWithSharedFixtures, REPO } from "../helpers/shared.ts";

const S = DEFAULT_POLICY.stress;

/** A healthy-looking curve: L(t) = 2.6 + 9·t^-0.45 with deterministic ±1% wiggle, logged every `every` steps. */
function curve(every = 10, until = 1000, edit: (p: MetricPoint) => MetricPoint = (p) => p): MetricPoint[] {
  const out: MetricPoint[] = [];
  for (let step = every; step <= until; step += every) {
    const loss = (2.6 + 9 * step ** -0.45) * (1 + 0.01 * Math.sin(step * 1.7));
    out.push(edit({ step, line: out.length + 1, loss, grad_norm: 1 + 3 * step ** -0.5 }));
  }
  return out;
}

const result = (o: CurveOutcome, id: string) => o.results.find((r) => r.id === id);

describe("stress gates on crafted curves", () => {
  it("pass a healthy curve, every result marked as judging one candidate", () => {
    const o = evaluateCurve("ok", curve(), S);
    expect(o.results.map((r) => [r.id, r.status])).toEqual([
      ["stress.steps", "pass"],
      ["stress.interval", "pass"],
      ["stress.finite", "pass"],
      ["stress.divergence", "pass"],
      ["stress.flatline", "pass"],
      ["stress.grad_norm", "pass"],
    ]);
    expect(o.survived).toBe(true);
    expect(o.results.every((r) => r.scope === "candidate")).toBe(true);
  });

  it("do not call a single +44% jump a divergence (it needs persistence)", () => {
    const o = evaluateCurve("spike", curve(10, 1000, (p) => (p.step === 600 ? { ...p, loss: (p.loss ?? 0) * 1.44 } : p)), S);
    expect(result(o, "stress.divergence")?.status).toBe("pass");
  });

  it("fail a sustained rise, naming the step it starts", () => {
    const o = evaluateCurve("rise", curve(10, 1000, (p) => (p.step >= 700 ? { ...p, loss: (p.loss ?? 0) * (1 + (p.step - 690) / 200) } : p)), S);
    const d = result(o, "stress.divergence");
    expect(d?.status).toBe("fail");
    expect(d?.step).toBeGreaterThanOrEqual(700);
    expect(d?.step).toBeLessThanOrEqual(730);
  });

  it("fail on the first NaN, judging the other gates on the steps before it", () => {
    const o = evaluateCurve("nan", curve(10, 1000, (p) => (p.step >= 730 ? { ...p, loss: Number.NaN } : p)), S);
    expect(result(o, "stress.finite")).toMatchObject({ status: "fail", step: 730, measured: 28 });
    expect(result(o, "stress.divergence")?.status).toBe("pass");
  });

  it("fail an infinite grad norm too", () => {
    const o = evaluateCurve("inf", curve(10, 1000, (p) => (p.step === 400 ? { ...p, grad_norm: Infinity } : p)), S);
    expect(result(o, "stress.finite")).toMatchObject({ status: "fail", step: 400 });
  });

  it("fail a curve flat before step 800", () => {
    const flat = curve(10, 1000, (p) => ({ ...p, loss: 3 + 0.002 * Math.sin(p.step) }));
    const o = evaluateCurve("flat", flat, S);
    expect(result(o, "stress.flatline")).toMatchObject({ status: "fail" });
    expect(result(o, "stress.flatline")?.step).toBeLessThanOrEqual(50);
  });

  it("judge a sparse curve by interpolating inside empty windows", () => {
    const o = evaluateCurve("sparse", curve(125, 3000), { ...S, max_log_interval: 125 });
    expect(result(o, "stress.flatline")?.status).toBe("pass");
    expect(result(o, "stress.interval")).toMatchObject({ status: "pass", measured: 125 });
  });

  it("fail a grad-norm blowup ≥ 10× the early post-warmup reference", () => {
    const o = evaluateCurve("grad", curve(10, 1000, (p) => (p.step === 650 ? { ...p, grad_norm: 40 } : p)), S);
    expect(result(o, "stress.grad_norm")).toMatchObject({ status: "fail", step: 650 });
  });

  it("fail a run too short or logged too sparsely", () => {
    expect(result(evaluateCurve("short", curve(10, 600), S), "stress.steps")).toMatchObject({ status: "fail", measured: 600 });
    expect(result(evaluateCurve("sparse", curve(100, 1000), S), "stress.interval")).toMatchObject({ status: "fail", measured: 100 });
  });

  it("skip the grad-norm gate when none is logged", () => {
    const o = evaluateCurve("nograd", curve().map(({ grad_norm: _g, ...p }) => p), S);
    expect(result(o, "stress.grad_norm")?.status).toBe("skip");
  });

  it("report survivors, and no fallback with fewer than two", () => {
    const ok = evaluateCurve("a", curve(), S);
    const bad = evaluateCurve("b", curve(10, 500), S);
    expect(survivorsGate([ok, bad], S)).toMatchObject({ status: "pass", measured: 1 });
    expect(survivorsGate([ok, bad], S).message).toMatch(/no fallback/);
    expect(survivorsGate([bad], S)).toMatchObject({ status: "fail", measured: 0 });
    expect(survivorsGate([ok, bad], { ...S, min_survivors: 2 }).status).toBe("fail");
  });

  it("give the same verdict however the points are fed (the monitor is a pure fold)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 300, max: 1200 }), fc.integer({ min: 0, max: 1 }), (until, spike) => {
        const pts = curve(10, until, (p) => (spike && p.step === 500 ? { ...p, loss: Number.NaN } : p));
        const a = evaluateCurve("x", pts, S);
        const m = new CurveMonitor("x", S);
        for (const p of pts) m.push({ ...p });
        expect(m.finish()).toEqual(a);
      }),
      { numRuns: 30 },
    );
  });
});

describe("stress gates on curves from really training a small model", () => {
  const dir = join(REPO, "test/fixtures/stress");
  const cases = JSON.parse(readFileSync(join(dir, "cases.json"), "utf8")) as { name: string; file: string; gate: string | null; trouble_step: number | null }[];

  it.each(cases.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    const ev = await openEvidence(join(dir, c.file));
    if (ev.kind !== "metrics") throw new Error("not metrics");
    const m = new CurveMonitor(c.name, S);
    for await (const b of ev.points) for (const p of b) m.push(p);
    const o = m.finish();
    if (c.gate === null) {
      expect(o.results.filter((r) => r.status === "fail")).toEqual([]);
      return;
    }
    const failed = o.results.filter((r) => r.status === "fail").map((r) => r.id);
    expect(failed).toContain(c.gate);
    const r = result(o, c.gate);
    // "Close to where the trouble starts": within 100 steps (10 logged points), never before it.
    expect(r?.step).toBeGreaterThanOrEqual(c.trouble_step ?? 0);
    expect((r?.step ?? 0) - (c.trouble_step ?? 0)).toBeLessThanOrEqual(100);
  });
});

describeWithSharedFixtures("no false alarms on healthy real curves", (root) => {
  async function gateFile(file: string, policy = S): Promise<CurveOutcome> {
    const ev = await openEvidence(file);
    if (ev.kind !== "metrics") throw new Error("not metrics");
    const m = new CurveMonitor(file, policy);
    for await (const b of ev.points) for (const p of b) m.push(p);
    return m.finish();
  }
  const judged = ["stress.finite", "stress.divergence", "stress.flatline", "stress.grad_norm"];

  it("none of the 48 modded-nanogpt optimizer runs trips finite, divergence, flatline or grad-norm", async () => {
    // Validation every 125 steps, so this test's policy allows that interval.
    const policy = policyWith({ stress: { max_log_interval: 125 } }).stress;
    const base = join(root, "curves/modded-nanogpt-optimizers");
    const files = readdirSync(base).flatMap((g) => readdirSync(join(base, g)).map((f) => join(base, g, f)));
    expect(files).toHaveLength(48);
    for (const f of files) {
      const o = await gateFile(f, policy);
      expect(o.results.filter((r) => judged.includes(r.id) && r.status === "fail"), f).toEqual([]);
      expect(o.survived, f).toBe(true);
    }
  });

  it.each(["2024-10-09_SOAP.log", "2024-10-10_Muon.log", "2024-10-14_ModernArch.log", "gpt2-medium-60k-val.log"])("speedrun %s: no false alarm on per-step train loss", async (name) => {
    const o = await gateFile(join(root, "curves/modded-nanogpt-speedrun", name), policyWith({ stress: { max_log_interval: 250 } }).stress);
    expect(o.results.filter((r) => judged.includes(r.id) && r.status === "fail")).toEqual([]);
    expect(result(o, "stress.flatline")?.status).toBe("pass");
  });
});
