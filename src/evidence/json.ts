// JSON lines as Python writes them: json.dumps emits the bare tokens NaN, Infinity and -Infinity,
// and a NaN loss is exactly what the gates must see, so they parse to non-finite numbers. The
// fast path is plain JSON.parse; only lines that fail it pay for the token rewrite.

export type JsonLine =
  | { ok: true; value: unknown; /** true when the line used NaN/Infinity tokens */ nonFiniteTokens: boolean }
  | { ok: false; field: string; message: string };

const SENTINEL = "\u0000windtunnel-nonfinite:";
const TOKENS: Record<string, number> = { NaN: Number.NaN, Infinity: Infinity, "-Infinity": -Infinity };

export function parseJsonLine(text: string): JsonLine {
  try {
    return { ok: true, value: JSON.parse(text), nonFiniteTokens: false };
  } catch (err) {
    const rewritten = rewriteNonFiniteTokens(text);
    if (rewritten === undefined) return { ok: false, field: "json", message: describeSyntaxError(err, text) };
    let overflowKey: string | undefined;
    try {
      const value: unknown = JSON.parse(rewritten, function (key, v: unknown) {
        if (typeof v === "string" && v.startsWith(SENTINEL)) return TOKENS[v.slice(SENTINEL.length)];
        if (typeof v === "number" && !Number.isFinite(v)) overflowKey ??= key;
        return v;
      });
      if (overflowKey !== undefined) return overflow(overflowKey);
      return { ok: true, value, nonFiniteTokens: true };
    } catch {
      return { ok: false, field: "json", message: describeSyntaxError(err, text) };
    }
  }
}

export function overflow(key: string): JsonLine {
  return { ok: false, field: key || "json", message: "number overflows a 64-bit float (huge exponent); write Infinity if that is what you mean" };
}

/** Replace bare NaN/Infinity/-Infinity outside strings by sentinel strings, or undefined if none. */
function rewriteNonFiniteTokens(text: string): string | undefined {
  let out = "";
  let last = 0;
  let found = false;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
      continue;
    }
    if (c === 34) {
      inString = true;
      continue;
    }
    let token: string | undefined;
    if (c === 78 /* N */ && text.startsWith("NaN", i)) token = "NaN";
    else if (c === 73 /* I */ && text.startsWith("Infinity", i)) token = "Infinity";
    else if (c === 45 /* - */ && text.startsWith("-Infinity", i)) token = "-Infinity";
    if (token === undefined) continue;
    out += text.slice(last, i) + JSON.stringify(SENTINEL + token);
    i += token.length - 1;
    last = i + 1;
    found = true;
  }
  return found ? out + text.slice(last) : undefined;
}

function describeSyntaxError(err: unknown, text: string): string {
  const raw = err instanceof Error ? err.message : String(err);
  if (text.trim() === "") return "empty line; expected a JSON object";
  const pos = /at position (\d+)/.exec(raw);
  // V8 quotes the offending source in its message; drop it so the message stays one short line.
  const reason = raw.replace(/, ".*" is not valid JSON$/s, "").replace(/ in JSON at position \d+.*$/s, "").replace(/^Unexpected token '(.)'.*$/s, "unexpected character '$1'");
  if (/Unterminated string/i.test(raw) || (/end of JSON input/i.test(raw) && (text.match(/(?<!\\)"/g)?.length ?? 0) % 2 === 1)) {
    return "invalid JSON: unterminated string (truncated line or a missing closing quote)";
  }
  if (/end of JSON input/i.test(raw) || (pos && Number(pos[1]) >= text.trimEnd().length)) return "invalid JSON: line ends early (truncated line?)";
  return pos ? `invalid JSON at column ${Number(pos[1]) + 1}: ${lowerFirst(reason)}` : `invalid JSON: ${lowerFirst(reason)}`;
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}
