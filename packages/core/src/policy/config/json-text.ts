// JSON.parse says where a text is broken only sometimes (Node 20 gives an offset for most errors and a
// quoted snippet for others, which may hold an API key), and it silently keeps the last of two equal keys,
// so a key listed twice with two tiers would lose one without a word. This scanner walks the text once to
// give every syntax error a line and column, and to find repeated keys. JSON.parse still builds the value.

/** A problem in a JSON text: its path in the value (for a repeated key) and a message with line and column. */
export interface JsonTextProblem {
  readonly path: (string | number)[];
  readonly message: string;
}

/** Parses JSON text: the value, or the syntax error (with line and column) and every repeated key. */
export function parseJsonText(
  text: string,
): { ok: true; value: unknown } | { ok: false; problems: JsonTextProblem[] } {
  const source = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const scanner = new Scanner(source);
  let value: unknown;
  try {
    value = JSON.parse(source);
  } catch (error) {
    const found = scanner.syntaxError();
    const message = found ?? `${where(source, source.length)}: not valid JSON (${(error as Error).message})`;
    return { ok: false, problems: [{ path: [], message }] };
  }
  const repeats = scanner.repeatedKeys();
  return repeats.length ? { ok: false, problems: repeats } : { ok: true, value };
}

/** "line L, column C" of an offset, both counted from 1. */
function where(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return `line ${line}, column ${offset - before.lastIndexOf('\n')}`;
}

class SyntaxProblem {
  constructor(
    readonly offset: number,
    readonly expected: string,
  ) {}
}

const WHITESPACE = new Set([' ', '\t', '\n', '\r']);
const ESCAPES = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't']);
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

class Scanner {
  private pos = 0;
  private readonly repeats: JsonTextProblem[] = [];

  constructor(private readonly text: string) {}

  /** The first syntax error as a message with line and column, or undefined when the text is JSON. */
  syntaxError(): string | undefined {
    try {
      this.document();
      return undefined;
    } catch (error) {
      // A RangeError from nesting deeper than the stack: JSON.parse's own message will do.
      if (!(error instanceof SyntaxProblem)) return undefined;
      const found = this.text[error.offset];
      const what = found === undefined ? 'the end of the text' : JSON.stringify(found);
      return `${where(this.text, error.offset)}: not valid JSON: expected ${error.expected}, found ${what}`;
    }
  }

  /** Every key that appears twice in one object, at the second appearance. */
  repeatedKeys(): JsonTextProblem[] {
    try {
      this.document();
    } catch {
      // JSON.parse accepted the text; a disagreement here is this scanner's fault, not the user's.
      return [];
    }
    return this.repeats;
  }

  private document(): void {
    this.pos = 0;
    this.repeats.length = 0;
    this.value([]);
    this.skipWhitespace();
    if (this.pos < this.text.length) throw new SyntaxProblem(this.pos, 'the end of the text after the value');
  }

  private skipWhitespace(): void {
    while (WHITESPACE.has(this.text[this.pos] ?? '')) this.pos++;
  }

  private value(path: (string | number)[]): void {
    this.skipWhitespace();
    const c = this.text[this.pos];
    if (c === '{') this.object(path);
    else if (c === '[') this.array(path);
    else if (c === '"') this.string();
    else if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) this.number();
    else if (!this.literal('true') && !this.literal('false') && !this.literal('null')) {
      throw new SyntaxProblem(this.pos, 'a value (an object, array, string, number, true, false or null)');
    }
  }

  private object(path: (string | number)[]): void {
    this.pos++;
    const seen = new Set<string>();
    this.skipWhitespace();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return;
    }
    for (;;) {
      this.skipWhitespace();
      if (this.text[this.pos] !== '"') throw new SyntaxProblem(this.pos, 'a property name in double quotes');
      const at = this.pos;
      const key = JSON.parse(this.text.slice(at, this.string())) as string;
      if (seen.has(key)) {
        this.repeats.push({
          path: [...path, key],
          message: `appears twice in one object (again at ${where(this.text, at)}); JSON would keep only the last`,
        });
      }
      seen.add(key);
      this.expect(':', '":" after the property name');
      this.value([...path, key]);
      this.skipWhitespace();
      if (this.text[this.pos] === '}') {
        this.pos++;
        return;
      }
      this.expect(',', '"," or "}" after the property value');
    }
  }

  private array(path: (string | number)[]): void {
    this.pos++;
    this.skipWhitespace();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return;
    }
    for (let i = 0; ; i++) {
      this.value([...path, i]);
      this.skipWhitespace();
      if (this.text[this.pos] === ']') {
        this.pos++;
        return;
      }
      this.expect(',', '"," or "]" after the array element');
    }
  }

  /** Scans a string starting at the opening quote; returns the offset just after the closing one. */
  private string(): number {
    this.pos++;
    for (;;) {
      const c = this.text[this.pos];
      if (c === undefined) throw new SyntaxProblem(this.pos, 'a closing double quote');
      if (c === '"') return ++this.pos;
      if (c < ' ') {
        throw new SyntaxProblem(
          this.pos,
          'a closing double quote (a line break or control character in a string is written as an escape such as \\n)',
        );
      }
      if (c === '\\') {
        const e = this.text[this.pos + 1] ?? '';
        if (ESCAPES.has(e)) this.pos += 2;
        else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(this.text.slice(this.pos + 2, this.pos + 6)))
          this.pos += 6;
        else
          throw new SyntaxProblem(
            this.pos + 1,
            'an escape: \\", \\\\, \\/, \\b, \\f, \\n, \\r, \\t or \\u and 4 hex digits',
          );
      } else this.pos++;
    }
  }

  private number(): void {
    NUMBER.lastIndex = this.pos;
    const match = NUMBER.exec(this.text);
    if (!match) throw new SyntaxProblem(this.pos + 1, 'a digit');
    const end = this.pos + match[0].length;
    // "1." or "1e" stop the pattern early; name the character that broke the number.
    if (/[.eE]/.test(this.text[end] ?? '')) throw new SyntaxProblem(end + 1, 'a digit');
    this.pos = end;
  }

  private literal(word: string): boolean {
    if (!this.text.startsWith(word, this.pos)) return false;
    this.pos += word.length;
    return true;
  }

  private expect(char: string, expected: string): void {
    this.skipWhitespace();
    if (this.text[this.pos] !== char) throw new SyntaxProblem(this.pos, expected);
    this.pos++;
  }
}
