import type { Decision } from './decision.js';

/** Stable machine-readable codes, one per kind of mistake, so callers can branch without parsing messages. */
export type DistLimiterErrorCode =
  | 'ERR_DL_OPTION'
  | 'ERR_DL_RATE'
  | 'ERR_DL_DURATION'
  | 'ERR_DL_KEY'
  | 'ERR_DL_COST'
  | 'ERR_DL_BACKEND'
  | 'ERR_DL_BACKEND_TIMEOUT'
  | 'ERR_DL_CIRCUIT_OPEN'
  | 'ERR_DL_CLOSED'
  | 'ERR_DL_CALLBACK_TIMEOUT'
  | 'ERR_DL_LIMITED'
  | 'ERR_DL_MISSING_DEPENDENCY'
  | 'ERR_DL_CONFIG';

/** Base class of every error distlimiter throws. */
export class DistLimiterError extends Error {
  /** Stable code naming the kind of error. */
  readonly code: DistLimiterErrorCode;

  constructor(code: DistLimiterErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Renders a value the way a user typed it, so messages quote it unambiguously. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string')
    return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null || typeof value === 'bigint') {
    return String(value);
  }
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  if (Array.isArray(value)) return `array of ${value.length}`;
  const ctor = (value as object).constructor?.name;
  return ctor && ctor !== 'Object' ? `a ${ctor} instance` : 'an object';
}

/** An option was missing, of the wrong type or out of range; `field` names it, `value` is what was given. */
export class InvalidOptionError extends DistLimiterError {
  /** Dotted path of the offending option, e.g. `tokenBucket.capacity`. */
  readonly field: string;
  /** The value that was rejected. */
  readonly value: unknown;
  /** What a valid value looks like, e.g. `a positive integer`. */
  readonly expected: string;

  constructor(field: string, value: unknown, expected: string, code: DistLimiterErrorCode = 'ERR_DL_OPTION') {
    super(code, `Invalid ${field}: got ${describeValue(value)}; expected ${expected}.`);
    this.field = field;
    this.value = value;
    this.expected = expected;
  }
}

/** What a rate string looks like, as every error about one says it. */
export const EXPECTED_RATE =
  'a rate like "100/minute", "10/s", "5000/hour", "1000/day" or "20/30s" (count/[n]unit with unit ms, s, m, h or d)';

/** A rate string such as "100/minute" could not be parsed. */
export class InvalidRateError extends InvalidOptionError {
  constructor(field: string, value: unknown) {
    super(field, value, EXPECTED_RATE, 'ERR_DL_RATE');
  }
}

/** A duration such as "30s" could not be parsed. */
export class InvalidDurationError extends InvalidOptionError {
  constructor(field: string, value: unknown) {
    super(
      field,
      value,
      'a positive duration: milliseconds as a number, or a string like "1500ms", "30s", "1m", "2h" or "1d"',
      'ERR_DL_DURATION',
    );
  }
}

/** The key identifying who is limited was empty, not a string, or longer than 1 KiB. */
export class InvalidKeyError extends InvalidOptionError {
  constructor(value: unknown, expected: string) {
    super('key', value, expected, 'ERR_DL_KEY');
  }
}

/** The cost of a request was not a positive safe integer. */
export class InvalidCostError extends InvalidOptionError {
  constructor(value: unknown) {
    super('cost', value, 'a positive integer (default 1)', 'ERR_DL_COST');
  }
}

/** `consume` rejects with this when the request is over the limit; it carries the Decision. */
export class RateLimitExceeded extends DistLimiterError {
  /** The decision that refused the request. */
  readonly decision: Decision;

  constructor(decision: Decision) {
    const retry = Number.isFinite(decision.retryAfterMs)
      ? `retry after ${decision.retryAfterMs} ms`
      : 'the cost exceeds the limit and can never be allowed';
    super('ERR_DL_LIMITED', `Rate limit exceeded: ${retry}.`);
    this.decision = decision;
  }
}

/** The backend failed to answer (connection lost, script error, ...); `cause` holds the original error. */
export class BackendError extends DistLimiterError {
  constructor(message: string, options?: { cause?: unknown }, code: DistLimiterErrorCode = 'ERR_DL_BACKEND') {
    super(code, message, options);
  }
}

/** The backend did not answer within the limiter's `timeoutMs`. */
export class BackendTimeoutError extends BackendError {
  constructor(timeoutMs: number) {
    super(`The backend did not answer within ${timeoutMs} ms.`, undefined, 'ERR_DL_BACKEND_TIMEOUT');
  }
}

/**
 * A CircuitBreaker refused the call without asking its backend, because recent calls failed; `cause` holds
 * the last failure. A BackendError, so `onBackendError` decides what the request gets.
 */
export class CircuitOpenError extends BackendError {
  constructor(lastError: Error | undefined) {
    super(
      'The circuit breaker is open after repeated backend failures; the call was refused without trying.',
      { cause: lastError },
      'ERR_DL_CIRCUIT_OPEN',
    );
  }
}

/** An async option callback (keyBy, skip, cost, message) did not settle within the limiter's timeoutMs. */
export class CallbackTimeoutError extends DistLimiterError {
  /** The option whose callback was too slow. */
  readonly callback: string;

  constructor(callback: string, timeoutMs: number) {
    super('ERR_DL_CALLBACK_TIMEOUT', `The ${callback} option did not settle within ${timeoutMs} ms.`);
    this.callback = callback;
  }
}

/** A backend or limiter was used after `close()`. */
export class ClosedError extends DistLimiterError {
  constructor(what: string) {
    super('ERR_DL_CLOSED', `${what} was used after close().`);
  }
}

/** A feature needs an optional peer dependency that is not installed; `dependency` names the package. */
export class MissingDependencyError extends DistLimiterError {
  /** The npm package to install. */
  readonly dependency: string;

  constructor(dependency: string, feature: string, cause?: unknown) {
    super(
      'ERR_DL_MISSING_DEPENDENCY',
      `${feature} needs the "${dependency}" package, which is not installed: run \`npm install ${dependency}\` ` +
        '(it is an optional peer dependency of @distlimiter/core).',
      { cause },
    );
    this.dependency = dependency;
  }
}

/** One problem in a configuration document: where it is (a path like `tiers.free.rate`, "" for the whole document) and what. */
export interface ConfigProblem {
  /** Dotted path to the offending field, e.g. `tiers.free.rate` or `rules[1].match.path`; "" for the document. */
  readonly path: string;
  /** What is wrong and what was expected, e.g. `"10/minnute" is not a rate like "100/minute", ...`. */
  readonly message: string;
}

/** Renders a problem as one line, `path: message`. */
export function formatProblem(problem: ConfigProblem): string {
  return problem.path ? `${problem.path}: ${problem.message}` : problem.message;
}

/** A configuration document is invalid; `problems` lists every problem found, each with its path. */
export class InvalidConfigError extends DistLimiterError {
  /** Every problem found, in document order where possible. */
  readonly problems: readonly ConfigProblem[];
  /** Where the document came from (a file path), when it was read from a file. */
  readonly source: string | undefined;

  constructor(problems: readonly ConfigProblem[], source?: string) {
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
    const lines = problems.map((p) => `\n  - ${formatProblem(p)}`).join('');
    super('ERR_DL_CONFIG', `Invalid configuration${source ? ` in ${source}` : ''} (${count}):${lines}`);
    this.problems = Object.freeze([...problems]);
    this.source = source;
  }
}
