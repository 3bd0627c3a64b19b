import { createHash, timingSafeEqual } from 'node:crypto';
import { InvalidOptionError } from '../errors.js';
import { digestInName } from '../policy/api-keys.js';

// Admin tokens: named, full (may write) or read (may only GET), given as values or as "sha256:<hex>" so a
// configuration need not hold the secret. Only digests are kept; a presented token is hashed and compared
// with every digest in constant time, so neither the match nor its position shows in the timing.

/** The environment variable holding the full-access token (named "env"). */
export const ADMIN_TOKEN_ENV = 'DISTLIMITER_ADMIN_TOKEN';
/** The environment variable holding the read-only token (named "env-read"). */
export const ADMIN_READ_TOKEN_ENV = 'DISTLIMITER_ADMIN_READ_TOKEN';

/** What a token may do: everything, or GET only. */
export type AdminAccess = 'full' | 'read';

/** The token a request presented, by name (the token itself is never kept). */
export interface AdminCaller {
  readonly name: string;
  readonly access: AdminAccess;
}

/** Named tokens by access: values, or "sha256:<64 hex digits>" of a value. */
export interface AdminTokens {
  full?: Record<string, string>;
  read?: Record<string, string>;
}

interface Entry {
  readonly name: string;
  readonly access: AdminAccess;
  readonly digest: Buffer;
}

const NAME = /^[A-Za-z0-9_.:-]{1,64}$/;
// The caller when authentication is turned off; writes are audited under this name.
const NOBODY: AdminCaller = Object.freeze({ name: 'auth-off', access: 'full' });
const EXPECTED_TOKENS =
  `named tokens ({ full: { ops: "<token>" }, read: { grafana: "sha256:<hex>" } }), ${ADMIN_TOKEN_ENV} or ` +
  `${ADMIN_READ_TOKEN_ENV} in the environment, or false to turn authentication off explicitly`;

const digestOf = (value: string) => createHash('sha256').update(value).digest();

/**
 * The tokens the admin API accepts, checked now: from `tokens`, or from the environment when it is
 * undefined. Throws InvalidOptionError when there are none (and auth is not explicitly off) or one is
 * malformed; an error never quotes a token.
 */
export class TokenSet {
  private readonly entries: readonly Entry[];
  /** False when authentication was turned off (`tokens: false`). */
  readonly enabled: boolean;

  constructor(tokens: unknown, env: NodeJS.ProcessEnv) {
    if (tokens === false) {
      this.enabled = false;
      this.entries = [];
      return;
    }
    this.enabled = true;
    const entries: Entry[] = [];
    if (tokens === undefined) {
      const full = env[ADMIN_TOKEN_ENV];
      const read = env[ADMIN_READ_TOKEN_ENV];
      if (full) entries.push(entryOf('env', 'full', full, ADMIN_TOKEN_ENV));
      if (read) entries.push(entryOf('env-read', 'read', read, ADMIN_READ_TOKEN_ENV));
    } else {
      if (typeof tokens !== 'object' || tokens === null || Array.isArray(tokens)) {
        throw new InvalidOptionError('tokens', describe(tokens), EXPECTED_TOKENS);
      }
      for (const [field, value] of Object.entries(tokens)) {
        if (field !== 'full' && field !== 'read') {
          throw new InvalidOptionError(
            `tokens.${field}`,
            '(not shown)',
            'no such field; known fields: full, read',
          );
        }
        if (value === undefined) continue;
        if (typeof value !== 'object' || value === null || Array.isArray(value)) {
          throw new InvalidOptionError(`tokens.${field}`, describe(value), 'an object of tokens by name');
        }
        for (const [name, token] of Object.entries(value as Record<string, unknown>)) {
          if (!NAME.test(name)) {
            throw new InvalidOptionError(
              `tokens.${field}`,
              name,
              'token names of 1-64 letters, digits, "_", ".", ":" or "-" (a name is what the audit records)',
            );
          }
          if (entries.some((e) => e.name === name)) {
            throw new InvalidOptionError(`tokens.${field}.${name}`, name, 'a name given to one token only');
          }
          entries.push(entryOf(name, field, token, `tokens.${field}.${name}`));
        }
      }
    }
    if (entries.length === 0) {
      throw new InvalidOptionError(
        'tokens',
        tokens === undefined ? undefined : '(none given)',
        EXPECTED_TOKENS,
      );
    }
    this.entries = entries;
  }

  /**
   * The caller a request's Authorization header names, or undefined when it names no accepted token (or
   * none at all). Every digest is compared, whatever matched first.
   */
  check(authorization: string | null): AdminCaller | undefined {
    if (!this.enabled) return NOBODY;
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? '');
    if (match === null) return undefined;
    const presented = digestOf(match[1]!);
    let found: Entry | undefined;
    for (const entry of this.entries) {
      if (timingSafeEqual(presented, entry.digest) && found === undefined) found = entry;
    }
    return found === undefined ? undefined : { name: found.name, access: found.access };
  }
}

function entryOf(name: string, access: AdminAccess, token: unknown, field: string): Entry {
  if (typeof token !== 'string' || token.trim() === '' || token.trim() !== token || /\s/.test(token)) {
    // A bearer token is one run of characters without spaces: any other could never be presented.
    throw new InvalidOptionError(
      field,
      typeof token === 'string' ? '(not shown)' : describe(token),
      'a token without spaces, or "sha256:" and the 64 hex digits of its SHA-256',
    );
  }
  const hashed = digestInName(token);
  if (hashed === undefined && token.toLowerCase().startsWith('sha256:')) {
    throw new InvalidOptionError(
      field,
      '(not shown)',
      '"sha256:" followed by 64 hex digits, or the token itself',
    );
  }
  const digest = hashed === undefined ? digestOf(token) : Buffer.from(hashed, 'hex');
  return { name, access, digest };
}

// A value in an error: its kind, never its text (it may be a secret).
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string' ? '(not shown)' : typeof value;
}
