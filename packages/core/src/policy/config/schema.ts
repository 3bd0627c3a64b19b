import { z } from 'zod';
import { EXPECTED_RATE } from '../../errors.js';
import { isWellFormed, WELL_FORMED } from '../../well-formed.js';
import { compilePathPattern } from '../path-match.js';
import { parseRate } from '../rate.js';
import { crossFieldProblems } from './cross-checks.js';
import { type ConfigDocument, type ConfigInput, HTTP_METHODS } from './document.js';
import { didYouMean, expecting, fromOptionError, isKeyHash, quote } from './messages.js';

export type { ConfigDocument, ConfigInput } from './document.js';

// Tier names and rule ids name counts, events and headers, so they stay short and plain.
const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const EXPECTED_NAME =
  'a name of letters, digits, "_" and "-" that starts with a letter or digit (at most 64)';
const EXPECTED_RATES = `${EXPECTED_RATE}, or a non-empty list of such rates`;
const EXPECTED_KEY_BY = '"key" (the tier\'s identity), "ip" or { "header": name }';
// A header name is an HTTP token (RFC 9110 5.6.2).
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** The longest raw API key a document may list; longer keys are listed by their hash. */
const MAX_KEY_LENGTH = 1024;

const rate = z
  .string(expecting(EXPECTED_RATE))
  .superRefine((value, ctx) => {
    try {
      parseRate(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: fromOptionError(error), input: value });
    }
  })
  .meta({
    description:
      'A rate: a count, "/", an optional multiplier and a unit, e.g. "100/minute", "10/s" or "20/30s".',
    // For editors only (JSON Schema has no case-insensitive flag); parseRate above is the real check.
    pattern: '^\\s*\\d+\\s*/\\s*\\d*\\s*[A-Za-z]+\\s*$',
  });

const rates = z
  .union([rate, z.array(rate, expecting(EXPECTED_RATES)).min(1)], expecting(EXPECTED_RATES))
  .describe('A rate such as "100/minute", or a list of rates: one limit per rate, all must allow.');

const positiveInteger = z.number(expecting('a positive integer')).int().min(1);

const name = z.string(expecting(EXPECTED_NAME)).regex(NAME);

const tierName = z.string(expecting('the name of a tier of this document'));

const header = z
  .string(expecting('an HTTP header name such as "x-api-key"'))
  .regex(TOKEN)
  .describe('A request header name (compared case-insensitively).');

const headerSource = z.strictObject({ header }, expecting('an object like { "header": "x-api-key" }'));

/** A `keys` name: a raw API key, or its SHA-256 as "sha256:<64 lowercase hex digits>". Never quoted back. */
const keyName = z.string().superRefine((key, ctx) => {
  const problem = keyNameProblem(key);
  if (problem) ctx.addIssue({ code: 'custom', message: problem, input: key });
});

function keyNameProblem(key: string): string | undefined {
  // "SHA256:..." too: a mistyped hash taken as a raw key would silently list a key nobody has.
  if (key.toLowerCase().startsWith('sha256:')) {
    return isKeyHash(key)
      ? undefined
      : 'is not a key hash: "sha256:" must be followed by the 64 lowercase hex digits of the key\'s SHA-256';
  }
  if (key === '') return 'is empty; expected an API key, or "sha256:" and the hex SHA-256 of one';
  if (key.length > MAX_KEY_LENGTH) {
    return `is ${key.length} characters long; a raw key has at most ${MAX_KEY_LENGTH} (list its "sha256:" hash instead)`;
  }
  // A header value never carries these, so such a key could never be presented.
  if (/^\s|\s$|\p{Cc}/u.test(key)) {
    return 'has leading or trailing whitespace or a control character, which no header value carries';
  }
  if (!isWellFormed(key)) return `is not ${WELL_FORMED}`;
  return undefined;
}

const method = z.enum(HTTP_METHODS, {
  error: (issue) =>
    `${quote(issue.input)} is not an HTTP method${didYouMean(issue.input, HTTP_METHODS)}: one of ${HTTP_METHODS.join(', ')}`,
});

const methods = z
  .array(
    method,
    expecting('a non-empty list of HTTP methods such as ["POST"] (leave it out for every method)'),
  )
  .min(1)
  .superRefine((list, ctx) => {
    list.forEach((m, i) => {
      if (list.indexOf(m) !== i)
        ctx.addIssue({ code: 'custom', message: `${quote(m)} is listed twice`, path: [i] });
    });
  })
  .describe(
    'The HTTP methods the rule applies to, upper-case (every method when absent); GET includes HEAD.',
  );

const pathPattern = z
  .string(expecting('a path pattern such as "/api/login" or "/api/search/**"'))
  .superRefine((pattern, ctx) => {
    try {
      compilePathPattern(pattern);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: fromOptionError(error), input: pattern });
    }
  })
  .describe('A path pattern starting with "/": "*" is one segment, "**" any number, e.g. "/api/search/**".');

