// project_to_target (seed §2.3, proxy substitution): a finalist's recipe carried to the target
// size. The proxy's shape choices transfer (head_dim, FFN ratio, activation, every other knob);
// width and depth come from the target; the learning rate scales by √(d_proxy/d_target).
import type { TargetShape } from "../policy/schema.ts";
import { fmt } from "../common/format.ts";

export interface Projection {
  config: Record<string, unknown>;
  /** What changed and why, one line each. */
  notes: string[];
}

const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) && v > 0 ? v : undefined);

export function projectToTarget(config: Readonly<Record<string, unknown>>, target: TargetShape): Projection {
  const k = target.keys;
  const dProxy = num(config[k.d_model]);
  if (dProxy === undefined) return { config: { ...config }, notes: [`no numeric "${k.d_model}" in the config: nothing to project (set target.keys to your names)`] };
  const out: Record<string, unknown> = { ...config, [k.d_model]: target.d_model, [k.n_layer]: target.n_layer };
  const notes = [`${k.d_model} ${dProxy} → ${target.d_model}`];
  const layers = num(config[k.n_layer]);
  notes.push(layers !== undefined ? `${k.n_layer} ${layers} → ${target.n_layer}` : `${k.n_layer} set to ${target.n_layer}`);

  const nHead = num(config[k.n_head]);
  const headDim = num(config[k.head_dim]) ?? (nHead !== undefined ? dProxy / nHead : undefined);
  if (headDim !== undefined) {
    const heads = target.d_model / headDim;
    const whole = Math.max(1, Math.round(heads));
    if (nHead !== undefined) out[k.n_head] = whole;
    const heads_ = nHead !== undefined ? `${k.n_head} ${nHead} → ${whole}` : `${whole} heads at ${target.d_model}`;
    notes.push(
      Number.isInteger(heads)
        ? `${heads_} (head_dim ${fmt(headDim)} kept)`
        : `${heads_}: head_dim ${fmt(headDim)} does not divide ${target.d_model}, so the target's becomes ${fmt(target.d_model / whole)}`,
    );
  }

  const dff = num(config[k.d_ff]);
  const ratio = num(config[k.ffn_ratio]) ?? (dff !== undefined ? dff / dProxy : undefined);
  if (ratio !== undefined && dff !== undefined) {
    const projected = Math.max(target.round_to, Math.round((ratio * target.d_model) / target.round_to) * target.round_to);
    out[k.d_ff] = projected;
    notes.push(`${k.d_ff} ${dff} → ${projected} (FFN ratio ${fmt(ratio)} kept, rounded to a multiple of ${target.round_to})`);
  } else if (ratio !== undefined) {
    notes.push(`${k.ffn_ratio} ${fmt(ratio)} kept`);
  }

  const lr = num(config[k.lr]);
  if (lr !== undefined) {
    const scaled = lr * Math.sqrt(dProxy / target.d_model);
    out[k.lr] = Number(scaled.toPrecision(3));
    notes.push(`${k.lr} ${fmt(lr)} → ${fmt(Number(scaled.toPrecision(3)))} (× √(${dProxy}/${target.d_model}))`);
  }
  return { config: out, notes };
}
