import { slidingWindow } from '../algorithms/sliding-window.js';
import type { Algorithm } from '../algorithms/types.js';
import type { Decision } from '../decision.js';
import { InvalidOptionError } from '../errors.js';
import { RATE_LIMITER_OPTION_KEYS, RateLimiter } from '../limiter.js';
import { keysOf, knownKeys } from '../policy/known-keys.js';
import { parseRate } from '../policy/rate.js';
import { checkScope, type KeySource } from '../key-names.js';
import { keySourceOf } from './keys.js';
import type { HeaderMode, HttpLimitOptions, HttpRequest, KeyFunction } from './types.js';

/** Every option key HttpLimitOptions accepts; adapters strip their own extras before handing options on. */
export const HTTP_LIMIT_OPTION_KEYS = keysOf<HttpLimitOptions>()([
  'limiter',
  'rate',
  'algorithm',
  'backend',
  'prefix',
  'timeoutMs',
  'keyBy',
  'skip',
  'exemptPaths',
  'exemptMethods',
  'cost',
  'scope',
  'headers',
  'policyName',
  'statusCode',
  'message',
  'onBackendError',
  'onError',
  'onLimited',
  'config',
  'keyStore',
  'audit',
  'statistics',
  'protection',
  'load',
]);

/** The options that build a RateLimiter, and so must be absent when a ready `limiter` is given. */
// onBackendError is the HTTP layer's own (it answers allow/deny itself and asks the limiter for 'local').
export const LIMITER_OPTION_KEYS: readonly (keyof HttpLimitOptions)[] = Object.freeze([
  'rate',
  'algorithm',
  ...RATE_LIMITER_OPTION_KEYS.filter((k) => k !== 'onBackendError'),
]);

/** Rate used when neither `rate`, `algorithm` nor `limiter` is given. */
export const DEFAULT_RATE = '60/minute';

const HEADER_MODES: readonly unknown[] = ['legacy', 'ietf', 'both', false];
// A Structured Field key (RFC 8941 3.1.2) starting with a letter: safe unquoted or quoted, in any header.
const POLICY_NAME = /^[a-z][a-z0-9_\-.*]{0,63}$/;

/** HttpLimitOptions after validation, in the form the handler reads on every request. */
export interface HttpSettings {
  readonly keyBy: KeyFunction | undefined;
  readonly keySource: KeySource;
  readonly skip: ((request: HttpRequest) => boolean | Promise<boolean>) | undefined;
  readonly exemptPaths: ReadonlySet<string>;
  readonly exemptPatterns: readonly RegExp[];
  readonly exemptMethods: ReadonlySet<string>;
  readonly cost: number | ((request: HttpRequest) => number | Promise<number>);
  readonly scope: string | undefined;
  readonly headers: HeaderMode;
  readonly policyName: string;
  readonly statusCode: number;
  readonly message: HttpLimitOptions['message'];
  readonly onBackendError: 'allow' | 'deny' | 'local';
  readonly onError: ((error: Error, request: HttpRequest) => void) | undefined;
  readonly onLimited: ((request: HttpRequest, decision: Decision) => void) | undefined;
}

/**
 * Checks that `input` is an options object with only known keys, and returns a copy without the keys
 * whose value is undefined (an explicit undefined means "use the default", also when deriving).
 */
export function checkOptionKeys(input: unknown, field = 'options'): HttpLimitOptions {
  if (input === undefined) return {};
  const o = knownKeys(input, HTTP_LIMIT_OPTION_KEYS, field);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(o)) if (o[key] !== undefined) out[key] = o[key];
  return out as HttpLimitOptions;
}

/** Validates every option that is not about building the RateLimiter, filling in defaults. */
export function resolveSettings(o: HttpLimitOptions): HttpSettings {
  const keyBy = o.keyBy;
  if (keyBy !== undefined && typeof keyBy !== 'function') {
    throw new InvalidOptionError('keyBy', keyBy, 'a function of the request, or ip() / header(name)');
  }
  if (o.skip !== undefined && typeof o.skip !== 'function') {
    throw new InvalidOptionError('skip', o.skip, 'a function of the request returning true to skip it');
  }
  const cost = o.cost ?? 1;
  if (typeof cost !== 'function' && !isPositiveInteger(cost)) {
    throw new InvalidOptionError(
      'cost',
      cost,
      'a positive integer or a function of the request returning one',
    );
  }
  const headers = o.headers ?? 'legacy';
  if (!HEADER_MODES.includes(headers)) {
    throw new InvalidOptionError('headers', headers, '"legacy", "ietf", "both" or false');
  }
  const scope = o.scope === undefined ? undefined : checkScope(o.scope);
  const policyName = o.policyName ?? 'default';
  if (typeof policyName !== 'string' || !POLICY_NAME.test(policyName)) {
    throw new InvalidOptionError(
      'policyName',
      policyName,
      'a lower-case letter followed by up to 63 lower-case letters, digits, "_", "-", "." or "*"',
    );
  }
  const statusCode = o.statusCode ?? 429;
  if (
    typeof statusCode !== 'number' ||
    !Number.isInteger(statusCode) ||
    statusCode < 400 ||
    statusCode > 599
  ) {
    throw new InvalidOptionError('statusCode', statusCode, 'an integer HTTP error status from 400 to 599');
  }
  const message = o.message;
  if (
    message !== undefined &&
    typeof message !== 'string' &&
    typeof message !== 'function' &&
    !(typeof message === 'object' && message !== null && !Array.isArray(message))
  ) {
    throw new InvalidOptionError(
      'message',
      message,
      'a string, a JSON object, or a function (request, decision) returning the body',
    );
  }
  const onBackendError = o.onBackendError ?? 'allow';
  if (onBackendError !== 'allow' && onBackendError !== 'deny' && onBackendError !== 'local') {
    throw new InvalidOptionError('onBackendError', onBackendError, '"allow", "deny" or "local"');
  }
  if (o.onError !== undefined && typeof o.onError !== 'function') {
    throw new InvalidOptionError('onError', o.onError, 'a function (error, request)');
  }
  if (o.onLimited !== undefined && typeof o.onLimited !== 'function') {
    throw new InvalidOptionError('onLimited', o.onLimited, 'a function (request, decision)');
  }
  const { paths, patterns } = exemptPathsOf(o.exemptPaths);
  return {
    keyBy,
    keySource: keyBy ? keySourceOf(keyBy) : 'ip',
    skip: o.skip,
    exemptPaths: paths,
    exemptPatterns: patterns,
    exemptMethods: exemptMethodsOf(o.exemptMethods),
    cost,
    scope,
    headers,
    policyName,
    statusCode,
    message,
    onBackendError,
    onError: o.onError,
    onLimited: o.onLimited,
  };
}