const tier = z.strictObject(
  {
    rate: rates,
    burst: positiveInteger
      .optional()
      .describe(
        "The bucket's size: requests that may arrive at once. Default: the rate's count; never below it.",
      ),
    degraded: rate.optional().describe("The tier's rate while the service is DEGRADED."),
    shed: z
      .boolean(expecting('true or false'))
      .optional()
      .describe("Whether the tier's requests are refused first when the service sheds load."),
  },
  expecting('a tier object such as { "rate": "10/minute" }'),
);

const rule = z.strictObject(
  {
    id: name.describe('Names the rule in events and counts; unique. Keep it to keep the counts on a reload.'),
    match: z
      .strictObject(
        { methods: methods.optional(), path: pathPattern.optional() },
        expecting('an object with "path", "methods" or both, e.g. { "path": "/api/login" }'),
      )
      .superRefine((match, ctx) => {
        // After a misspelt field ("paths"), that field's problem is the one to fix.
        if (match.methods === undefined && match.path === undefined && ctx.issues.length === 0) {
          ctx.addIssue({
            code: 'custom',
            message:
              'names no "path" and no "methods", so it would match every request; a limit on every request is a tier\'s rate',
          });
        }
      })
      .describe('Which requests the rule applies to.'),
    rate: rates,
    cost: positiveInteger
      .default(1)
      .describe('What a matching request costs, charged to the rule and to the tier.'),
    keyBy: z
      .union([z.enum(['key', 'ip'], expecting(EXPECTED_KEY_BY)), headerSource], expecting(EXPECTED_KEY_BY))
      .default('key')
      .describe('Whom the rule counts: "key" (the tier\'s identity), "ip", or { "header": name }.'),
    mode: z
      .enum(['enforce', 'shadow'], expecting('"enforce" or "shadow"'))
      .default('enforce')
      .describe('"enforce" refuses over the limit; "shadow" counts and reports but never refuses.'),
    tiers: z
      .record(tierName, z.strictObject({ rate: rates }, expecting('an object like { "rate": "20/hour" }')), {
        ...expecting('an object of rates by tier name, e.g. { "free": { "rate": "20/hour" } }'),
      })
      .optional()
      .describe("Per-tier rates for this rule, replacing the rule's rate for that tier's requests."),
    degraded: rates
      .optional()
      .describe("The rule's rate while the service is DEGRADED, for every tier (default: its usual limits)."),
  },
  expecting('a rule object such as { "id": "login", "match": { "path": "/api/login" }, "rate": "3/minute" }'),
);

/** The configuration document's schema: shape and field checks, then the checks across fields. */
export const configSchema = z
  .strictObject(
    {
      $schema: z
        .string(expecting('the path or URL of a JSON Schema'))
        .optional()
        .describe('The JSON Schema editors check this file against; ignored by distlimiter.'),
      version: z
        .literal(1, expecting('1, the version of the document format this release reads'))
        .describe('The version of the document format: 1.'),
      keyBy: headerSource
        .default(() => ({ header: 'x-api-key' }))
        .describe('Where the API key is read from.'),
      defaultTier: tierName.describe('The tier of a request without a key, counted by client IP.'),
      unknownKey: z
        .enum(['reject', 'default'], expecting('"reject" or "default"'))
        .default('reject')
        .describe(
          'An unlisted key: "reject" answers 401; "default" treats it as no key (defaultTier, by IP).',
        ),
      tiers: z
        .record(name, tier, expecting('an object of tiers by name, e.g. { "free": { "rate": "10/minute" } }'))
        .describe('The tiers, by name.'),
      keys: z
        .record(keyName, tierName, expecting('an object mapping API keys to tier names'))
        .default(() => ({}))
        .describe(
          'API keys and their tiers: a raw key, or "sha256:" and the 64 lowercase hex digits of its SHA-256.',
        ),
      rules: z
        .array(rule, expecting('a list of rules'))
        .default(() => [])
        .describe("Limits on matching requests, each charged on top of the tier's."),
    },
    expecting('a configuration object'),
  )
  .superRefine(
    (doc, ctx) => {
      for (const problem of crossFieldProblems(doc)) {
        ctx.addIssue({ code: 'custom', message: problem.message, path: problem.path });
      }
    },
    // Runs even when a field failed, so one pass lists every problem; crossFieldProblems trusts nothing.
    { when: () => true },
  )
  .meta({
    title: 'distlimiter configuration',
    description: 'Tiers chosen by API key, and rules per route: the configuration document of distlimiter.',
  });

// Proof at compile time that the schema and the documented types in document.ts are the same document.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;
type _SchemaMatchesDocument = Assert<Same<z.output<typeof configSchema>, ConfigDocument>>;
type _SchemaMatchesInput = Assert<Same<z.input<typeof configSchema>, ConfigInput>>;
