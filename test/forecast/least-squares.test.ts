// Exact non-negative least squares: the optimum when it is feasible, else the best on a face.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { nnls } from "../../src/forecast/least-squares.ts";

describe("nnls", () => {
  it("recovers non-negative coefficients exactly", () => {
    const rows = [[1, 0, 1], [1, 1, 0], [1, 2, 3], [1, 3, 1]];
    const t = rows.map((r) => 2 * (r[0] as number) + 0.5 * (r[1] as number) + 1.5 * (r[2] as number));
    const { coef, rss } = nnls(rows, t, 3);
    coef.forEach((c, i) => expect(c).toBeCloseTo([2, 0.5, 1.5][i] as number, 10));
    expect(rss).toBeLessThan(1e-20);
  });

  it("clamps a coefficient that least squares would make negative to 0", () => {
    // y = 1 − x: unconstrained, the slope is −1; non-negative, the best is a constant at the mean.
    const rows = [0, 1, 2, 3].map((x) => [1, x]);
    const { coef } = nnls(rows, [1, 0, -1, -2], 2);
    expect(coef[1]).toBe(0);
    expect(coef[0]).toBeCloseTo(0, 12);
  });

  it("never returns a negative coefficient, and no worse a fit than all zeros", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.double({ min: -5, max: 5, noNaN: true }), fc.double({ min: -5, max: 5, noNaN: true }), fc.double({ min: -5, max: 5, noNaN: true })), { minLength: 3, maxLength: 12 }), (data) => {
        const rows = data.map(([a, b]) => [1, a, b]);
        const t = data.map(([, , y]) => y);
        const { coef, rss } = nnls(rows, t, 3);
        expect(coef.every((c) => c >= 0)).toBe(true);
        expect(rss).toBeLessThanOrEqual(t.reduce((s, y) => s + y * y, 0) + 1e-9);
      }),
    );
  });
});
