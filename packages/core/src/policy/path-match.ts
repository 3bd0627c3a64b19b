import { InvalidOptionError } from '../errors.js';

// A rule's `match.path` is compiled once, when the configuration is loaded, into a list of segments; a
// request is then matched by walking that list, with no regex built or string joined per request.
//
// Paths are compared as sequences of segments, normalised the same way for patterns and requests:
//   - empty segments are ignored, so a trailing slash, a doubled slash or a missing leading slash in a
//     request path never changes what it matches ("/api/login/" and "//api/login" match "/api/login");
//   - a segment holding "%" is percent-decoded ("%6Cogin" is "login"; an invalid escape is kept as is),
//     and an encoded "/" stays inside its segment;
//   - "." segments are dropped and ".." removes the segment before it (RFC 3986 dot segments).
// A rule should apply whenever some server or proxy in front of the app could route the request to the
// path it names: erring towards a match costs a client a count, erring the other way lets a client walk
// around a login limit by adding a slash.
//
// In a pattern, `*` is exactly one segment and `**` any number of segments, zero included, so
// "/api/search/**" matches "/api/search", "/api/search/" and "/api/search/a/b". Literal segments are
// compared without regard to case: Express, Koa's router and Nest on Express route "/API/Login" to the
// "/api/login" handler by default, so a case-sensitive rule could be walked around by changing case.

const LITERAL = 0;
const ONE = 1;
const ANY = 2;
type SegmentKind = typeof LITERAL | typeof ONE | typeof ANY;

/** A compiled path pattern: tests a request path, or the path's segments split once for many patterns. */
export interface PathMatcher {
  /** The pattern as written. */
  readonly pattern: string;
  /** Whether the request path (without its query string) matches. */
  matches(path: string): boolean;
  /** Whether segments from `pathSegments(path)` match; split a path once when testing it against many rules. */
  matchSegments(segments: readonly string[]): boolean;
}

/** What a pattern is expected to look like, quoted in every error about one. */
const EXPECTED_PATTERN =
  'a path starting with "/", whose segments are literal text, "*" (one segment) or "**" (any number), ' +
  'e.g. "/api/login", "/api/users/*" or "/api/search/**"';

/**
 * Compiles a rule's path pattern (see the comment at the top of this file for its syntax and how paths are
 * normalised); throws InvalidOptionError naming `field` when the pattern is not valid.
 */
