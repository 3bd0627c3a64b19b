import { sha256 } from '../key-names.js';
import { digestInName } from '../policy/api-keys.js';
import { isWellFormed } from '../well-formed.js';
import { AdminHttpError } from './respond.js';

// An API key in an admin path: the raw key or "sha256:<hex>" of it. Either way only its digest is used,
// stored ("sha256:<hex>" in the overlay) and shown (a hint of 8 hex digits), never the raw key.

/** The SHA-256 (64 lowercase hex digits) of the key a path segment names; 400 when it cannot be a key. */
export function digestOfKeyParam(param: string): string {
  const hashed = digestInName(param);
  if (hashed !== undefined) return hashed;
  if (param.toLowerCase().startsWith('sha256:')) {
    throw keyProblem('"sha256:" must be followed by the 64 hex digits of the key\'s SHA-256');
  }
  // A header value never carries these, so such a key could never be presented.
  if (/^\s|\s$|\p{Cc}/u.test(param) || !isWellFormed(param)) {
    throw keyProblem('is not a key a request could present (whitespace at an end, or a control character)');
  }
  return sha256(param);
}

/** How an admin answer or audit names a key: "sha256:" and the first 8 hex digits of its digest. */
export function keyHintOf(digest: string): string {
  return `sha256:${digest.slice(0, 8)}…`;
}

/** The digest a `keys` name stands for (normally "sha256:<hex>" in the overlay, possibly a raw key). */
export function digestOfKeyName(name: string): string {
  return digestInName(name) ?? sha256(name);
}

/** The hint of a `keys` name as the overlay holds it. */
export function hintOfKeyName(name: string): string {
  return keyHintOf(digestOfKeyName(name));
}

/**
 * The path for the audit log, the segment after "keys" (an API key, raw or hashed) as "sha256:<hex>": never
 * the raw key. The log's own gate (AuditLog) reduces that to a hint, as it does any key in an admin path.
 */
export function auditedPath(segments: readonly string[]): string {
  const out = segments.map((s, i) => {
    if (i === 0 || segments[i - 1] !== 'keys') return encodeURIComponent(s);
    try {
      return `sha256:${digestOfKeyParam(s)}`;
    } catch {
      return '(not a key)';
    }
  });
  return `/${out.join('/')}`;
}

function keyProblem(message: string): AdminHttpError {
  return new AdminHttpError(400, `The key in the path ${message}.`, {
    problems: [{ path: ':key', message, at: 'path' }],
  });
}
