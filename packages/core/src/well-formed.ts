import { InvalidKeyError } from './errors.js';

// A lone surrogate has no UTF-8 encoding: ioredis (and Buffer, and SHA-256 of the key) write U+FFFD for
// it, so two different strings become one key name. Strings that reach a key name must be well-formed.

type WellFormedCheck = (s: string) => boolean;

// Code units, not code points (no `u` flag): a high surrogate not followed by a low one, or a low one
// not preceded by a high one.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const native = (String.prototype as { isWellFormed?: (this: string) => boolean }).isWellFormed;

/** Whether `s` is well-formed UTF-16 (no unpaired surrogates), so it encodes to UTF-8 losslessly. */
export const isWellFormed: WellFormedCheck =
  native !== undefined ? (s) => native.call(s) : (s) => !LONE_SURROGATE.test(s);

/** How errors describe what a well-formed string is. */
export const WELL_FORMED = 'well-formed UTF-16 (no unpaired surrogates)';

/** Throws InvalidKeyError unless the client key `key` is well-formed (see isWellFormed). */
export function checkWellFormedKey(key: string): void {
  if (!isWellFormed(key)) throw new InvalidKeyError(key, `a ${WELL_FORMED} string`);
}
