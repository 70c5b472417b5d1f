// JSON lines as Python writes them: json.dumps emits the bare tokens NaN, Infinity and -Infinity,
// and a NaN loss is exactly what the gates must see, so they parse to non-finite numbers. The
// fast path is plain JSON.parse; only lines that fail it pay for the token rewrite.
//
// A key written twice is an error, as in our YAML: JSON.parse keeps the last one silently, so
// `{"loss":NaN,"loss":2.1}` would hide the NaN. Proving a line has no duplicate costs one count
// of its colons (see hasNoDuplicates); only lines with nesting or colons in strings are scanned.

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
    } catch (err) {
      if (err instanceof RangeError) return this.fail("json", TOO_DEEP);
      if (!this.slowPath(text, err)) return false;
    }
    return this.unique(text);
  }

  private unique(text: string): boolean {
    if (hasNoDuplicates(text, this.value, !this.nonFiniteTokens)) return true;
    const dup = findDuplicateKey(text);
    return dup === undefined ? true : this.fail(dup, `key ${JSON.stringify(dup.split(".").pop())} is written twice in one object; JSON keeps only the last, so the line is ambiguous`);
  }

  private slowPath(text: string, err: unknown): boolean {
    const rewritten = rewriteNonFiniteTokens(text);
    if (rewritten !== undefined) {
      let overflowKey: string | undefined;
      try {
        const value: unknown = JSON.parse(rewritten, function (key, v: unknown) {
          if (typeof v === "string" && v.startsWith(SENTINEL)) {
            const token = v.slice(SENTINEL.length);
            if (Object.hasOwn(TOKENS, token)) return TOKENS[token];
          }
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
      } catch (e) {
        // the reviver recurses: a line nested thousands deep overflows it
        if (e instanceof RangeError) return this.fail("json", TOO_DEEP);
        // else fall through: report the original syntax error, which points at the real problem
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

const TOO_DEEP = "nested too deeply to read (thousands of levels); a line holds one flat record";

/**
 * True when a parsed line provably names no key twice: outside strings a colon follows every
 * key (at any depth) and nothing else, and JSON.parse keeps one key of each repeated name, so as
 * many colons in the text as keys kept at every depth leaves no room for a repeat. When a colon
 * sits inside a string (a row's ISO `time`) and the line was read as written (plain JSON.parse,
 * no backslash, so every string reads as it is written), the colons inside the kept keys and
 * string values are counted too: a repeated key would still leave its own colon, and the strings
 * of the value it replaced, uncounted. Otherwise findDuplicateKey decides.
 */
function hasNoDuplicates(text: string, value: unknown, asWritten: boolean): boolean {
  if (value === null || typeof value !== "object") return true;
  const colons = colonsIn(text);
  if (colons === keysAtEveryDepth(value, colons, false)) return true;
  return asWritten && text.indexOf("\\") === -1 && colons === keysAtEveryDepth(value, colons, true);
}

/** Colons in a string. */
function colonsIn(s: string): number {
  let n = 0;
  for (let i = s.indexOf(":"); i !== -1; i = s.indexOf(":", i + 1)) n++;
  return n;
}

/**
 * Keys of `value` and of every object nested in it, plus, with `strings`, the colons inside those
 * keys and inside every string value; stops counting once past `limit`.
 */
function keysAtEveryDepth(value: object, limit: number, strings: boolean): number {
  let n = 0;
  const stack: object[] = [value];
  while (stack.length > 0 && n <= limit) {
    const v = stack.pop() as object;
    const isArray = Array.isArray(v);
    const children = isArray ? (v as unknown[]) : Object.values(v);
    if (!isArray) {
      n += children.length;
      if (strings) for (const k of Object.keys(v)) n += colonsIn(k);
    }
    for (const c of children) {
      if (c !== null && typeof c === "object") stack.push(c);
      else if (strings && typeof c === "string") n += colonsIn(c);
    }
  }
  return n;
}

/**
 * The dotted path (e.g. `config.lr`) of the first key written twice in one object of a JSON
 * text, or undefined. A scanner, not a parser: it runs on text JSON.parse has accepted, keeps one
 * frame per open object or array (no recursion, so depth cannot overflow it).
 */
export function findDuplicateKey(text: string): string | undefined {
  const frames: { keys: Set<string> | null; expectKey: boolean; key: string; index: number }[] = [];
  const path = (key: string): string => [...frames.slice(0, -1).map((f) => (f.keys ? f.key : String(f.index))), key].join(".");
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      const start = i + 1;
      let escaped = false;
      for (i = start; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 92) {
          escaped = true;
          i++;
        } else if (d === 34) break;
      }
      const top = frames[frames.length - 1];
      if (top?.keys && top.expectKey) {
        const raw = text.slice(start, i);
        const key = escaped ? (JSON.parse(`"${raw}"`) as string) : raw;
        if (top.keys.has(key)) return path(key);
        top.keys.add(key);
        top.key = key;
        top.expectKey = false;
      }
    } else if (c === 123 /* { */) frames.push({ keys: new Set(), expectKey: true, key: "", index: 0 });
    else if (c === 91 /* [ */) frames.push({ keys: null, expectKey: false, key: "", index: 0 });
    else if (c === 125 /* } */ || c === 93 /* ] */) frames.pop();
    else if (c === 44 /* , */) {
      const top = frames[frames.length - 1];
      if (top?.keys) top.expectKey = true;
      else if (top) top.index++;
    }
  }
  return undefined;
}

/** A whole JSON document (a verdict, a lock, an answer): the value, or what is wrong with it. */
export type JsonText =
  | { ok: true; value: unknown }
  | { ok: false; problem: "syntax" | "too-deep"; message: string }
  | { ok: false; problem: "duplicate"; key: string; message: string };

/** JSON.parse that also refuses a key written twice and says when nesting overflowed the parser. */
export function parseJsonText(text: string): JsonText {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return err instanceof RangeError ? { ok: false, problem: "too-deep", message: "nested too deeply to read" } : { ok: false, problem: "syntax", message: (err as Error).message };
  }
  const key = findDuplicateKey(text);
  return key === undefined ? { ok: true, value } : { ok: false, problem: "duplicate", key, message: `${key} is written twice` };
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
  // A line that spells the sentinel itself is read as written: its strings must stay strings.
  if (text.includes("windtunnel-nonfinite")) return undefined;
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
    // A token where a key goes ({NaN: 1}) stays as written, for JSON.parse to refuse: keys are strings.
    let next = i + token.length;
    while (next < text.length && (text.charCodeAt(next) === 32 || text.charCodeAt(next) === 9 || text.charCodeAt(next) === 13 || text.charCodeAt(next) === 10)) next++;
    if (text.charCodeAt(next) === 58 /* : */) {
      i += token.length - 1;
      continue;
    }
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
