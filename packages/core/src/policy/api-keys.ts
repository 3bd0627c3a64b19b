import { InvalidOptionError } from '../errors.js';
import { hashedClientId, sha256 } from '../key-names.js';
import { isWellFormed, WELL_FORMED } from '../well-formed.js';
import { closest } from './known-keys.js';

// The `keys` table of a configuration maps API keys to tiers. An entry's name is either the key itself
// ("demo_free_key_123": "free") or its digest ("sha256:<64 lowercase hex>": "pro"), so a file can list a
// key without holding the secret. Both are turned into digests when the table is built: a presented key
// is hashed once, looked up by digest, and the raw key is never kept, logged or put in a key name.

/** What an entry's name starts with when it holds the SHA-256 of a key rather than the key. */
export const SHA256_PREFIX = 'sha256:';

const DIGEST = /^[0-9a-f]{64}$/;
const HASHED_NAME = /^sha256:([0-9a-fA-F]{64})$/;

/**
 * The digest a `sha256:<hex>` name holds, lower-cased; undefined when `name` is not of that form. The one
 * reading of the form for keys in overlays, admin paths and tokens alike (the `keys` table of a document is
 * stricter: it refuses upper-case digits, see digestOf).
 */
export function digestInName(name: string): string | undefined {
  return HASHED_NAME.exec(name)?.[1]?.toLowerCase();
}

/**
 * The SHA-256 of an API key (its UTF-8 bytes) as 64 lowercase hex digits. Write `"sha256:" + sha256Hex(key)`
 * in the `keys` table instead of the key, so the configuration holds no secret; from a shell,
 * `printf %s "$KEY" | sha256sum` gives the same digits.
 */
export function sha256Hex(key: string): string {
  if (typeof key !== 'string' || key === '' || !isWellFormed(key)) {
    // A lone surrogate is hashed as U+FFFD, so two different keys would share one digest.
    throw new InvalidOptionError('key', key, `a non-empty, ${WELL_FORMED} string`);
  }
  return sha256(key);
}

/**
 * The digest of a key a request presented, or undefined when it cannot be a key: empty, or not well-formed
 * (a lone surrogate is hashed as U+FFFD, so its digest could equal another key's). The per-request form of
 * sha256Hex: it never throws, and its result serves ApiKeys.tierOfDigest, KeyStore.lookup and
 * keyIdentityOfDigest alike, so a request hashes its key once.
 */
export function presentedKeyDigest(rawKey: string): string | undefined {
  return rawKey === '' || !isWellFormed(rawKey) ? undefined : sha256(rawKey);
}

/**
 * The identity of an API key in key names, logs and events: `k#` and the key's SHA-256 in hex, never the
 * key. The same key gets the same identity in every process and every release (it is what `clientId("k",
 * key)` gives a key too long to store raw), and a key listed as `sha256:<hex>` has the identity `k#<hex>`,
 * so an operator can find its counts from the configuration alone. The full digest is kept (not a prefix
 * of it) so that identity stays the same as clientId's; it costs about 30 bytes per key name.
 */
export function keyIdentity(rawKey: string): string {
  return hashedClientId('k', sha256(rawKey));
}

/** `keyIdentity` of a key already hashed (`presentedKeyDigest`), so a request hashes its key once. */
export function keyIdentityOfDigest(digest: string): string {
  return hashedClientId('k', digest);
}

/** Options of ApiKeys. */
export interface ApiKeysOptions {
  /** The tier names of the configuration; when given, each entry's tier must be one of them. */
  tiers?: readonly string[];
  /** Name of the table in errors (default "keys"). */
  field?: string;
}

/**
 * The validated `keys` table: finds the tier of a presented API key whether the table lists it raw or as
 * `sha256:<hex>`. Built once per configuration; holds digests only.
 */
export class ApiKeys {
  /** Number of distinct keys listed. */
  readonly size: number;
  private readonly byDigest: ReadonlyMap<string, string>;

