import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ConfigProblem,
  checkConfig,
  DistLimiterError,
  InvalidConfigError,
  parseConfig,
} from '../src/index.js';
import { EXPECTED_RATE } from '../src/errors.js';
import { type Doc, hashOf, issueDocument, PRO_KEY } from './support/config-document.js';

const RATE = EXPECTED_RATE;
const RATES = `${RATE}, or a non-empty list of such rates`;
const NAME = 'a name of letters, digits, "_" and "-" that starts with a letter or digit (at most 64)';
const TIERS = 'tiers: anonymous, free, pro, enterprise';
const METHODS = 'one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, CONNECT, TRACE';
const PATTERN =
  'a path starting with "/", whose segments are literal text, "*" (one segment) or "**" (any number), ' +
  'e.g. "/api/login", "/api/users/*" or "/api/search/**"';
const KEY_BY = '"key" (the tier\'s identity), "ip" or { "header": name }';

/** The problems checkConfig finds in `doc` after `change`, or [] when it is valid. */
function problemsAfter(change: (doc: Doc) => void): ConfigProblem[] {
  const doc = issueDocument();
  change(doc);
  const result = checkConfig(doc);
  return result.ok ? [] : result.problems;
}

describe('the configuration document', () => {
  it("accepts the issue's document and returns it with defaults filled in", () => {
    const doc = issueDocument();
    const config = parseConfig(doc);
    expect(config.tiers).toEqual(doc.tiers);
    expect(config.keys).toEqual(doc.keys);
    expect(config.rules[0]).toEqual({ ...doc.rules[0], cost: 1, mode: 'enforce' });
    expect(config.rules[1]).toEqual({ ...doc.rules[1], keyBy: 'key' });
    expect(doc).toEqual(issueDocument()); // the input is not changed
  });

  it('fills in every default of a minimal document, a fresh copy each time', () => {
    const minimal = { version: 1, defaultTier: 'free', tiers: { free: { rate: '10/minute' } } };
    const a = parseConfig(minimal);
    expect(a).toEqual({
      version: 1,
      keyBy: { header: 'x-api-key' },
      defaultTier: 'free',
      unknownKey: 'reject',
      tiers: { free: { rate: '10/minute' } },
      keys: {},
      rules: [],
    });
    a.keyBy.header = 'changed';
    a.rules.push(a.rules[0]!);
    a.keys.k = 'free';
    expect(parseConfig(minimal)).toEqual({ ...a, keyBy: { header: 'x-api-key' }, rules: [], keys: {} });
  });

  it('accepts every valid form of the optional fields', () => {
    const problems = problemsAfter((d) => {
      d.$schema = './node_modules/@distlimiter/core/schema/distlimiter.schema.json';
      d.unknownKey = 'default';
      d.keyBy = { header: 'Authorization' };
      d.tiers.free.shed = true;
      d.tiers.anonymous.burst = 5;
      d.tiers.anonymous.degraded = '1/30s';
      d.rules[0].keyBy = { header: 'x-user' };
      d.rules[0].match = { methods: ['GET', 'HEAD', 'DELETE'] };
      d.rules[1].keyBy = 'key';
      d.rules[1].mode = 'enforce';
      d.rules.push({ id: 'users_1', match: { path: '/api/users/*/posts/**' }, rate: ['10/s', '100/minute'] });
      d.keys[hashOf('another key')] = 'enterprise';
      d.keys['key with inner spaces'] = 'free';
    });
    expect(problems).toEqual([]);
  });

  // One mistake each: the exact path and message it gets, and nothing else.
  const cases: [string, (d: Doc) => void, string, string][] = [
    [
      'the example of the issue',
      (d) => {
        d.tiers.free.rate = '10/minnute';
      },
      'tiers.free.rate',
      `"10/minnute" is not ${RATE}`,
    ],
    [
      'a version other than 1',
      (d) => {
        d.version = 2;
      },
      'version',
      '2 is not 1, the version of the document format this release reads',
    ],
    [
      'no version',
      (d) => {
        delete d.version;
      },
      'version',
      'missing; expected 1, the version of the document format this release reads',
    ],
    [
      'a $schema that is no string',
      (d) => {
        d.$schema = 5;
      },
      '$schema',
      '5 is not the path or URL of a JSON Schema',
    ],
    [
      'an unknown field, with a suggestion',
      (d) => {
        d.rule = [];
      },
      'rule',
      'no such field (did you mean "rules"?); known fields: $schema, version, keyBy, defaultTier, unknownKey, tiers, keys, rules',
    ],
    [
      'keyBy as a string',
      (d) => {
        d.keyBy = 'x-api-key';
      },
      'keyBy',
      '"x-api-key" is not an object like { "header": "x-api-key" }',
    ],
    [
      'keyBy with no header',
      (d) => {
        d.keyBy = {};
      },
      'keyBy.header',
      'missing; expected an HTTP header name such as "x-api-key"',
    ],
    [
      'keyBy naming no header',
      (d) => {
        d.keyBy = { header: 'x api key' };
      },
      'keyBy.header',
      '"x api key" is not an HTTP header name such as "x-api-key"',
    ],
    [
      'keyBy with another field',
      (d) => {
        d.keyBy.query = 'key';
      },
      'keyBy.query',
      'no such field; known fields: header',
    ],
    [
      'no defaultTier',
      (d) => {
        delete d.defaultTier;
      },
      'defaultTier',
      'missing; expected the name of a tier of this document',
    ],
    [
      'a defaultTier that is no string',
      (d) => {
        d.defaultTier = 1;
      },
      'defaultTier',
      '1 is not the name of a tier of this document',
    ],
    [
      'a defaultTier that names no tier',
      (d) => {
        d.defaultTier = 'anonymus';
      },
      'defaultTier',
      `"anonymus" is not a tier of this document (did you mean "anonymous"?); ${TIERS}`,
    ],
    [
      'an unknownKey of neither kind',
      (d) => {
        d.unknownKey = 'deny';
      },
      'unknownKey',
      '"deny" is not "reject" or "default"',
    ],
    [
      'no tiers',
      (d) => {
        delete d.tiers;
      },
      'tiers',
      'missing; expected an object of tiers by name, e.g. { "free": { "rate": "10/minute" } }',
    ],
    [
      'tiers as a list',
      (d) => {
        d.tiers = [d.tiers.free];
      },
      'tiers',
      'array of 1 is not an object of tiers by name, e.g. { "free": { "rate": "10/minute" } }',
    ],
    [
      'a tier name with a space',
      (d) => {
        d.tiers['gold tier'] = { rate: '1/s' };
      },
      'tiers["gold tier"]',
      `"gold tier" is not ${NAME}`,
    ],
    [
      'a tier that is no object',
      (d) => {
        d.tiers.gold = '1/s';
      },
      'tiers.gold',
      '"1/s" is not a tier object such as { "rate": "10/minute" }',
    ],
    [
      'a tier with no rate',
      (d) => {
        delete d.tiers.pro.rate;
      },
      'tiers.pro.rate',
      `missing; expected ${RATES}`,
    ],
    [
      'a rate that is a number',
      (d) => {
        d.tiers.pro.rate = 100;
      },
      'tiers.pro.rate',
      `100 is not ${RATES}`,
    ],
    [
      'an empty list of rates',
      (d) => {
        d.tiers.enterprise.rate = [];
      },
      'tiers.enterprise.rate',
      `is empty; expected ${RATES}`,
    ],
    [
      'a bad rate in a list',
      (d) => {
        d.tiers.enterprise.rate[1] = '100000/dya';
      },
      'tiers.enterprise.rate[1]',
      `"100000/dya" is not ${RATE}`,
    ],
    [
      'a number in a list of rates',
      (d) => {
        d.tiers.enterprise.rate[0] = 1000;
      },
      'tiers.enterprise.rate[0]',
      `1000 is not ${RATE}`,
    ],
    [
      'a rate of zero',
      (d) => {
        d.tiers.pro.rate = '0/minute';
      },
      'tiers.pro.rate',
      `"0/minute" is not ${RATE}`,
    ],
    [
      'a burst of zero',
      (d) => {
        d.tiers.free.burst = 0;
      },
      'tiers.free.burst',
      '0 is not a positive integer',
    ],
    [
      'a fractional burst',
      (d) => {
        d.tiers.free.burst = 20.5;
      },
      'tiers.free.burst',
      '20.5 is not a positive integer',
    ],
    [
      'a burst as a string',
      (d) => {
        d.tiers.free.burst = '20';
      },
      'tiers.free.burst',
      '"20" is not a positive integer',
    ],
    [
      'a burst below the rate',
      (d) => {
        d.tiers.pro.burst = 99;
      },
      'tiers.pro.burst',
      '99 is below the count of "100/minute": the bucket holds at least 100, the rate\'s count',
    ],
    [
      'a burst with a list of rates',
      (d) => {
        d.tiers.enterprise.burst = 2000;
      },
      'tiers.enterprise.burst',
      'is for a single rate; with a list of rates each limit holds its own count (leave "burst" out, or give one rate)',
    ],
    [
      'a degraded rate that does not parse',
      (d) => {
        d.tiers.free.degraded = '2 per minute';
      },
      'tiers.free.degraded',
      `"2 per minute" is not ${RATE}`,
    ],
    [
      'a degraded list',
      (d) => {
        d.tiers.free.degraded = ['2/minute'];
      },
      'tiers.free.degraded',
      `array of 1 is not ${RATE}`,
    ],
    [
      'a shed that is no boolean',
      (d) => {
        d.tiers.free.shed = 'yes';
      },
      'tiers.free.shed',
      '"yes" is not true or false',
    ],
    [
      'a misspelt tier field',
      (d) => {
        d.tiers.free.brust = 30;
      },
      'tiers.free.brust',
      'no such field (did you mean "burst"?); known fields: rate, burst, degraded, shed',
    ],
    [
      'keys as a list',
      (d) => {
        d.keys = ['demo_free_key_123'];
      },
      'keys',
      'array of 1 is not an object mapping API keys to tier names',
    ],
    [
      'a key whose tier does not exist',
      (d) => {
        d.keys.demo_free_key_123 = 'fre';
      },
      'keys["demo…"]',
      `"fre" is not a tier of this document (did you mean "free"?); ${TIERS}`,
    ],
    [
      'a key whose tier is no string',
      (d) => {
        d.keys.demo_free_key_123 = 2;
      },
      'keys["demo…"]',
      '2 is not the name of a tier of this document',
    ],
    [
      'a hash in upper case',
      (d) => {
        d.keys[hashOf('k').toUpperCase()] = 'pro';
      },
      'keys["SHA2…"]',
      'is not a key hash: "sha256:" must be followed by the 64 lowercase hex digits of the key\'s SHA-256',
    ],
    [
      'a short hash',
      (d) => {
        d.keys['sha256:abc123'] = 'pro';
      },
      'keys["sha…"]',
      'is not a key hash: "sha256:" must be followed by the 64 lowercase hex digits of the key\'s SHA-256',
    ],
    [
      'an empty key',
      (d) => {
        d.keys[''] = 'pro';
      },
      'keys["…"]',
      'is empty; expected an API key, or "sha256:" and the hex SHA-256 of one',
    ],
    [
      'a key with a trailing space',
      (d) => {
        d.keys['padded_key_1 '] = 'pro';
      },
      'keys["pad…"]',
      'has leading or trailing whitespace or a control character, which no header value carries',
    ],
    [
      'a key with a control character',
      (d) => {
        d.keys['tab\tinside_key'] = 'pro';
      },
      'keys["tab…"]',
      'has leading or trailing whitespace or a control character, which no header value carries',
    ],
    [
      'a key over 1024 characters',
      (d) => {
        d.keys['k'.repeat(1025)] = 'pro';
      },
      'keys["kkkk…"]',
      'is 1025 characters long; a raw key has at most 1024 (list its "sha256:" hash instead)',
    ],
    [
      'a key listed raw and hashed with two tiers',
      (d) => {
        d.keys[PRO_KEY] = 'free';
      },
      `keys["${hashOf(PRO_KEY).slice(0, 19)}…"]`,
      'is the hash of the key also listed as keys["pro_…"], with another tier ("free"); a key has one tier',
    ],
    [
      'rules as an object',
      (d) => {
        d.rules = { login: d.rules[0] };
      },
      'rules',
      'an object is not a list of rules',
    ],
    [
      'a rule that is no object',
      (d) => {
        d.rules[1] = 'search';
      },
      'rules[1]',
      '"search" is not a rule object such as { "id": "login", "match": { "path": "/api/login" }, "rate": "3/minute" }',
    ],
    [
      'a rule with no id',
      (d) => {
        delete d.rules[0].id;
      },
      'rules[0].id',
      `missing; expected ${NAME}`,
    ],
    [
      'a rule id with a slash',
      (d) => {
        d.rules[0].id = 'api/login';
      },
      'rules[0].id',
      `"api/login" is not ${NAME}`,
    ],
    [
      'two rules with one id',
      (d) => {
        d.rules[1].id = 'login';
      },
      'rules[1].id',
      '"login" is also the id of rules[0]; each rule needs its own id',
    ],
    [
      'a rule with no match',
      (d) => {
        delete d.rules[0].match;
      },
      'rules[0].match',
      'missing; expected an object with "path", "methods" or both, e.g. { "path": "/api/login" }',
    ],
    [
      'a match for every request',
      (d) => {
        d.rules[0].match = {};
      },
      'rules[0].match',
      'names no "path" and no "methods", so it would match every request; a limit on every request is a tier\'s rate',
    ],
    [
      'a misspelt match field',
      (d) => {
        d.rules[1].match = { paths: '/api/search/**' };
      },
      'rules[1].match.paths',
      'no such field (did you mean "path"?); known fields: methods, path',
    ],
    [
      'methods as a string',
      (d) => {
        d.rules[0].match.methods = 'POST';
      },
      'rules[0].match.methods',
      '"POST" is not a non-empty list of HTTP methods such as ["POST"] (leave it out for every method)',
    ],
    [
      'no methods in the list',
      (d) => {
        d.rules[0].match.methods = [];
      },
      'rules[0].match.methods',
      'is empty; expected a non-empty list of HTTP methods such as ["POST"] (leave it out for every method)',
    ],
    [
      'a method in lower case',
      (d) => {
        d.rules[0].match.methods = ['post'];
      },
      'rules[0].match.methods[0]',
      `"post" is not an HTTP method (did you mean "POST"?): ${METHODS}`,
    ],
    [
      'a method that does not exist',
      (d) => {
        d.rules[0].match.methods = ['POST', 'PURGE'];
      },
      'rules[0].match.methods[1]',
      `"PURGE" is not an HTTP method: ${METHODS}`,
    ],
    [
      'a method listed twice',
      (d) => {
        d.rules[0].match.methods = ['POST', 'PUT', 'POST'];
      },
      'rules[0].match.methods[2]',
      '"POST" is listed twice',
    ],
    [
      'a path that is no string',
      (d) => {
        d.rules[0].match.path = ['/api/login'];
      },
      'rules[0].match.path',
      'array of 1 is not a path pattern such as "/api/login" or "/api/search/**"',
    ],
    [
      'a path without its leading slash',
      (d) => {
        d.rules[0].match.path = 'api/login';
      },
      'rules[0].match.path',
      `"api/login" is not ${PATTERN}; it must start with "/"`,
    ],
    [
      'a wildcard inside a segment',
      (d) => {
        d.rules[1].match.path = '/api/search*';
      },
      'rules[1].match.path',
      `"/api/search*" is not ${PATTERN}; "*" and "**" must be a whole segment, so "search*" is not allowed (write "/*" or "/**")`,
    ],
    [
      'a route parameter',
      (d) => {
        d.rules[1].match.path = '/api/users/:id';
      },
      'rules[1].match.path',
      `"/api/users/:id" is not ${PATTERN}; ":id" looks like a route parameter, which is matched by "*" here`,
    ],
    [
      'a query string in a path',
      (d) => {
        d.rules[1].match.path = '/api/search?q=1';
      },
      'rules[1].match.path',
      `"/api/search?q=1" is not ${PATTERN}; with no query string, fragment or whitespace (paths are matched without them)`,
    ],
    [
      'a rule with no rate',
      (d) => {
        delete d.rules[0].rate;
      },
      'rules[0].rate',
      `missing; expected ${RATES}`,
    ],
    [
      'a rule rate that does not parse',
      (d) => {
        d.rules[0].rate = '3/mins/';
      },
      'rules[0].rate',
      `"3/mins/" is not ${RATE}`,
    ],
    [
      'a cost of zero',
      (d) => {
        d.rules[1].cost = 0;
      },
      'rules[1].cost',
      '0 is not a positive integer',
    ],
    [
      'a fractional cost',
      (d) => {
        d.rules[1].cost = 1.5;
      },
      'rules[1].cost',
      '1.5 is not a positive integer',
    ],
    [
      'a cost above the rule rate',
      (d) => {
        d.rules[0].cost = 4;
      },
      'rules[0].cost',
      '4 is more than the rule\'s rate "3/minute" lets through at once, so no matching request could ever pass',
    ],
    [
      'a cost above a tier override',
      (d) => {
        d.rules[1].tiers.free.rate = '4/hour';
      },
      'rules[1].cost',
      '5 is more than the rule\'s rate for tier "free" lets through at once, so none of its matching requests could ever pass',
    ],
    [
      'a cost above what a tier holds',
      (d) => {
        d.tiers.anonymous.rate = '4/minute';
      },
      'rules[1].cost',
      '5 is more than the bucket of tier "anonymous" (4) holds; the cost is charged to the tier too, so its matching requests could never pass',
    ],
    [
      'a keyBy in the wrong case',
      (d) => {
        d.rules[0].keyBy = 'IP';
      },
      'rules[0].keyBy',
      `"IP" is not ${KEY_BY}`,
    ],
    [
      'a keyBy that is a number',
      (d) => {
        d.rules[0].keyBy = 1;
      },
      'rules[0].keyBy',
      `1 is not ${KEY_BY}`,
    ],
    [
      'a keyBy header that is no name',
      (d) => {
        d.rules[0].keyBy = { header: 5 };
      },
      'rules[0].keyBy.header',
      '5 is not an HTTP header name such as "x-api-key"',
    ],
    [
      'a mode of neither kind',
      (d) => {
        d.rules[1].mode = 'dry-run';
      },
      'rules[1].mode',
      '"dry-run" is not "enforce" or "shadow"',
    ],
    [
      'rule tiers as a list',
      (d) => {
        d.rules[1].tiers = ['free'];
      },
      'rules[1].tiers',
      'array of 1 is not an object of rates by tier name, e.g. { "free": { "rate": "20/hour" } }',
    ],
    [
      'a rule tier that does not exist',
      (d) => {
        d.rules[1].tiers.gold = { rate: '20/hour' };
      },
      'rules[1].tiers.gold',
      `"gold" is not a tier of this document; ${TIERS}`,
    ],
    [
      'a rule tier with a bad rate',
      (d) => {
        d.rules[1].tiers.free.rate = '20/hr/';
      },
      'rules[1].tiers.free.rate',
      `"20/hr/" is not ${RATE}`,
    ],
    [
      'a rule tier with a burst',
      (d) => {
        d.rules[1].tiers.free.burst = 30;
      },
      'rules[1].tiers.free.burst',
      'no such field; known fields: rate',
    ],
    [
      'a misspelt rule field',
      (d) => {
        d.rules[0].kyBy = 'ip';
      },
      'rules[0].kyBy',
      'no such field (did you mean "keyBy"?); known fields: id, match, rate, cost, keyBy, mode, tiers, degraded',
    ],
  ];

  it.each(cases)('reports %s with its path and message', (_, change, path, message) => {
    expect(problemsAfter(change)).toEqual([{ path, message }]);
  });

  it('reports a misspelt keyBy header field along with the missing one', () => {
    expect(
      problemsAfter((d) => {
        d.rules[0].keyBy = { headr: 'x-user' };
      }).map((p) => p.path),
    ).toEqual(['rules[0].keyBy.header', 'rules[0].keyBy.headr']);
  });

  it('reports a "__proto__" name, which would otherwise vanish from the parsed document', () => {
    const text =
      '{"version":1,"defaultTier":"free","tiers":{"free":{"rate":"1/s"},"__proto__":{"rate":"1/s"}},' +
      '"keys":{"__proto__":"free"}}';
    const message = 'is "__proto__", which cannot name anything here';
    expect(checkConfig(JSON.parse(text))).toEqual({
      ok: false,
      problems: [
        { path: 'tiers.__proto__', message },
        { path: 'keys["__…"]', message },
      ],
    });
  });

  it('refuses a document that is not an object', () => {
    for (const [input, message] of [
      [42, '42 is not a configuration object'],
      [null, 'null is not a configuration object'],
      ['{"version":1}', '"{\\"version\\":1}" is not a configuration object'],
      [[], 'is empty; expected a configuration object'],
      [undefined, 'missing; expected a configuration object'],
    ] as const) {
      expect(checkConfig(input)).toEqual({ ok: false, problems: [{ path: '', message }] });
    }
  });

  it('lists every problem at once, in one pass', () => {
    const problems = problemsAfter((d) => {
      d.version = 2;
      d.tiers.free.rate = '10/minnute';
      d.tiers.pro.burst = 10;
      d.defaultTier = 'nobody';
      d.rules[0].match.path = 'api/login';
      d.rules[1].id = 'login';
      d.rules[1].mode = 'loud';
      d.keys.demo_free_key_123 = 'gold';
    });
    expect(problems.map((p) => p.path)).toEqual([
      'version',
      'tiers.free.rate',
      'rules[0].match.path',
      'rules[1].mode',
      'defaultTier',
      'keys["demo…"]',
      'tiers.pro.burst',
      'rules[1].id',
    ]);
  });

  it('throws InvalidConfigError listing every problem, from parseConfig', () => {
    const doc = issueDocument();
    doc.tiers.free.rate = '10/minnute';
    doc.defaultTier = 'anonymus';
    let error: unknown;
    try {
      parseConfig(doc);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect(error).toBeInstanceOf(DistLimiterError);
    const e = error as InvalidConfigError;
    expect(e.code).toBe('ERR_DL_CONFIG');
    expect(e.source).toBeUndefined();
    expect(e.problems.map((p) => p.path)).toEqual(['tiers.free.rate', 'defaultTier']);
    expect(e.message).toBe(
      'Invalid configuration (2 problems):\n' +
        `  - tiers.free.rate: "10/minnute" is not ${RATE}\n` +
        `  - defaultTier: "anonymus" is not a tier of this document (did you mean "anonymous"?); ${TIERS}`,
    );
  });

  it('never shows a raw API key in a problem', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9_]{12,40}$/), (key) => {
        const doc = issueDocument();
        doc.keys[key] = 'gold';
        doc.keys[hashOf(key)] = 'pro';
        doc.keys[`${key} `] = 'free';
        const result = checkConfig(doc);
        expect(result.ok).toBe(false);
        if (result.ok) return;
        expect(result.problems.length).toBeGreaterThanOrEqual(3);
        for (const p of result.problems) expect(`${p.path}: ${p.message}`).not.toContain(key);
        expect(new InvalidConfigError(result.problems).message).not.toContain(key);
      }),
    );
  });

  it('never throws, whatever JSON it is given', () => {
    const check = (input: unknown) => {
      const result = checkConfig(input);
      if (result.ok) return;
      expect(result.problems.length).toBeGreaterThan(0);
      for (const p of result.problems) {
        expect(typeof p.path).toBe('string');
        expect(p.message).not.toBe('');
      }
    };
    fc.assert(
      fc.property(fc.json(), (text) => check(JSON.parse(text))),
      { numRuns: 500 },
    );
    fc.assert(fc.property(fc.anything(), check), { numRuns: 300 });
  });

  it('never throws when any part of a valid document is replaced by any JSON value', () => {
    // Every path into the issue's document, so the replacements reach every field and every depth.
    const paths: (string | number)[][] = [];
    const walk = (value: unknown, path: (string | number)[]) => {
      paths.push(path);
      if (value && typeof value === 'object') {
        for (const [k, v] of Object.entries(value)) walk(v, [...path, Array.isArray(value) ? Number(k) : k]);
      }
    };
    walk(issueDocument(), []);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(...paths), fc.jsonValue()), { maxLength: 4 }),
        (edits) => {
          const doc = issueDocument();
          for (const [path, value] of edits) {
            if (path.length === 0) continue;
            let target: Doc | undefined = doc;
            for (const segment of path.slice(0, -1)) target = target?.[segment];
            if (target && typeof target === 'object') target[path[path.length - 1]!] = value;
          }
          const result = checkConfig(doc);
          if (!result.ok) for (const p of result.problems) expect(p.message).not.toBe('');
        },
      ),
      { numRuns: 500 },
    );
  });
});
