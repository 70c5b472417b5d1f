// Monitor state as JSON that keeps NaN and ±Infinity (plain JSON turns them into null, and a
// running minimum starts at Infinity): non-finite numbers become {"$num": "Infinity"}.
export function encodeState(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? { $num: String(v) } : v));
}

export function decodeState<T>(text: string): T {
  return JSON.parse(text, (_k, v: unknown) => {
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      const keys = Object.keys(o);
      if (keys.length === 1 && keys[0] === "$num" && typeof o["$num"] === "string") return Number(o["$num"]);
    }
    return v;
  }) as T;
}
