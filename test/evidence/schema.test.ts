import { describe, expect, it } from "vitest";
import { jsonSchemaOf, metricPointSchema, trajectoryRecordSchema } from "../../src/evidence/schemas.ts";

describe("published JSON Schemas", () => {
  it("metrics: step and loss required, loss a number that may be NaN per the note", () => {
    const s = jsonSchemaOf(metricPointSchema()) as { required: string[]; properties: Record<string, { type?: string; description?: string; anyOf?: unknown[] }> };
    expect(s.required).toEqual(["step", "loss"]);
    expect(s.properties["step"]).toMatchObject({ type: "integer", minimum: 0 });
    expect(s.properties["loss"]?.type).toBe("number");
    expect(s.properties["loss"]?.description).toMatch(/NaN/);
    const valLoss = JSON.stringify(s.properties["val_loss"]);
    expect(valLoss).toContain('"type":"number"');
    expect(valLoss).toContain('"type":"null"');
    expect(Object.keys(s.properties)).toEqual(["step", "loss", "val_loss", "val_bpb", "grad_norm", "lr", "tokens", "time_s", "tag"]);
  });

  it("trajectory: id, config, val_bpb and status required; status an enum", () => {
    const s = jsonSchemaOf(trajectoryRecordSchema()) as { required: string[]; properties: Record<string, { enum?: string[] }> };
    expect(s.required).toEqual(expect.arrayContaining(["id", "config", "val_bpb", "status"]));
    expect(s.properties["status"]?.enum).toEqual(["ok", "crash", "timeout", "blocked", "pruned"]);
  });

  it("trajectory: a pruned row's pruned_at and every row's rungs are {step, val_bpb}, a finite val_bpb at a whole step", () => {
    const s = jsonSchemaOf(trajectoryRecordSchema()) as { properties: Record<string, { description?: string; properties?: Record<string, unknown>; required?: string[]; items?: { properties?: Record<string, unknown>; required?: string[] } }> };
    const at = s.properties["pruned_at"];
    expect(at?.description).toMatch(/status pruned only/);
    expect(at?.required).toEqual(["step", "val_bpb"]);
    expect(at?.properties?.["step"]).toMatchObject({ type: "integer", minimum: 0 });
    expect(at?.properties?.["val_bpb"]).toMatchObject({ type: "number", minimum: 0 });
    expect(s.properties["rungs"]?.items?.required).toEqual(["step", "val_bpb"]);
  });
});
