import type { Clock } from '../backends/types.js';
import { Deadlines } from '../deadlines.js';
import { CallbackTimeoutError, InvalidOptionError } from '../errors.js';
import { sha256 } from '../key-names.js';
import { keysOf, knownKeys } from './known-keys.js';
import { positiveIntegerOr } from './validate.js';

/**
 * The app's own lookup of an API key (its database): the key's tier name, or undefined or null when the key
 * is unknown. Sync or async; it is called with the raw key, at most once per key at a time.
 */
export type KeyStoreFunction = (
  apiKey: string,
) => string | undefined | null | PromiseLike<string | undefined | null>;

/**
 * What a request gets when its key could not be looked up (the keyStore function threw, rejected, returned
 * something that is not a tier name, or did not settle within `timeoutMs`):
 * - `"default"` (the default): it is served in the configuration's `defaultTier`, counted by client IP, as
 *   a request without a key; an outage of the key database slows nobody down and lets no key past the
 *   anonymous limit;
 * - `"reject"`: it is refused with 503, so no request is served without knowing its tier.
 * Keys still cached keep their tier either way; a failed lookup is not cached, so the next request for the
 * key asks again.
 */
export type KeyStoreErrorPolicy = 'default' | 'reject';

/** Options of KeyStore; a bare function is taken as `{ lookup }` with every default. */
export interface KeyStoreOptions {
  /** The app's lookup of a key's tier. */
  lookup: KeyStoreFunction;
  /** Most keys cached at once, found and unknown alike; the least recently used goes first (default 10,000). */
  maxEntries?: number;
  /** How long a key's tier is cached, in ms (default 60,000): a tier changed in the database applies within it. */
  ttlMs?: number;
  /** How long an unknown key is cached, in ms (default 10,000), so random keys cannot hammer the database. */
  missTtlMs?: number;
  /** Longest wait for one lookup, in ms (default 1,000); a slower one is a failure (see onKeyStoreError). */
  timeoutMs?: number;
  /** What a request gets when its key could not be looked up (default "default"). */
  onKeyStoreError?: KeyStoreErrorPolicy;
  /** Time source in ms for the cache's expiry (default `Date.now`); inject one in tests. */
  clock?: Clock;
}

/** Every key KeyStoreOptions accepts. */
export const KEY_STORE_OPTION_KEYS = keysOf<KeyStoreOptions>()([
  'lookup',
  'maxEntries',
  'ttlMs',
  'missTtlMs',
  'timeoutMs',
  'onKeyStoreError',
  'clock',
]);

/** The answer for one key: its tier, unknown to the store, or a failed lookup (see KeyStoreErrorPolicy). */
export type KeyStoreOutcome =
  | { readonly kind: 'tier'; readonly tier: string }
  | { readonly kind: 'unknown' }
  | { readonly kind: 'error'; readonly error: Error };

type CachedOutcome = Exclude<KeyStoreOutcome, { kind: 'error' }>;

const UNKNOWN: CachedOutcome = Object.freeze({ kind: 'unknown' });

/** Validates an `onKeyStoreError` value (undefined gives the default, "default"). */
export function keyStoreErrorPolicy(value: unknown, field = 'onKeyStoreError'): KeyStoreErrorPolicy {
  if (value === undefined) return 'default';
  if (value === 'default' || value === 'reject') return value;
  throw new InvalidOptionError(
    field,
    value,
    '"default" (serve the request in defaultTier, counted by IP) or "reject" (answer 503)',
  );
}

// A node of the recency list: a class so every entry shares one shape. Keyed by the key's digest.
class Entry {
  prev: Entry | null = null;
  next: Entry | null = null;
  constructor(
    readonly digest: string,
    public outcome: CachedOutcome,
    public expiresAt: number,
  ) {}
}

/**
 * The `keyStore` option: the app's key lookup behind a bounded cache. Tiers are cached for `ttlMs` and
 * unknown keys for `missTtlMs`, concurrent lookups of one key share one call, each call is bounded by
 * `timeoutMs`, and a failure resolves to `{ kind: "error" }` for the caller to apply `onKeyStoreError`.
 * Keys are held by their SHA-256 digest, never raw.
 */
