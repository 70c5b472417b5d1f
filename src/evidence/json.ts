// JSON lines as Python writes them: json.dumps emits the bare tokens NaN, Infinity and -Infinity,
// and a NaN loss is exactly what the gates must see, so they parse to non-finite numbers. The
// fast path is plain JSON.parse; only lines that fail it pay for the token rewrite.

export type JsonLine =
  | { ok: true; value: unknown; /** true when the line used NaN/Infinity tokens */ nonFiniteTokens: boolean }
  | { ok: false; field: string; message: string };

const SENTINEL = "\u0000windtunnel-nonfinite:";
const TOKENS: Record<string, number> = { NaN: Number.NaN, Infinity: Infinity, "-Infinity": -Infinity };

/**
 * Parses JSON lines one after another into its own fields, so a million-line stream allocates
 * no result wrapper per line (the wrappers alone were a measurable share of GC time).
 */
export class JsonLineParser {
  value: unknown = undefined;
  /** True when the last line used NaN/Infinity tokens. */
  nonFiniteTokens = false;
  field = "";
  message = "";

  /** Returns false with `field`/`message` set when the line is not valid JSON. */
  parse(text: string): boolean {
    try {
      this.value = JSON.parse(text);
      this.nonFiniteTokens = false;
      return true;
    } catch (err) {
      return this.slowPath(text, err);
    }
  }

  private slowPath(text: string, err: unknown): boolean {
    const rewritten = rewriteNonFiniteTokens(text);
    if (rewritten !== undefined) {
      let overflowKey: string | undefined;
      try {
        const value: unknown = JSON.parse(rewritten, function (key, v: unknown) {
          if (typeof v === "string" && v.startsWith(SENTINEL)) return TOKENS[v.slice(SENTINEL.length)];
          if (typeof v === "number" && !Number.isFinite(v)) overflowKey ??= key;
          return v;
        });
        if (overflowKey === undefined) {
          this.value = value;
          this.nonFiniteTokens = true;
          return true;
        }
        const o = overflow(overflowKey);
        if (!o.ok) return this.fail(o.field, o.message);
      } catch {
        // fall through: report the original syntax error, which points at the real problem
      }
    }
    return this.fail("json", describeSyntaxError(err, text));
  }

  private fail(field: string, message: string): false {
    this.value = undefined;
    this.field = field;
    this.message = message;
    return false;
  }
}

/** One-off convenience form of JsonLineParser (detection, tests). */
export function parseJsonLine(text: string): JsonLine {
  const p = new JsonLineParser();
  return p.parse(text) ? { ok: true, value: p.value, nonFiniteTokens: p.nonFiniteTokens } : { ok: false, field: p.field, message: p.message };
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
