import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { checkConfigFile, InvalidConfigError, loadConfigFile } from '../src/index.js';
import { parseJsonText } from '../src/policy/config/json-text.js';
import { issueDocument } from './support/config-document.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'distlimiter-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes `text` to a new file in the temporary directory and returns its path. */
function file(name: string, text: string): string {
  const at = path.join(dir, name);
  writeFileSync(at, text);
  return at;
}

const SYNTAX = /^line \d+, column \d+: not valid JSON: expected .+, found .+$/;

describe('loadConfigFile and checkConfigFile', () => {
  it('read and validate a file, a byte-order mark included', async () => {
    const at = file('good.json', `\uFEFF${JSON.stringify(issueDocument(), null, 2)}`);
    expect((await loadConfigFile(at)).defaultTier).toBe('anonymous');
    expect((await checkConfigFile(at)).ok).toBe(true);
  });

  it('throw InvalidConfigError naming the file, with every problem', async () => {
    const doc = issueDocument();
    doc.tiers.free.rate = '10/minnute';
    doc.version = 3;
    const at = file('bad.json', JSON.stringify(doc));
    const error = await loadConfigFile(at).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect((error as InvalidConfigError).source).toBe(at);
    expect((error as InvalidConfigError).problems.map((p) => p.path)).toEqual(['version', 'tiers.free.rate']);
    expect((error as Error).message).toMatch(new RegExp(`^Invalid configuration in ${at} \\(2 problems\\):`));
  });

  it('report a file that cannot be read', async () => {
    const missing = path.join(dir, 'missing.json');
    expect(await checkConfigFile(missing)).toEqual({
      ok: false,
      problems: [
        { path: '', message: `cannot be read: ENOENT: no such file or directory, open '${missing}'` },
      ],
    });
    const result = await checkConfigFile(dir);
    expect(result.ok === false && result.problems[0]!.message).toMatch(/^cannot be read: EISDIR/);
  });

  it('give a JSON syntax error its line and column', async () => {
    const at = file('trailing-comma.json', '{\n  "version": 1,\n  "tiers": {},\n}\n');
    expect(await checkConfigFile(at)).toEqual({
      ok: false,
      problems: [
        {
          path: '',
          message: 'line 4, column 1: not valid JSON: expected a property name in double quotes, found "}"',
        },
      ],
    });
  });

  it('report a key that appears twice in one object, where JSON would keep only the last', async () => {
    const text =
      '{\n  "tiers": {\n    "free": { "rate": "1/s" },\n    "free": { "rate": "2/s" }\n  },\n  "keys": { "secret_key_42": "free", "secret_key_42": "free" }\n}';
    expect(await checkConfigFile(file('twice.json', text))).toEqual({
      ok: false,
      problems: [
        {
          path: 'tiers.free',
          message: 'appears twice in one object (again at line 4, column 5); JSON would keep only the last',
        },
        {
          path: 'keys["sec…"]',
          message: 'appears twice in one object (again at line 6, column 38); JSON would keep only the last',
        },
      ],
    });
  });
});

describe('parseJsonText', () => {
  it('names what it expected and what it found', () => {
    const cases: [string, string][] = [
      [
        '',
        'line 1, column 1: not valid JSON: expected a value (an object, array, string, number, true, false or null), found the end of the text',
      ],
      ['{"a" 1}', 'line 1, column 6: not valid JSON: expected ":" after the property name, found "1"'],
      [
        '[1,2',
        'line 1, column 5: not valid JSON: expected "," or "]" after the array element, found the end of the text',
      ],
      [
        '{"a": 1} x',
        'line 1, column 10: not valid JSON: expected the end of the text after the value, found "x"',
      ],
      [
        '{\n  "a": tru\n}',
        'line 2, column 8: not valid JSON: expected a value (an object, array, string, number, true, false or null), found "t"',
      ],
      [
        '{"a": "\\x"}',
        'line 1, column 9: not valid JSON: expected an escape: \\", \\\\, \\/, \\b, \\f, \\n, \\r, \\t or \\u and 4 hex digits, found "x"',
      ],
      ['[1.]', 'line 1, column 4: not valid JSON: expected a digit, found "]"'],
      [
        '["a\nb"]',
        'line 1, column 4: not valid JSON: expected a closing double quote (a line break or control character in a string is written as an escape such as \\n), found "\\n"',
      ],
    ];
    for (const [text, message] of cases) {
      expect(parseJsonText(text)).toEqual({ ok: false, problems: [{ path: [], message }] });
    }
  });

  it('survives nesting deeper than the stack', () => {
    const deep = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;
    expect(parseJsonText(deep).ok).toBe(true);
    const broken = parseJsonText('['.repeat(200_000));
    expect(broken.ok).toBe(false);
  });

  it('agrees with JSON.parse on every JSON text', () => {
    fc.assert(
      fc.property(fc.json(), (text) => {
        expect(parseJsonText(text)).toEqual({ ok: true, value: JSON.parse(text) });
      }),
      { numRuns: 1000 },
    );
  });

  it('finds an error, with its line and column, exactly when JSON.parse throws', () => {
    // Texts close to JSON: a JSON text with a character deleted, inserted or replaced, or noise.
    const nearJson = fc.oneof(
      fc
        .tuple(
          fc.json(),
          fc.nat(),
          fc.constantFrom('', ',', '}', ']', '"', ':', '\n', '\\', '-', '.', 'e', '0', 'x'),
          fc.nat(2),
        )
        .map(([text, at, char, cut]) => {
          const i = at % (text.length + 1);
          return text.slice(0, i) + char + text.slice(i + cut);
        }),
      fc.string({
        unit: fc.constantFrom('{', '}', '[', ']', '"', ':', ',', '1', '-', '.', 'e', ' ', 'a', '\\', 'u'),
      }),
    );
    fc.assert(
      fc.property(nearJson, (text) => {
        let valid = true;
        try {
          JSON.parse(text);
        } catch {
          valid = false;
        }
        const result = parseJsonText(text);
        if (valid) {
          // A valid text is refused only for a repeated key, never for its syntax.
          if (!result.ok) for (const p of result.problems) expect(p.message).toMatch(/^appears twice/);
        } else {
          expect(result.ok).toBe(false);
          if (!result.ok) expect(result.problems[0]!.message).toMatch(SYNTAX);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