export class KeyStore {
  /** Most keys cached at once. */
  readonly maxEntries: number;
  /** How long a tier is cached, in ms. */
  readonly ttlMs: number;
  /** How long an unknown key is cached, in ms. */
  readonly missTtlMs: number;
  /** Longest wait for one lookup, in ms. */
  readonly timeoutMs: number;
  /** What a request gets when its key could not be looked up. */
  readonly onKeyStoreError: KeyStoreErrorPolicy;
  private readonly fn: KeyStoreFunction;
  private readonly field: string;
  private readonly clock: Clock;
  // Deadlines rather than a timer per lookup: one shared, unreferenced timer serves every pending lookup
  // (they share one timeoutMs, so they are due in the order they started), no timer is armed or cleared per
  // call, and a pending lookup never keeps the process alive. It reads real time (performance.now), which
  // is what a timeout is about; the injected clock governs only the cache's expiry.
  private readonly deadlines: Deadlines;
  private readonly late: () => Error;
  private readonly entries = new Map<string, Entry>();
  // The recency list, most recently used first. Kept by hand rather than by re-inserting into the Map on
  // every hit, which leaves deleted slots that every eviction would then walk past (see MemoryBackend).
  private head: Entry | null = null;
  private tail: Entry | null = null;
  private readonly inflight = new Map<string, Promise<KeyStoreOutcome>>();
  // Bumped by delete() and clear(): an answer to a call started before is returned but not cached, since it
  // may be what the app has just changed.
  private epoch = 0;

  /** Validates the options now, throwing InvalidOptionError naming the field (under `field`). */
  constructor(options: KeyStoreFunction | KeyStoreOptions, field = 'keyStore') {
    const o: Partial<KeyStoreOptions> =
      typeof options === 'function'
        ? { lookup: options }
        : (knownKeys(options, KEY_STORE_OPTION_KEYS, field, `${field}.`) as Partial<KeyStoreOptions>);
    if (typeof o.lookup !== 'function') {
      throw new InvalidOptionError(
        `${field}.lookup`,
        o.lookup,
        'a function (apiKey) returning the tier name, or undefined for an unknown key (sync or async)',
      );
    }
    this.fn = o.lookup;
    this.field = field;
    this.maxEntries = positiveIntegerOr(o.maxEntries, `${field}.maxEntries`, 10_000);
    this.ttlMs = positiveIntegerOr(o.ttlMs, `${field}.ttlMs`, 60_000);
    this.missTtlMs = positiveIntegerOr(o.missTtlMs, `${field}.missTtlMs`, 10_000);
    this.timeoutMs = positiveIntegerOr(o.timeoutMs, `${field}.timeoutMs`, 1000);
    this.onKeyStoreError = keyStoreErrorPolicy(o.onKeyStoreError, `${field}.onKeyStoreError`);
    if (o.clock !== undefined && typeof o.clock !== 'function') {
      throw new InvalidOptionError(`${field}.clock`, o.clock, 'a function returning milliseconds');
    }
    this.clock = o.clock ?? Date.now;
    this.deadlines = new Deadlines(this.timeoutMs);
    const timeoutMs = this.timeoutMs;
    this.late = () => new CallbackTimeoutError('keyStore', timeoutMs);
  }

  /** Number of keys cached (expired ones may linger until touched or evicted). */
  get size(): number {
    return this.entries.size;
  }

  /**
   * The outcome for a presented key: synchronous from the cache, a promise when the app's function is
   * asked; never rejects. Pass `digest` (from `presentedKeyDigest`) when already computed, so the key is
   * hashed once.
   */
  lookup(rawKey: string, digest: string = sha256(rawKey)): KeyStoreOutcome | Promise<KeyStoreOutcome> {
    const e = this.entries.get(digest);
    if (e !== undefined) {
      if (e.expiresAt > this.clock()) {
        this.touch(e);
        return e.outcome;
      }
      this.remove(e);
    }
    return this.inflight.get(digest) ?? this.call(rawKey, digest);
  }

