import { closest } from '../known-keys.js';
import { describeValue, InvalidOptionError } from '../../errors.js';

// Every problem in a configuration document reads the same way: `<value> is not <what was expected>`, or
// `missing; expected <...>`, so a user reading a list of them never has to decode zod's own wording.

/** Quotes a value in a problem, as errors do elsewhere in core. */
export function quote(value: unknown): string {
  return describeValue(value);
}

/** The problem text for `value` when `expected` describes what it should have been. */
export function notA(value: unknown, expected: string): string {
  if (value === undefined) return `missing; expected ${expected}`;
  if (Array.isArray(value) && value.length === 0) return `is empty; expected ${expected}`;
  return `${quote(value)} is not ${expected}`;
}

/** The problem text for an InvalidOptionError thrown by one of core's parsers (rates, path patterns). */
export function fromOptionError(error: unknown): string {
  if (error instanceof InvalidOptionError) return notA(error.value, error.expected);
  throw error;
}

/** A zod `error` parameter: every issue the schema raises (its checks' included) reads `notA(input, expected)`. */
export function expecting(expected: string): {
  error: (issue: { code?: string; input?: unknown }) => string | undefined;
} {
  return {
    // Unknown fields and bad record keys are reported field by field by problems.ts, not here.
    error: (issue) =>
      issue.code === 'unrecognized_keys' || issue.code === 'invalid_key'
        ? undefined
        : notA(issue.input, expected),
  };
}

/** ` (did you mean "x"?)` for a near miss among `known`, or "". */
export function didYouMean(value: unknown, known: readonly string[]): string {
  const near = typeof value === 'string' ? closest(value, known) : undefined;
  return near === undefined || near === value ? '' : ` (did you mean "${near}"?)`;
}

const KEY_HASH = /^sha256:[0-9a-f]{64}$/;

/** Whether a `keys` name is a key's hash, `sha256:` and 64 lowercase hex digits. */
export function isKeyHash(name: string): boolean {
  return KEY_HASH.test(name);
}

/**
 * A `keys` name as problems show it. A raw API key is a secret and problems reach logs, so only its first
 * few characters are shown (enough to find the entry); a hash is shortened for reading.
 */
export function maskKey(name: string): string {
  if (isKeyHash(name)) return `${name.slice(0, 19)}…`;
  const chars = Array.from(name);
  return `${chars.slice(0, Math.min(4, Math.floor(chars.length / 4))).join('')}…`;
}
