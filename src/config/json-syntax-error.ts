/**
 * Finds where a JSON text stops being JSON, with line and column. Runs only
 * after JSON.parse has failed: V8's messages name a position for some errors
 * and not others ("Unexpected token ']', ... is not valid JSON"), and differ
 * between Node versions, so the config layer words its own.
 */

export interface JsonSyntaxProblem {
  /** 0-based offset into the text. */
  offset: number;
  /** 1-based line and column (columns count UTF-16 units, like editors). */
  line: number;
  column: number;
  message: string;
  hint?: string;
}

class Stop {
  constructor(readonly offset: number, readonly message: string, readonly hint?: string) {}
}

/** The first syntax error in text, or undefined when text is valid JSON. */
export function findJsonSyntaxError(text: string): JsonSyntaxProblem | undefined {
  const scanner = new Scanner(text);
  try {
    scanner.skipSpace();
    scanner.value();
    scanner.skipSpace();
    if (scanner.pos < text.length) throw new Stop(scanner.pos, `unexpected ${scanner.describeAt(scanner.pos)} after the end of the JSON value`);
    return undefined;
  } catch (error) {
    if (!(error instanceof Stop)) throw error;
    const { line, column } = lineAndColumn(text, error.offset);
    return { offset: error.offset, line, column, message: error.message, ...(error.hint === undefined ? {} : { hint: error.hint }) };
  }
}

export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

class Scanner {
  pos = 0;
  constructor(private readonly text: string) {}

  describeAt(offset: number): string {
    if (offset >= this.text.length) return 'end of input';
    return `character ${JSON.stringify(this.text[offset])}`;
  }

  skipSpace(): void {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t[this.pos];
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r') this.pos++;
      else if (c === '/' && (t[this.pos + 1] === '/' || t[this.pos + 1] === '*')) {
        throw new Stop(this.pos, 'comments are not allowed in JSON', 'remove the comment');
      } else return;
    }
  }

  value(): void {
    const t = this.text;
    const c = t[this.pos];
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"') return this.string();
    if (c === '-' || (c >= '0' && c <= '9')) return this.number();
    for (const word of ['true', 'false', 'null']) {
      if (t.startsWith(word, this.pos)) {
        this.pos += word.length;
        return;
      }
    }
    if (c === "'") throw new Stop(this.pos, 'strings must use double quotes', 'replace \' with "');
    throw new Stop(this.pos, `unexpected ${this.describeAt(this.pos)}, expected a value`);
  }

  private object(): void {
    this.pos++; // {
    this.skipSpace();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return;
    }
    for (;;) {
      const c = this.text[this.pos];
      if (c !== '"') {
        if (c === "'") throw new Stop(this.pos, 'property names must use double quotes', 'replace \' with "');
        throw new Stop(this.pos, `unexpected ${this.describeAt(this.pos)}, expected a double-quoted property name`);
      }
      this.string();
      this.skipSpace();
      if (this.text[this.pos] !== ':') throw new Stop(this.pos, `unexpected ${this.describeAt(this.pos)}, expected ':' after the property name`);
      this.pos++;
      this.skipSpace();
      this.value();
      this.skipSpace();
      const next = this.text[this.pos];
      if (next === '}') {
        this.pos++;
        return;
      }
      if (next !== ',') {
        const hint = next === '"' ? 'add a comma after the previous value' : undefined;
        throw new Stop(this.pos, `unexpected ${this.describeAt(this.pos)}, expected ',' or '}' after a property value`, hint);
      }
      const comma = this.pos;
      this.pos++;
      this.skipSpace();
      if (this.text[this.pos] === '}') throw new Stop(comma, "trailing comma before '}'", 'remove the comma');
    }
  }

  private array(): void {
    this.pos++; // [
    this.skipSpace();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return;
    }
    for (;;) {
      this.value();
      this.skipSpace();
      const next = this.text[this.pos];
      if (next === ']') {
        this.pos++;
        return;
      }
      if (next !== ',') throw new Stop(this.pos, `unexpected ${this.describeAt(this.pos)}, expected ',' or ']' after an array item`);
      const comma = this.pos;
      this.pos++;
      this.skipSpace();
      if (this.text[this.pos] === ']') throw new Stop(comma, "trailing comma before ']'", 'remove the comma');
    }
  }

  private string(): void {
    const t = this.text;
    const start = this.pos;
    this.pos++; // opening quote
    while (this.pos < t.length) {
      const code = t.charCodeAt(this.pos);
      if (code === 0x22) {
        this.pos++;
        return;
      }
      if (code === 0x5c) {
        const escape = t[this.pos + 1];
        if (escape === 'u') {
          if (!/^[0-9A-Fa-f]{4}$/.test(t.slice(this.pos + 2, this.pos + 6))) throw new Stop(this.pos, 'invalid \\u escape in string');
          this.pos += 6;
        } else if (escape !== undefined && '"\\/bfnrt'.includes(escape)) {
          this.pos += 2;
        } else {
          throw new Stop(this.pos, `invalid escape ${JSON.stringify('\\' + (escape ?? ''))} in string`);
        }
        continue;
      }
      // RFC 8259 section 7: control characters must be escaped.
      if (code < 0x20) throw new Stop(this.pos, code === 10 ? 'unterminated string (a newline inside a string must be written \\n)' : 'control character in string');
      this.pos++;
    }
    throw new Stop(start, 'unterminated string');
  }

  private number(): void {
    const match = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(this.text.slice(this.pos, this.pos + 400));
    if (match === null) throw new Stop(this.pos, 'invalid number');
    this.pos += match[0].length;
  }
}
