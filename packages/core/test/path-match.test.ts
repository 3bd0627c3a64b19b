import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { compileMethods, compilePathPattern, pathSegments } from '../src/policy/path-match.js';
import { thrown } from './support/thrown.js';

/** The obvious recursive definition, on segment lists: what the compiled matcher must agree with. */
function reference(pattern: readonly string[], segments: readonly string[]): boolean {
  if (pattern.length === 0) return segments.length === 0;
  const [head, ...rest] = pattern;
  if (head === '**') {
    for (let i = 0; i <= segments.length; i++) if (reference(rest, segments.slice(i))) return true;
    return false;
  }
  if (segments.length === 0) return false;
  return (head === '*' || head === segments[0]) && reference(rest, segments.slice(1));
}

const literal = fc.constantFrom('a', 'b', 'c');
const patternSegments = fc.array(fc.constantFrom('a', 'b', 'c', '*', '**'), { maxLength: 6 });
const pathOf = (segments: readonly string[]) => `/${segments.join('/')}`;

// A path that often matches: each pattern segment replaced by what it could match (or, now and then, not).
const nearPath = (pattern: readonly string[]) =>
  fc
    .tuple(
      ...pattern.map((p) =>
        p === '**'
          ? fc.array(literal, { maxLength: 3 })
          : p === '*'
            ? literal.map((s) => [s])
            : fc.oneof(fc.constant([p]), fc.array(literal, { maxLength: 2 })),
      ),
    )
    .map((parts) => parts.flat());

// The same path written the ways a client might: doubled slashes, a trailing slash, "." and "x/.."
// segments, percent-encoded letters. None of them may change what it matches.
const noisy = (segments: readonly string[]) =>
  fc
    .tuple(
      fc.array(fc.constantFrom('', '/', './', 'zz/../', '%2e/'), {
        minLength: segments.length + 1,
        maxLength: segments.length + 1,
      }),
      fc.array(fc.boolean(), { minLength: segments.length, maxLength: segments.length }),
      fc.boolean(),
    )
    .map(([noise, encode, trailing]) => {
      let out = '';
      segments.forEach((s, i) => {
        out += `/${noise[i]}${encode[i] ? `%${s.charCodeAt(0).toString(16)}` : s}`;
      });
      return `${out}/${noise[segments.length]}${trailing ? '/' : ''}`;
    });