export function compilePathPattern(pattern: unknown, field = 'path'): PathMatcher {
  if (typeof pattern !== 'string' || pattern === '') {
    throw new InvalidOptionError(field, pattern, EXPECTED_PATTERN);
  }
  if (!pattern.startsWith('/')) {
    throw new InvalidOptionError(field, pattern, `${EXPECTED_PATTERN}; it must start with "/"`);
  }
  if (/[?#\s]/.test(pattern)) {
    throw new InvalidOptionError(
      field,
      pattern,
      `${EXPECTED_PATTERN}; with no query string, fragment or whitespace (paths are matched without them)`,
    );
  }
  const kinds: SegmentKind[] = [];
  const texts: string[] = [];
  // The root "/" has no segments; one trailing slash is allowed and means nothing, as for request paths.
  let body = pattern.slice(1);
  if (body.endsWith('/')) {
    body = body.slice(0, -1);
    // "//": a trailing slash after nothing is an empty segment.
    if (body === '') throw emptySegment(pattern, field);
  }
  if (body !== '') {
    for (const raw of body.split('/')) {
      const kind = segmentKind(raw, pattern, field);
      // "**/**" matches exactly what "**" does: one of them is the same match with less backtracking.
      if (kind === ANY && kinds[kinds.length - 1] === ANY) continue;
      kinds.push(kind);
      texts.push(kind === LITERAL ? decodeSegment(raw).toLowerCase() : '');
    }
  }
  return new CompiledPath(pattern, kinds, texts);
}

function segmentKind(raw: string, pattern: string, field: string): SegmentKind {
  if (raw === '*') return ONE;
  if (raw === '**') return ANY;
  if (raw === '') throw emptySegment(pattern, field);
  if (raw.includes('*')) {
    throw new InvalidOptionError(
      field,
      pattern,
      `${EXPECTED_PATTERN}; "*" and "**" must be a whole segment, so "${raw}" is not allowed (write "/*" or "/**")`,
    );
  }
  if (raw.startsWith(':') || (raw.startsWith('{') && raw.endsWith('}'))) {
    throw new InvalidOptionError(
      field,
      pattern,
      `${EXPECTED_PATTERN}; "${raw}" looks like a route parameter, which is matched by "*" here`,
    );
  }
  const decoded = decodeSegment(raw);
  if (decoded === '.' || decoded === '..') {
    throw new InvalidOptionError(
      field,
      pattern,
      `${EXPECTED_PATTERN}; with no "." or ".." segment (request paths are resolved before matching)`,
    );
  }
  return LITERAL;
}

function emptySegment(pattern: string, field: string): InvalidOptionError {
  return new InvalidOptionError(field, pattern, `${EXPECTED_PATTERN}; with no empty segment ("//")`);
}

class CompiledPath implements PathMatcher {
  // The request path that matches when written the plain way, for a pattern of literal segments only:
  // most requests to such a route send exactly this, and one string comparison answers them.
  private readonly exact: string | undefined;
  private readonly hasAny: boolean;

  constructor(
    readonly pattern: string,
    private readonly kinds: readonly SegmentKind[],
    private readonly texts: readonly string[],
  ) {
    this.hasAny = kinds.includes(ANY);
    // Only when the plain form splits back into the same segments: a literal holding "/" (from "%2F") or
    // "%" (from "%25") would not.
    const plain = kinds.every((k) => k === LITERAL) && texts.every((t) => !/[/%]/.test(t));
    this.exact = plain ? `/${texts.join('/')}` : undefined;
    Object.freeze(this);
  }

  matches(path: string): boolean {
    if (path === this.exact) return true;
    return this.matchSegments(pathSegments(path));
  }

  matchSegments(segments: readonly string[]): boolean {
    const kinds = this.kinds;
    const texts = this.texts;
    const n = kinds.length;
    if (!this.hasAny) {
      if (segments.length !== n) return false;
      for (let i = 0; i < n; i++) {
        if (kinds[i] === LITERAL && texts[i] !== segments[i]) return false;
      }
      return true;
    }
    // Wildcard matching with one backtrack point, as for "*" in a glob: on a mismatch, the last "**" seen
    // takes one more segment and matching resumes after it. Never worse than segments × pattern length.
    let p = 0;
    let s = 0;
    let anyAt = -1;
    let anyFrom = 0;
    while (s < segments.length) {
      const kind = kinds[p];
      if (p < n && kind !== ANY && (kind === ONE || texts[p] === segments[s])) {
        p++;
        s++;
      } else if (p < n && kind === ANY) {
        anyAt = p++;
        anyFrom = s;
      } else if (anyAt >= 0) {
        p = anyAt + 1;
        s = ++anyFrom;
      } else {
        return false;
      }
    }
    while (p < n && kinds[p] === ANY) p++;
    return p === n;
  }
}

/**
 * A request path's segments as patterns see them: empty segments ignored, "%" escapes decoded, "." and ".."
 * resolved, lower-cased. Split once per request and pass to `matchSegments` of every rule.
 */
export function pathSegments(path: string): string[] {
  const parts = path.split('/');
  const out: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    let part = parts[i]!;
    if (part === '') continue;
    if (part.includes('%')) part = decodeSegment(part);
    if (part === '.') continue;
    if (part === '..') {
      out.pop();
      continue;
    }
    out.push(part.toLowerCase());
  }
  return out;
}

function decodeSegment(segment: string): string {
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    // A malformed escape ("%zz", a lone "%") is compared as written, as a server that fails to decode it
    // would route it.
    return segment;
  }
}

/** Tests a request method against a rule's `match.methods`. */
export type MethodMatcher = (method: string) => boolean;

// An HTTP method is a token (RFC 9110 5.6.2).
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

const ANY_METHOD: MethodMatcher = () => true;

/**
 * Compiles a rule's `match.methods` (undefined: every method) into a matcher. Names are compared upper-case,
 * and a HEAD request matches a rule listing GET, as in `routeScope`: every GET route answers HEAD, and a
 * HEAD must not walk around a GET limit. Throws InvalidOptionError naming `field` (and the index) otherwise.
 */
export function compileMethods(methods: unknown, field = 'methods'): MethodMatcher {
  if (methods === undefined) return ANY_METHOD;
  if (!Array.isArray(methods) || methods.length === 0) {
    throw new InvalidOptionError(
      field,
      methods,
      'a non-empty array of HTTP methods such as ["POST"] (leave it out to match every method)',
    );
  }
  const set = new Set<string>();
  methods.forEach((m: unknown, i) => {
    if (typeof m !== 'string' || !TOKEN.test(m)) {
      throw new InvalidOptionError(`${field}[${i}]`, m, 'an HTTP method name such as "GET" or "POST"');
    }
    set.add(m.toUpperCase());
  });
  if (set.has('GET')) set.add('HEAD');
  // Adapters hand methods upper-case already; only a miss pays for upper-casing.
  return (method) => set.has(method) || set.has(method.toUpperCase());
}
