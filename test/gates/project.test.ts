import { describe, expect, it } from "vitest";
import { projectToTarget } from "../../src/gates/project.ts";
import { DEFAULT_POLICY } from "../helpers/policy.ts";

const target = DEFAULT_POLICY.target!;

describe("project_to_target", () => {
  it("keeps head_dim, FFN ratio and every other knob; takes width and depth; scales LR by √(d_proxy/d_target)", () => {
    const p = projectToTarget({ d_model: 1024, n_layer: 12, n_head: 8, d_ff: 4096, lr: 6e-4, activation: "swiglu", warmup: 10 }, target);
    expect(p.config).toEqual({ d_model: 4096, n_layer: 32, n_head: 32, d_ff: 16384, lr: 0.0003, activation: "swiglu", warmup: 10 });
    expect(p.notes.join("\n")).toMatch(/head_dim 128 kept/);
  });

  it("rounds d_ff to the policy's multiple and says when head_dim does not divide the target", () => {
    const p = projectToTarget({ d_model: 768, n_layer: 24, n_head: 16, d_ff: 4096, lr: 3e-4 }, target);
    expect(p.config["d_ff"]).toBe(21824); // 5.333 × 4096 = 21845 → nearest multiple of 64
    expect((p.config["d_ff"] as number) % 64).toBe(0);
    expect(p.config["n_head"]).toBe(85);
    expect(p.notes.join("\n")).toMatch(/head_dim 48 does not divide 4096/);
  });

  it("uses the policy's key names", () => {
    const p = projectToTarget({ hidden: 512, layers: 8, lr: 1e-3 }, { ...target, keys: { ...target.keys, d_model: "hidden", n_layer: "layers" } });
    expect(p.config).toMatchObject({ hidden: 4096, layers: 32 });
  });

  it("says so when there is nothing to project", () => {
    const p = projectToTarget({ hypothesis: "cosine warmdown" }, target);
    expect(p.config).toEqual({ hypothesis: "cosine warmdown" });
    expect(p.notes[0]).toMatch(/nothing to project/);
  });
});