describe('compilePathPattern agrees with the reference definition', () => {
  test('on random patterns and paths', () => {
    fc.assert(
      fc.property(patternSegments, fc.array(literal, { maxLength: 8 }), (pattern, segments) => {
        const m = compilePathPattern(pathOf(pattern));
        expect(m.matches(pathOf(segments))).toBe(reference(pattern, segments));
        expect(m.matchSegments(segments)).toBe(reference(pattern, segments));
      }),
      { numRuns: 2000 },
    );
  });

  test('on paths built to match, and near misses', () => {
    fc.assert(
      fc.property(
        patternSegments.chain((pattern) => fc.tuple(fc.constant(pattern), nearPath(pattern))),
        ([pattern, segments]) => {
          expect(compilePathPattern(pathOf(pattern)).matches(pathOf(segments))).toBe(
            reference(pattern, segments),
          );
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('whatever way the path is written', () => {
    fc.assert(
      fc.property(
        patternSegments.chain((pattern) =>
          fc.tuple(
            fc.constant(pattern),
            nearPath(pattern).chain((segments) => fc.tuple(fc.constant(segments), noisy(segments))),
          ),
        ),
        ([pattern, [segments, written]]) => {
          expect(pathSegments(written)).toEqual(segments);
          expect(compilePathPattern(pathOf(pattern)).matches(written)).toBe(reference(pattern, segments));
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('a trailing slash on the pattern changes nothing', () => {
    fc.assert(
      fc.property(patternSegments, fc.array(literal, { maxLength: 6 }), (pattern, segments) => {
        const plain = compilePathPattern(pathOf(pattern));
        const slashed = compilePathPattern(`${pathOf(pattern)}/`.replace(/^\/\/$/, '/'));
        expect(slashed.matches(pathOf(segments))).toBe(plain.matches(pathOf(segments)));
      }),
    );
  });
});

describe('path patterns', () => {
  test('"**" is any number of segments, zero included', () => {
    const m = compilePathPattern('/api/search/**');
    for (const p of ['/api/search', '/api/search/', '/api/search/a', '/api/search/a/b/c']) {
      expect(m.matches(p), p).toBe(true);
    }
    for (const p of ['/api/searchx', '/api', '/api/searc', '/x/api/search', '/']) {
      expect(m.matches(p), p).toBe(false);
    }
    const middle = compilePathPattern('/a/**/b');
    expect(['/a/b', '/a/x/b', '/a/x/y/b', '/a/b/b'].map((p) => middle.matches(p))).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect(['/a/b/c', '/a', '/b'].map((p) => middle.matches(p))).toEqual([false, false, false]);
    const all = compilePathPattern('/**');
    expect(['/', '', '/a', '/a/b/c'].every((p) => all.matches(p))).toBe(true);
  });

  test('"*" is exactly one non-empty segment', () => {
    const m = compilePathPattern('/api/users/*');
    expect(m.matches('/api/users/42')).toBe(true);
    expect(m.matches('/api/users/42/')).toBe(true);
    expect(m.matches('/api/users')).toBe(false);
    expect(m.matches('/api/users/')).toBe(false);
    expect(m.matches('/api/users//')).toBe(false);
    expect(m.matches('/api/users/42/posts')).toBe(false);
    expect(compilePathPattern('/*/x').matches('/a/x')).toBe(true);
    expect(compilePathPattern('/*/x').matches('//x')).toBe(false);
  });

  // Express and Koa's router route any case to a lower-case route by default: a rule must follow them.
  test('literal segments match whatever their case, and nothing longer or shorter', () => {
    const m = compilePathPattern('/api/login');
    expect(m.matches('/api/login')).toBe(true);
    expect(m.matches('/API/login')).toBe(true);
    expect(m.matches('/api/Login')).toBe(true);
    expect(compilePathPattern('/API/Search/**').matches('/api/search/Q')).toBe(true);
    expect(m.matches('/api/login2')).toBe(false);
    expect(m.matches('/api/log')).toBe(false);
    expect(m.matches('/api')).toBe(false);
    expect(m.pattern).toBe('/api/login');
  });

  test('empty segments, dot segments and escapes in the request path change nothing', () => {
    const m = compilePathPattern('/api/login');
    for (const p of [
      '/api/login/',
      '//api/login',
      '/api//login',
      'api/login',
      '/api/./login',
      '/api/public/../login',
      '/../api/login',
      '/api/%6Cogin',
      '/%61pi/login',
      '/api/login/x/..',
    ]) {
      expect(m.matches(p), p).toBe(true);
    }
    // An encoded slash stays inside its segment; a malformed escape is compared as written.
    expect(m.matches('/api%2Flogin')).toBe(false);
    expect(compilePathPattern('/a%2Fb').matches('/a%2fb')).toBe(true);
    expect(compilePathPattern('/a%2Fb').matches('/a/b')).toBe(false);
    expect(compilePathPattern('/100%').matches('/100%')).toBe(true);
    expect(compilePathPattern('/100%25').matches('/100%')).toBe(true);
    expect(compilePathPattern('/100%25').matches('/100%25')).toBe(true);
    expect(compilePathPattern('/caf%C3%A9').matches('/café')).toBe(true);
  });

  test('the root pattern matches only the root', () => {
    const m = compilePathPattern('/');
    expect(['/', '', '//', '/./', '/a/..'].every((p) => m.matches(p))).toBe(true);
    expect(m.matches('/a')).toBe(false);
  });

  test('pathSegments splits once for many rules', () => {
    expect(pathSegments('/api/v1//users/./42/')).toEqual(['api', 'v1', 'users', '42']);
    expect(pathSegments('/')).toEqual([]);
    expect(pathSegments('/a/b/../../..')).toEqual([]);
    const segments = pathSegments('/api/search/q');
    expect(compilePathPattern('/api/search/**').matchSegments(segments)).toBe(true);
    expect(compilePathPattern('/api/login').matchSegments(segments)).toBe(false);
  });

  test('the compiled matcher is frozen', () => {
    expect(Object.isFrozen(compilePathPattern('/a/**'))).toBe(true);
  });
});

describe('invalid path patterns throw InvalidOptionError naming the field and the value', () => {
  test.each([
    ['', 'a path starting with "/"'],
    ['api/login', 'must start with "/"'],
    ['/a**b', '"a**b" is not allowed'],
    ['/a/b*', '"b*" is not allowed'],
    ['/**x', '"**x" is not allowed'],
    ['/a/***', '"***" is not allowed'],
    ['/a//b', 'no empty segment'],
    ['//', 'no empty segment'],
    ['/a//', 'no empty segment'],
    ['/a?b=1', 'no query string'],
    ['/a#b', 'no query string'],
    [' /a', 'must start with'],
    ['/a b', 'whitespace'],
    ['/users/:id', 'route parameter'],
    ['/users/{id}', 'route parameter'],
    ['/a/./b', 'no "." or ".."'],
    ['/a/..', 'no "." or ".."'],
    ['/a/%2e%2E', 'no "." or ".."'],
  ])('%j', (pattern, expected) => {
    const e = thrown(() => compilePathPattern(pattern, 'rules[0].match.path'));
    expect(e.field).toBe('rules[0].match.path');
    expect(e.value).toBe(pattern);
    expect(e.code).toBe('ERR_DL_OPTION');
    expect(e.message).toContain(`Invalid rules[0].match.path: got ${JSON.stringify(pattern)}`);
    expect(e.message).toContain(expected);
  });

  test('a value that is not a string', () => {
    for (const v of [undefined, null, 42, ['/a'], { path: '/a' }]) {
      const e = thrown(() => compilePathPattern(v));
      expect(e.field).toBe('path');
      expect(e.message).toContain('a path starting with "/"');
    }
  });
});

describe('compileMethods', () => {
  test('no list matches every method', () => {
    const any = compileMethods(undefined);
    expect(['GET', 'POST', 'DELETE', 'PROPFIND'].every(any)).toBe(true);
  });

  test('listed methods, compared upper-case', () => {
    const post = compileMethods(['post', 'Put']);
    expect(post('POST')).toBe(true);
    expect(post('PUT')).toBe(true);
    expect(post('post')).toBe(true);
    expect(post('GET')).toBe(false);
    expect(post('HEAD')).toBe(false);
  });

  test('HEAD matches a rule listing GET, as in routeScope; GET does not match a rule listing HEAD', () => {
    expect(compileMethods(['GET'])('HEAD')).toBe(true);
    expect(compileMethods(['GET'])('head')).toBe(true);
    expect(compileMethods(['HEAD'])('HEAD')).toBe(true);
    expect(compileMethods(['HEAD'])('GET')).toBe(false);
  });

  test('invalid lists throw InvalidOptionError naming the field and index', () => {
    for (const v of [[], 'POST', null, { POST: true }]) {
      const e = thrown(() => compileMethods(v, 'rules[1].match.methods'));
      expect(e.field).toBe('rules[1].match.methods');
      expect(e.message).toContain('a non-empty array of HTTP methods');
    }
    for (const [v, i] of [
      [['GET', ''], 1],
      [['PO ST'], 0],
      [['GET', 'POST', 7], 2],
      [['GET/'], 0],
    ] as const) {
      const e = thrown(() => compileMethods(v, 'methods'));
      expect(e.field).toBe(`methods[${i}]`);
      expect(e.message).toContain('an HTTP method name');
    }
  });
});