/**
 * The RateLimiter the options describe: the given `limiter`, or one built from rate/algorithm/backend/
 * prefix/timeoutMs. With `base` (when deriving), unset parts are taken from it, and when nothing about
 * the limiter is overridden `base` itself is shared.
 */
export function resolveLimiter(o: HttpLimitOptions, base?: RateLimiter): RateLimiter {
  if (o.limiter !== undefined) {
    if (!isRateLimiter(o.limiter)) {
      throw new InvalidOptionError('limiter', o.limiter, 'a RateLimiter from @distlimiter/core');
    }
    for (const key of LIMITER_OPTION_KEYS) {
      if (o[key] !== undefined) {
        throw new InvalidOptionError(
          key,
          o[key],
          'no value when `limiter` is given (configure the limiter instead)',
        );
      }
    }
    return o.limiter;
  }
  const algorithm = algorithmOf(o);
  if (base && LIMITER_OPTION_KEYS.every((k) => o[k] === undefined)) return base;
  return new RateLimiter({
    algorithm: algorithm ?? base?.algorithm ?? slidingWindow(DEFAULT_RATE),
    backend: o.backend ?? base?.backend,
    prefix: o.prefix ?? base?.prefix,
    timeoutMs: o.timeoutMs ?? base?.timeoutMs,
  });
}

function algorithmOf(o: HttpLimitOptions): Algorithm | undefined {
  if (o.rate === undefined) return o.algorithm;
  if (o.algorithm !== undefined) {
    throw new InvalidOptionError(
      'algorithm',
      o.algorithm,
      'no value when `rate` is given (`rate` is shorthand for algorithm: slidingWindow(rate))',
    );
  }
  // A rate function gives each request its rate; the limiter holds the default one.
  if (typeof o.rate === 'function') return undefined;
  return algorithmOfRate(o.rate, 'rate');
}

/** The algorithm a `rate` string is shorthand for: a sliding window of that rate. */
export function algorithmOfRate(rate: unknown, field: string): Algorithm {
  const { limit, windowMs } = parseRate(rate, field);
  return slidingWindow({ limit, window: windowMs });
}

// Duck-typed so that two copies of this package (ESM and CJS builds, or two versions) still work together.
function isRateLimiter(value: unknown): value is RateLimiter {
  if (value instanceof RateLimiter) return true;
  const v = value as Partial<RateLimiter> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.limit === 'function' &&
    typeof v.algorithm === 'object' &&
    v.algorithm !== null &&
    Array.isArray(v.algorithm.members)
  );
}

function exemptPathsOf(value: unknown): { paths: Set<string>; patterns: RegExp[] } {
  const paths = new Set<string>();
  const patterns: RegExp[] = [];
  if (value === undefined) return { paths, patterns };
  if (!Array.isArray(value)) {
    throw new InvalidOptionError('exemptPaths', value, 'an array of exact paths (strings) and RegExps');
  }
  value.forEach((p: unknown, i) => {
    if (typeof p === 'string') paths.add(p);
    // A global or sticky RegExp keeps lastIndex between test() calls and would match every other request.
    else if (p instanceof RegExp) patterns.push(new RegExp(p.source, p.flags.replace(/[gy]/g, '')));
    else throw new InvalidOptionError(`exemptPaths[${i}]`, p, 'an exact path string or a RegExp');
  });
  return { paths, patterns };
}

function exemptMethodsOf(value: unknown): Set<string> {
  const methods = new Set<string>();
  if (value === undefined) return methods;
  if (!Array.isArray(value)) {
    throw new InvalidOptionError('exemptMethods', value, 'an array of HTTP methods such as ["OPTIONS"]');
  }
  value.forEach((m: unknown, i) => {
    if (typeof m !== 'string' || m.trim() === '') {
      throw new InvalidOptionError(`exemptMethods[${i}]`, m, 'an HTTP method name such as "OPTIONS"');
    }
    methods.add(m.trim().toUpperCase());
  });
  return methods;
}

/** Whether `value` is a cost the limiter accepts: a positive safe integer. */
export function isPositiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}
