import { type Backend, type Clock, isBackend } from '../backends/types.js';
import { InvalidOptionError } from '../errors.js';
import { type Duration, parseDuration } from '../policy/duration.js';
import { keysOf, knownKeys } from '../policy/known-keys.js';
import { positiveIntegerOr } from '../policy/validate.js';
import type { ControlStore } from './store.js';

/** How API keys are guarded against guessing: their format, and when a client IP gets blocked. */
export interface KeyProtectionOptions {
  /**
   * What a presented key must match before any lookup; a key that does not is an invalid key (default: 8-256
   * printable ASCII characters without spaces, `/^[\x21-\x7e]{8,256}$/`). The `g` and `y` flags are ignored.
   */
  keyPattern?: RegExp;
  /** Invalid keys a client IP may present per `window`; the one that reaches it blocks the IP (default 10). */
  maxInvalid?: number;
  /** The window those are counted in (default "1 minute"); at most `blockFor`. */
  window?: Duration;
  /** How long a first block lasts (default 15 minutes); each repeat offence doubles it. */
  blockFor?: Duration;
  /** The longest block (default 24 hours). */
  maxBlock?: Duration;
  /**
   * A client's offences are forgotten once it has gone this long without a new one, counted from the end
   * of its last block, since a blocked client cannot offend (default 24 hours).
   */
  forgetAfter?: Duration;
  /** Time between full reads of the blocks into the local mirror, in ms (default 1000). */
  refreshMs?: number;
}

/** What KeyProtection is built with: its options, the backend and prefix it shares with the limiters. */
export interface KeyProtectionSetup extends KeyProtectionOptions {
  /** The backend the limiters use: the invalid-key counts and the blocks live there. */
  backend: Backend;
  /** The key prefix (the limiters'); blocks live under "<prefix>:blocks". */
  prefix: string;
  /** Where blocks and offences are kept (default: `controlStoreOf(backend)`). */
  store?: ControlStore;
  /** Time source for blocks, in ms (default Date.now); tests inject one. */
  clock?: Clock;
}

/** Every key KeyProtectionSetup accepts. */
export const KEY_PROTECTION_OPTION_KEYS = keysOf<KeyProtectionSetup>()([
  'keyPattern',
  'maxInvalid',
  'window',
  'blockFor',
  'maxBlock',
  'forgetAfter',
  'refreshMs',
  'backend',
  'prefix',
  'store',
  'clock',
]);

/** The default format of an API key: 8-256 printable ASCII characters, no spaces. */
export const DEFAULT_KEY_PATTERN = /^[\x21-\x7e]{8,256}$/;

/** KeyProtection's settings, validated and with defaults filled in. */
export interface ProtectionSettings {
  readonly keyPattern: RegExp;
  readonly maxInvalid: number;
  readonly windowMs: number;
  readonly blockForMs: number;
  readonly maxBlockMs: number;
  readonly forgetAfterMs: number;
  readonly refreshMs: number;
  readonly backend: Backend;
  readonly prefix: string;
  readonly store: ControlStore | undefined;
  readonly clock: Clock;
}

const PREFIX = /^[A-Za-z0-9_.:-]{1,64}$/;
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** Validates KeyProtection's options; a bad one throws InvalidOptionError naming it. */
export function protectionSettings(options: KeyProtectionSetup): ProtectionSettings {
  const o = knownKeys(options, KEY_PROTECTION_OPTION_KEYS, 'KeyProtection options');
  const pattern = o.keyPattern ?? DEFAULT_KEY_PATTERN;
  if (!(pattern instanceof RegExp)) {
    throw new InvalidOptionError('keyPattern', pattern, 'a RegExp such as /^[A-Za-z0-9_]{20,64}$/');
  }
  if (!isBackend(o.backend)) {
    throw new InvalidOptionError(
      'backend',
      o.backend,
      'a backend such as new MemoryBackend() or new RedisBackend(...)',
    );
  }
  if (typeof o.prefix !== 'string' || !PREFIX.test(o.prefix)) {
    throw new InvalidOptionError(
      'prefix',
      o.prefix,
      '1-64 characters of letters, digits, "_", ".", ":" or "-"',
    );
  }
  const store = o.store as ControlStore | undefined;
  if (
    store !== undefined &&
    (typeof store !== 'object' || store === null || typeof store.hashesRead !== 'function')
  ) {
    throw new InvalidOptionError('store', store, 'a ControlStore, e.g. controlStoreOf(backend)');
  }
  if (o.clock !== undefined && typeof o.clock !== 'function') {
    throw new InvalidOptionError('clock', o.clock, 'a function returning milliseconds');
  }
  const windowMs = o.window === undefined ? MINUTE : parseDuration(o.window, 'window');
  const blockForMs = o.blockFor === undefined ? 15 * MINUTE : parseDuration(o.blockFor, 'blockFor');
  const maxBlockMs = o.maxBlock === undefined ? 24 * HOUR : parseDuration(o.maxBlock, 'maxBlock');
  const forgetAfterMs = o.forgetAfter === undefined ? 24 * HOUR : parseDuration(o.forgetAfter, 'forgetAfter');
  if (maxBlockMs < blockForMs) {
    throw new InvalidOptionError('maxBlock', o.maxBlock, `at least blockFor (${blockForMs} ms)`);
  }
  // A window outlasting the block could still be full when the block ends: the IP would then present keys
  // unblocked, each refused by the count, until the window ran out.
  if (windowMs > blockForMs) {
    throw new InvalidOptionError('window', o.window, `at most blockFor (${blockForMs} ms)`);
  }
  return {
    // A global or sticky RegExp keeps state between tests; a copy without those flags does not.
    keyPattern: new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, '')),
    maxInvalid: positiveIntegerOr(o.maxInvalid, 'maxInvalid', 10),
    windowMs,
    blockForMs,
    maxBlockMs,
    forgetAfterMs,
    refreshMs: positiveIntegerOr(o.refreshMs, 'refreshMs', 1000),
    backend: o.backend,
    prefix: o.prefix,
    store,
    clock: (o.clock as Clock | undefined) ?? Date.now,
  };
}

/** How long the block for a client's `offence`-th offence lasts: blockFor doubled per repeat, capped. */
export function blockDuration(offence: number, blockForMs: number, maxBlockMs: number): number {
  const doublings = Math.min(Math.max(offence, 1) - 1, 52);
  return Math.min(blockForMs * 2 ** doublings, maxBlockMs);
}