  /** Forgets one key, so its next lookup asks the app (e.g. after the app changed the key's tier). */
  delete(rawKey: string): boolean {
    return this.deleteDigest(sha256(rawKey));
  }

  /** Forgets one key given by its digest, as an admin who knows the key only by its identity `k#<digest>` can. */
  deleteDigest(digest: string): boolean {
    this.epoch++;
    this.inflight.delete(digest);
    const e = this.entries.get(digest);
    if (e === undefined) return false;
    this.remove(e);
    return true;
  }

  /** Forgets every key. */
  clear(): void {
    this.epoch++;
    this.inflight.clear();
    this.entries.clear();
    this.head = null;
    this.tail = null;
  }

  private call(rawKey: string, digest: string): KeyStoreOutcome | Promise<KeyStoreOutcome> {
    const epoch = this.epoch;
    let value: unknown;
    try {
      value = this.fn(rawKey);
    } catch (error) {
      return failure(error);
    }
    if (!isPromiseLike(value)) return this.settle(digest, epoch, value);
    // The app's answer is cached when it comes, even after the caller was given up on: a slow database
    // that does answer serves the next request from the cache.
    const work = Promise.resolve(value).then((v) => this.settle(digest, epoch, v), failure);
    const bounded = this.deadlines.race(work, this.late).catch(failure);
    // Later lookups of the key join this call until it settles or times out; after a timeout the next one
    // asks again, so a call that never settles cannot lock a key out.
    this.inflight.set(digest, bounded);
    void bounded.then(() => {
      if (this.inflight.get(digest) === bounded) this.inflight.delete(digest);
    });
    return bounded;
  }

  private settle(digest: string, epoch: number, value: unknown): KeyStoreOutcome {
    let outcome: CachedOutcome;
    // Frozen: one object is handed to every request the cache answers.
    if (typeof value === 'string' && value !== '') outcome = Object.freeze({ kind: 'tier', tier: value });
    else if (value === undefined || value === null) outcome = UNKNOWN;
    else {
      return failure(
        new InvalidOptionError(
          this.field,
          value,
          'the lookup to return a tier name (a non-empty string), or undefined or null for an unknown key',
        ),
      );
    }
    if (epoch === this.epoch) this.store(digest, outcome);
    return outcome;
  }

  private store(digest: string, outcome: CachedOutcome): void {
    const expiresAt = this.clock() + (outcome.kind === 'tier' ? this.ttlMs : this.missTtlMs);
    const e = this.entries.get(digest);
    if (e !== undefined) {
      e.outcome = outcome;
      e.expiresAt = expiresAt;
      this.touch(e);
      return;
    }
    const fresh = new Entry(digest, outcome, expiresAt);
    this.entries.set(digest, fresh);
    this.linkFirst(fresh);
    if (this.entries.size > this.maxEntries) this.remove(this.tail!);
  }

  private touch(e: Entry): void {
    if (e === this.head) return;
    this.unlink(e);
    this.linkFirst(e);
  }

  private remove(e: Entry): void {
    this.unlink(e);
    this.entries.delete(e.digest);
  }

  private linkFirst(e: Entry): void {
    e.prev = null;
    e.next = this.head;
    if (this.head !== null) this.head.prev = e;
    this.head = e;
    if (this.tail === null) this.tail = e;
  }

  private unlink(e: Entry): void {
    if (e.prev !== null) e.prev.next = e.next;
    else this.head = e.next;
    if (e.next !== null) e.next.prev = e.prev;
    else this.tail = e.prev;
    e.prev = null;
    e.next = null;
  }
}

function failure(error: unknown): KeyStoreOutcome {
  return { kind: 'error', error: error instanceof Error ? error : new Error(String(error)) };
}

// Here rather than imported from http/: policy sits below the HTTP layer and imports nothing from it.
function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === 'object' && value !== null && typeof (value as PromiseLike<unknown>).then === 'function'
  );
}
