import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { minMaxDownsample } from "../../src/report/downsample.ts";
import { failuresOf, stressSpec, sweepSpec, moneySpec } from "../../src/report/figures.ts";
import { assertSelfContained, reportHtml } from "../../src/report/html.ts";
import { toPng, toSvg } from "../../src/report/render.ts";
import type { GateResult } from "../../src/gates/types.ts";
import type { Verdict } from "../../src/gates/verdict.ts";

describe("min–max downsampling", () => {
  it("keeps every spike, the first and the last point, in x order, within 2 points a bucket", () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -1e3, max: 1e3, noNaN: true }), { minLength: 1, maxLength: 3000 }), fc.integer({ min: 1, max: 200 }), (ys, buckets) => {
        const pts = ys.map((y, x) => ({ x, y }));
        const d = minMaxDownsample(pts, buckets);
        expect(d[0]).toBe(pts[0]);
        expect(d[d.length - 1]).toBe(pts[pts.length - 1]);
        expect(Math.max(...d.map((p) => p.y))).toBe(Math.max(...ys));
        expect(Math.min(...d.map((p) => p.y))).toBe(Math.min(...ys));
        expect(d.every((p, i) => i === 0 || p.x > (d[i - 1] as { x: number }).x)).toBe(true);
        expect(d.length).toBeLessThanOrEqual(Math.max(pts.length <= buckets * 2 ? pts.length : 0, buckets * 2 + 2));
      }),
    );
  });

  it("a one-point spike in 100,000 points survives 400 buckets", () => {
    const pts = Array.from({ length: 100_000 }, (_, x) => ({ x, y: x === 61_234 ? 9 : 3 }));
    const d = minMaxDownsample(pts, 400);
    expect(d.length).toBeLessThanOrEqual(802);
    expect(d.find((p) => p.y === 9)?.x).toBe(61_234);
  });
});

describe("figures", () => {
  it("a NaN failure is marked on the curve, not at zero", () => {
    const series = [{ name: "c", points: [{ x: 10, y: 3 }, { x: 20, y: 2.9 }, { x: 30, y: Number.NaN }] }];
    const g: GateResult = { id: "stress.finite", phase: "stress", subject: "c", status: "fail", measured: "NaN", threshold: 0, step: 30, message: "loss is NaN at step 30", scope: "candidate" };
    expect(failuresOf([g], series)).toEqual([{ curve: "c", x: 30, y: 2.9, gate: "stress.finite", message: "loss is NaN at step 30" }]);
  });

  it("renders SVG with marks and labelled axes, and PNG, with nothing external", async () => {
    const svg = await toSvg(stressSpec([{ name: "a", points: [{ x: 1, y: 4 }, { x: 2, y: 3.5 }] }, { name: "b", points: [{ x: 1, y: 4.2 }, { x: 2, y: 3.9 }] }], [], "step"));
    expect(svg).toMatch(/^<svg /);
    expect(svg).toContain("loss (nats per token)");
    expect(svg).toMatch(/aria-roledescription="line mark"/);
    expect(() => assertSelfContained(svg)).not.toThrow();
    const png = await toPng(svg);
    expect([...png.slice(1, 4)].map((c) => String.fromCharCode(c)).join("")).toBe("PNG");
    expect(() => assertSelfContained('<svg><image href="http://x/y.png"/></svg>')).toThrow();
  });

  it("the sweep and money figures carry their units and every candidate", async () => {
    const svg = await toSvg(sweepSpec({ metric: "val_bpb", candidates: [{ id: "c1", label: "lr=1", mean: 2.2, min: 2.19, max: 2.21, n: 2, kind: "finalist" }, { id: "c0", label: "baseline", mean: 2.3, min: 2.3, max: 2.3, n: 1, kind: "baseline" }], reference: { label: "baseline", value: 2.3 }, threshold: 2.27, sigma: 0.01, z: 3.09 }));
    expect(svg).toContain("val_bpb (bits per byte, lower is better)");
    expect((svg.match(/aria-roledescription="(point|symbol)"/g) ?? []).length).toBeGreaterThanOrEqual(2);
    const money = await toSvg(moneySpec({ blindLossUsd: 2352, filterCostUsd: 682, savingsUsd: 729, phases: [{ phase: "final run (cloud)", usd: 4704 }] }));
    expect(money).toContain("USD");
  });
});

describe("report HTML", () => {
  const verdict: Verdict = { verdict_version: 1, windtunnel: "0.1.0", time: "t", phases: ["sweep"], pass: false, policy: { ref: "default", files: [], sha256: "a".repeat(64) }, evidence: [{ file: "t.jsonl", role: "trajectory", sha256: "b".repeat(64) }], gates: [{ id: "sweep.separation", phase: "sweep", subject: "t <x>", status: "fail", measured: 1.5, op: "≥", threshold: 3.09, message: "a & b" }] };

  it("is one file: no script, no external resource, every gate a row, text escaped", () => {
    const html = reportHtml({ title: "T", generated: "g", verdict, digest: "d".repeat(64), figures: [{ id: "sweep", title: "S", caption: "c", svg: "<svg></svg>" }], notes: [] });
    expect(html).not.toMatch(/<script|<link|src=|@import|https?:\/\/(?!www\.w3\.org)/);
    expect(html).toContain("default-src 'none'");
    expect(html).toContain('<tr class="fail" data-gate="sweep.separation" data-subject="t &lt;x&gt;" data-status="fail">');
    expect(html).toContain("a &amp; b");
    expect(html).toContain("FAIL: 1 gate(s) failed");
  });
});
