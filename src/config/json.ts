/**
 * JSON.parse with the line and column of a syntax error. JavaScriptCore (Bun) reports no position
 * at all ("Unexpected identifier"), and an operator editing a configuration needs one, so on a
 * failure a small scanner walks the text to the first offending character.
 */

/** Text that is not JSON: where it breaks (1-based line and column) and what is there. */
export class JsonSyntaxError extends Error {
  override readonly name = "JsonSyntaxError";
  constructor(
    /** Where the text stops being JSON; null if only JSON.parse saw the error (a scanner bug). */
    readonly at: { readonly line: number; readonly column: number } | null,
    readonly detail: string,
  ) {
    super(at ? `line ${at.line}, column ${at.column}: ${detail}` : detail);
  }
}

/** Parses JSON; throws a JsonSyntaxError naming the line and column of the first error. */
export function parseJsonWithPosition(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const offset = syntaxErrorOffset(text);
    // The scanner and JSON.parse disagreeing would be a scanner bug: keep the parser's own words.
    if (offset === null) throw new JsonSyntaxError(null, (e as Error).message);
    throw new JsonSyntaxError(lineColumn(text, offset), offset < text.length ? `unexpected ${describeChar(text, offset)}` : "unexpected end of input");
  }
}

/** What stands at the error: a whole word (`"nope"`, `"01"`) when it is one, else the character. */
function describeChar(text: string, offset: number): string {
  const word = /^[A-Za-z0-9_$.+-]{1,24}/.exec(text.slice(offset, offset + 24));
  if (word) return JSON.stringify(word[0]);
  const c = text.codePointAt(offset) ?? 0;
  return c < 0x20 || c === 0xfeff ? `character U+${c.toString(16).toUpperCase().padStart(4, "0")}` : JSON.stringify(String.fromCodePoint(c));
}

/** 1-based line and column (in UTF-16 units) of an offset; \r\n and \n end lines. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++)
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  return { line, column: offset - lineStart + 1 };
}

/**
 * The offset of the first character that makes `text` invalid JSON (RFC 8259), text.length when
 * it ends too early, or null when the scanner finds it valid (or nests too deep to scan).
 */
export function syntaxErrorOffset(text: string): number | null {
  const s = new Scanner(text);
  try {
    s.skipSpace();
    s.value();
    s.skipSpace();
    if (s.pos < text.length) return s.pos;
    return null;
  } catch (e) {
    if (e instanceof ScanError) return e.offset;
    return null; // a RangeError from absurd nesting: no position rather than a crash
  }
}

class ScanError {
  constructor(readonly offset: number) {}
}

class Scanner {
  pos = 0;
  constructor(private readonly t: string) {}

  private fail(): never {
    throw new ScanError(this.pos);
  }

  private peek(): string {
    return this.t[this.pos] ?? "";
  }

  skipSpace(): void {
    while (this.pos < this.t.length && " \t\n\r".includes(this.t[this.pos] as string)) this.pos++;
  }

  value(): void {
    const c = this.peek();
    if (c === "{") this.object();
    else if (c === "[") this.array();
    else if (c === '"') this.string();
    else if (c === "-" || (c >= "0" && c <= "9")) this.number();
    else if (!this.literal("true") && !this.literal("false") && !this.literal("null")) this.fail();
  }

  /** true, false, null; a word that only starts like one fails at its start (`nope` is not a broken `null`). */
  private literal(word: string): boolean {
    if (this.peek() !== word[0]) return false;
    if (!this.t.startsWith(word, this.pos)) this.fail();
    this.pos += word.length;
    return true;
  }

  private object(): void {
    this.pos++; // {
    this.skipSpace();
    if (this.peek() === "}") return void this.pos++;
    for (;;) {
      if (this.peek() !== '"') this.fail();
      this.string();
      this.skipSpace();
      if (this.peek() !== ":") this.fail();
      this.pos++;
      this.skipSpace();
      this.value();
      this.skipSpace();
      if (this.peek() === "}") return void this.pos++;
      if (this.peek() !== ",") this.fail();
      this.pos++;
      this.skipSpace();
    }
  }

  private array(): void {
    this.pos++; // [
    this.skipSpace();
    if (this.peek() === "]") return void this.pos++;
    for (;;) {
      this.value();
      this.skipSpace();
      if (this.peek() === "]") return void this.pos++;
      if (this.peek() !== ",") this.fail();
      this.pos++;
      this.skipSpace();
    }
  }

  private string(): void {
    this.pos++; // "
    for (;;) {
      if (this.pos >= this.t.length) this.fail();
      const c = this.t.charCodeAt(this.pos);
      if (c === 0x22) return void this.pos++;
      if (c < 0x20) this.fail();
      if (c === 0x5c) {
        this.pos++;
        const e = this.peek();
        if (e === "u") {
          for (let i = 1; i <= 4; i++) {
            this.pos++;
            if (!/^[0-9a-fA-F]$/.test(this.peek())) this.fail();
          }
        } else if (!'"\\/bfnrt'.includes(e) || e === "") this.fail();
      }
      this.pos++;
    }
  }

  private number(): void {
    if (this.peek() === "-") this.pos++;
    if (this.peek() === "0") this.pos++;
    else this.digits();
    if (this.peek() === ".") {
      this.pos++;
      this.digits();
    }
    if (this.peek() === "e" || this.peek() === "E") {
      this.pos++;
      if (this.peek() === "+" || this.peek() === "-") this.pos++;
      this.digits();
    }
  }

  private digits(): void {
    const start = this.pos;
    while (this.peek() >= "0" && this.peek() <= "9") this.pos++;
    if (this.pos === start) this.fail();
  }
}