  /** Validates `keys` (an object of entries), throwing InvalidOptionError naming the entry at fault. */
  constructor(keys: unknown, options: ApiKeysOptions = {}) {
    const field = options.field ?? 'keys';
    const tiers = options.tiers;
    if (keys !== undefined && (typeof keys !== 'object' || keys === null || Array.isArray(keys))) {
      throw new InvalidOptionError(
        field,
        keys,
        'an object mapping API keys (or "sha256:<hex>") to tier names',
      );
    }
    const table = (keys ?? {}) as Record<string, unknown>;
    const byDigest = new Map<string, string>();
    // The entry each digest came from, to name both when two entries give one key different tiers.
    const source = new Map<string, string>();
    for (const [name, tier] of Object.entries(table)) {
      const at = `${field}[${entryLabel(name)}]`;
      const digest = digestOf(name, at);
      if (typeof tier !== 'string' || tier === '') {
        throw new InvalidOptionError(at, tier, 'the name of a tier, such as "free"');
      }
      if (tiers !== undefined && !tiers.includes(tier)) {
        const near = closest(tier, tiers);
        throw new InvalidOptionError(
          at,
          tier,
          `one of the configured tiers${near ? ` (did you mean "${near}"?)` : ''}: ${tiers.join(', ')}`,
        );
      }
      const before = byDigest.get(digest);
      if (before !== undefined && before !== tier) {
        throw new InvalidOptionError(
          at,
          tier,
          `the same tier as ${field}[${source.get(digest)}], which lists the same key as "${before}"`,
        );
      }
      byDigest.set(digest, tier);
      source.set(digest, entryLabel(name));
    }
    this.byDigest = byDigest;
    this.size = byDigest.size;
    Object.freeze(this);
  }

  /**
   * The tier of a presented key, or undefined when the table does not list it. A key that is not
   * well-formed UTF-16 is never listed (its digest could equal another key's).
   */
  tierOf(rawKey: string): string | undefined {
    const digest = presentedKeyDigest(rawKey);
    return digest === undefined ? undefined : this.tierOfDigest(digest);
  }

  /** The tier of a key given by its digest (`presentedKeyDigest`), or undefined when the table does not list it. */
  tierOfDigest(digest: string): string | undefined {
    // Timing: the Map compares the presented key's digest with stored digests, never raw strings, and an
    // early exit at the first differing character tells a caller how many leading hex digits of a digest
    // they guessed. Without a SHA-256 preimage that brings them no closer to a listed key, so an ordinary
    // lookup is as safe as a constant-time comparison against every entry, at O(1).
    return this.byDigest.get(digest);
  }
}

// The digest an entry's name stands for: the hex after "sha256:", or the hash of a raw key.
function digestOf(name: string, at: string): string {
  if (name.toLowerCase().startsWith(SHA256_PREFIX)) {
    const hex = name.slice(SHA256_PREFIX.length);
    if (name.startsWith(SHA256_PREFIX) && DIGEST.test(hex)) return hex;
    // Refused rather than taken as a raw key: a mistyped digest would silently list a key nobody has.
    throw new InvalidOptionError(
      at,
      name,
      `"sha256:" followed by the key's SHA-256 as 64 lowercase hex digits (use sha256Hex(key), or ` +
        '`printf %s "$KEY" | sha256sum`)',
    );
  }
  if (name === '' || name.trim() !== name || !isWellFormed(name)) {
    // The key is not quoted: it is a secret, and this message may reach a log.
    throw new InvalidOptionError(
      at,
      entryLabel(name),
      `an API key that is non-empty, ${WELL_FORMED}, with no leading or trailing whitespace (a header ` +
        'value never has any, so such a key could never match)',
    );
  }
  return sha256(name);
}

/**
 * How an entry is named in errors: a hashed entry in full (it is no secret), a raw key by a few of its first
 * characters and its length, so the operator can find it while the key stays out of logs.
 */
function entryLabel(name: string): string {
  if (name.startsWith(SHA256_PREFIX)) return JSON.stringify(name);
  const chars = [...name];
  const shown = chars.slice(0, Math.min(4, Math.floor(chars.length / 4))).join('');
  return `${JSON.stringify(`${shown}…`)} (a raw key of ${chars.length} characters)`;
}
