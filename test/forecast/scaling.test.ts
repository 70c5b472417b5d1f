import { describe, expect, it } from "vitest";
import { calibrateSizeTerm, natsToBpb, SCALING_CONSTANTS, sizeShift } from "../../src/forecast/scaling.ts";

describe("proxy → target size shift", () => {
  // Hand-computed: A·(N_t^−α − N_p^−α). 124e6^−0.34 = e^(−0.34·18.636) = 1.7722e−3,
  // 7e9^−0.34 = e^(−0.34·22.669) = 4.4923e−4: 406.4 × (4.4923e−4 − 1.7722e−3) = −0.5377.
  it.each([
    ["hoffmann2022", 124e6, 7e9, -0.537],
    ["besiroglu2024", 124e6, 7e9, -0.557],
    ["hoffmann2022", 7e9, 7e9, 0],
    ["hoffmann2022", 350e6, 1.3e9, 406.4 * ((1.3e9) ** -0.34 - (350e6) ** -0.34)],
  ] as const)("%s: %d → %d params shifts the loss by %f nats", (name, np, nt, want) => {
    expect(sizeShift(np, nt, SCALING_CONSTANTS[name])).toBeCloseTo(want, 3);
  });

  it("a bigger target is always lower, and the shift grows with the gap", () => {
    const k = SCALING_CONSTANTS.hoffmann2022;
    expect(sizeShift(124e6, 1e9, k)).toBeLessThan(0);
    expect(sizeShift(124e6, 70e9, k)).toBeLessThan(sizeShift(124e6, 7e9, k));
    expect(sizeShift(7e9, 124e6, k)).toBeCloseTo(-sizeShift(124e6, 7e9, k), 12);
  });

  it("nats per token to bits per byte", () => {
    expect(natsToBpb(Math.LN2 * 4, 4)).toBeCloseTo(1, 12);
    expect(natsToBpb(-0.537, 4.2)).toBeCloseTo(-0.537 / (Math.LN2 * 4.2), 12);
  });

  it("calibrates A and α from proxies at 4 sizes", () => {
    const A = 300, alpha = 0.32, K = 2.2;
    const pts = [20e6, 50e6, 124e6, 350e6].map((params) => ({ params, loss: K + A * params ** -alpha }));
    const r = calibrateSizeTerm(pts);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.fit.c).toBeCloseTo(alpha, 2);
    expect(sizeShift(124e6, 7e9, { A: r.fit.b, alpha: r.fit.c })).toBeCloseTo(sizeShift(124e6, 7e9, { A, alpha }), 2);
  });

  it("refuses to calibrate from fewer than 3 sizes", () => {
    const r = calibrateSizeTerm([{ params: 1e6, loss: 4 }, { params: 1e6, loss: 4.1 }, { params: 2e6, loss: 3.9 }]);
    expect(r).toEqual({ ok: false, reason: "calibration needs proxies at 3 sizes or more, got 2" });
  });
});
