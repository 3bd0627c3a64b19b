import { inspect } from 'node:util';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { CallbackTimeoutError, InvalidOptionError } from '../src/errors.js';
import { sha256Hex } from '../src/policy/api-keys.js';
import {
  KEY_STORE_OPTION_KEYS,
  KeyStore,
  type KeyStoreFunction,
  type KeyStoreOutcome,
  keyStoreErrorPolicy,
} from '../src/policy/key-store.js';
import { FakeClock } from './support/clock.js';
import { thrown } from './support/thrown.js';

/** A keyStore function over a table, counting its calls per key. */
function counted(table: Record<string, string>, async = false) {
  const calls = new Map<string, number>();
  const fn: KeyStoreFunction = (key) => {
    calls.set(key, (calls.get(key) ?? 0) + 1);
    const tier = Object.hasOwn(table, key) ? table[key] : undefined;
    return async ? Promise.resolve(tier) : tier;
  };
  return { fn, calls: (key: string) => calls.get(key) ?? 0 };
}

/** A promise settled by hand. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const PRO: KeyStoreOutcome = { kind: 'tier', tier: 'pro' };
const UNKNOWN: KeyStoreOutcome = { kind: 'unknown' };

afterEach(() => {
  vi.useRealTimers();
});

describe('KeyStore caches', () => {
  test('defaults, from a bare function', () => {
    const store = new KeyStore(() => undefined);
    expect(store.maxEntries).toBe(10_000);
    expect(store.ttlMs).toBe(60_000);
    expect(store.missTtlMs).toBe(10_000);
    expect(store.timeoutMs).toBe(1000);
    expect(store.onKeyStoreError).toBe('default');
  });

  test('a found key for ttlMs, answered synchronously from the cache', () => {
    const clock = new FakeClock();
    const db = counted({ key_pro: 'pro' });
    const store = new KeyStore({ lookup: db.fn, ttlMs: 1000, clock: clock.read });
    expect(store.lookup('key_pro')).toEqual(PRO);
    clock.advance(999);
    expect(store.lookup('key_pro')).toEqual(PRO);
    expect(db.calls('key_pro')).toBe(1);
    clock.advance(1);
    expect(store.lookup('key_pro')).toEqual(PRO);
    expect(db.calls('key_pro')).toBe(2);
  });

  test('an unknown key for missTtlMs, so random keys do not reach the database twice', () => {
    const clock = new FakeClock();
    const db = counted({});
    const store = new KeyStore({ lookup: db.fn, ttlMs: 60_000, missTtlMs: 500, clock: clock.read });
    expect(store.lookup('random')).toEqual(UNKNOWN);
    clock.advance(499);
    expect(store.lookup('random')).toEqual(UNKNOWN);
    expect(db.calls('random')).toBe(1);
    clock.advance(1);
    store.lookup('random');
    expect(db.calls('random')).toBe(2);
    // null is unknown too.
    expect(new KeyStore(() => null).lookup('x')).toEqual(UNKNOWN);
  });

  test('an async lookup resolves once, then answers synchronously', async () => {
    const clock = new FakeClock();
    const db = counted({ key_pro: 'pro' }, true);
    const store = new KeyStore({ lookup: db.fn, clock: clock.read });
    const first = store.lookup('key_pro');
    expect(first).toBeInstanceOf(Promise);
    expect(await first).toEqual(PRO);
    expect(store.lookup('key_pro')).toEqual(PRO);
    expect(db.calls('key_pro')).toBe(1);
  });

  test('concurrent lookups of one key share one call', async () => {
    const pending = deferred<string | undefined>();
    let calls = 0;
    const store = new KeyStore(() => {
      calls++;
      return pending.promise;
    });
    const all = [store.lookup('k1'), store.lookup('k1'), store.lookup('k1', sha256Hex('k1'))];
    expect(calls).toBe(1);
    pending.resolve('pro');
    expect(await Promise.all(all)).toEqual([PRO, PRO, PRO]);
    expect(store.lookup('k1')).toEqual(PRO);
    expect(calls).toBe(1);
  });

  test('different keys are looked up separately', async () => {
    const db = counted({ a: 'free', b: 'pro' }, true);
    const store = new KeyStore(db.fn);
    expect(await Promise.all([store.lookup('a'), store.lookup('b'), store.lookup('c')])).toEqual([
      { kind: 'tier', tier: 'free' },
      PRO,
      UNKNOWN,
    ]);
    expect([db.calls('a'), db.calls('b'), db.calls('c')]).toEqual([1, 1, 1]);
  });

  test('at most maxEntries keys, the least recently used evicted first', () => {
    const db = counted({ a: 'free', b: 'free', c: 'free' });
    const store = new KeyStore({ lookup: db.fn, maxEntries: 2 });
    store.lookup('a');
    store.lookup('b');
    store.lookup('a'); // a is now the most recently used
    store.lookup('c'); // evicts b
    expect(store.size).toBe(2);
    store.lookup('a');
    store.lookup('c');
    expect([db.calls('a'), db.calls('b'), db.calls('c')]).toEqual([1, 1, 1]);
    store.lookup('b'); // evicts a
    store.lookup('a');
    expect([db.calls('a'), db.calls('b'), db.calls('c')]).toEqual([2, 2, 1]);
  });

  test('a bounded cache under a stream of random keys keeps its size', () => {
    const store = new KeyStore({ lookup: () => undefined, maxEntries: 50 });
    for (let i = 0; i < 1000; i++) store.lookup(`random-${i}`);
    expect(store.size).toBe(50);
  });

  test('keys are held by digest, never raw', async () => {
    const secret = 'sk_live_very_secret_value_0123456789';
    const store = new KeyStore(async () => 'pro');
    await store.lookup(secret);
    expect(store.size).toBe(1);
    expect(inspect(store, { showHidden: true, depth: Number.POSITIVE_INFINITY })).not.toContain(secret);
    expect(inspect(store, { showHidden: true, depth: Number.POSITIVE_INFINITY })).toContain(
      sha256Hex(secret),
    );
  });

  test('delete and clear forget keys, and an answer already on its way is not cached', async () => {
    const db = counted({ a: 'free', b: 'pro' });
    const store = new KeyStore(db.fn);
    store.lookup('a');
    store.lookup('b');
    expect(store.delete('a')).toBe(true);
    expect(store.delete('a')).toBe(false);
    expect(store.deleteDigest(sha256Hex('b'))).toBe(true);
    store.lookup('b');
    expect(db.calls('b')).toBe(2);
    store.lookup('a');
    store.lookup('b');
    expect([db.calls('a'), db.calls('b')]).toEqual([2, 2]);
    store.clear();
    expect(store.size).toBe(0);
    store.lookup('b');
    expect(db.calls('b')).toBe(3);

    const pending = deferred<string>();
    const slow = new KeyStore(() => pending.promise);
    const before = slow.lookup('x');
    slow.clear();
    pending.resolve('free');
    expect(await before).toEqual({ kind: 'tier', tier: 'free' });
    expect(slow.size).toBe(0);
  });
});

describe('KeyStore failures resolve to { kind: "error" }, never cached', () => {
  test('a throw, a rejection, a non-Error rejection', async () => {
    let calls = 0;
    const boom = new Error('database down');
    const sync = new KeyStore(() => {
      calls++;
      throw boom;
    });
    expect(sync.lookup('k')).toEqual({ kind: 'error', error: boom });
    expect(sync.lookup('k')).toEqual({ kind: 'error', error: boom });
    expect(calls).toBe(2);
    expect(sync.size).toBe(0);

    const rejected = new KeyStore(() => Promise.reject(boom));
    expect(await rejected.lookup('k')).toEqual({ kind: 'error', error: boom });
    const odd = (await new KeyStore(() => Promise.reject('nope')).lookup('k')) as { error: Error };
    expect(odd.error).toBeInstanceOf(Error);
    expect(odd.error.message).toBe('nope');
  });

  test('a value that is not a tier name', async () => {
    for (const value of [42, '', {}, ['pro'], true]) {
      const outcome = (await new KeyStore(() => value as never).lookup('k')) as {
        kind: string;
        error: Error;
      };
      expect(outcome.kind).toBe('error');
      expect(outcome.error).toBeInstanceOf(InvalidOptionError);
      expect(outcome.error.message).toContain('a tier name');
    }
  });

  test('a lookup slower than timeoutMs; its late answer is still cached', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const pending = deferred<string>();
    let calls = 0;
    const store = new KeyStore({
      lookup: () => {
        calls++;
        return pending.promise;
      },
      timeoutMs: 200,
    });
    const first = store.lookup('k');
    await vi.advanceTimersByTimeAsync(199);
    const joined = store.lookup('k');
    expect(calls).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    const outcome = (await first) as { kind: string; error: CallbackTimeoutError };
    expect(outcome.kind).toBe('error');
    expect(outcome.error).toBeInstanceOf(CallbackTimeoutError);
    expect(outcome.error.callback).toBe('keyStore');
    expect(outcome.error.message).toContain('200 ms');
    expect(await joined).toBe(outcome);
    pending.resolve('pro');
    await pending.promise; // the store's own handler of the answer was registered first, so it has run
    expect(store.lookup('k')).toEqual(PRO);
    expect(calls).toBe(1);
  });

  test('after a timeout the next lookup asks again, so a hung call cannot lock a key out', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    let calls = 0;
    const store = new KeyStore({
      lookup: () => {
        calls++;
        return calls === 1 ? new Promise<string>(() => {}) : Promise.resolve('pro');
      },
      timeoutMs: 50,
    });
    const first = store.lookup('k');
    await vi.advanceTimersByTimeAsync(50);
    expect(((await first) as { kind: string }).kind).toBe('error');
    expect(await store.lookup('k')).toEqual(PRO);
    expect(calls).toBe(2);
  });
});

describe('KeyStore options', () => {
  test('onKeyStoreError is "default" or "reject"', () => {
    expect(keyStoreErrorPolicy(undefined)).toBe('default');
    expect(keyStoreErrorPolicy('reject')).toBe('reject');
    expect(new KeyStore({ lookup: () => undefined, onKeyStoreError: 'reject' }).onKeyStoreError).toBe(
      'reject',
    );
    const e = thrown(() => keyStoreErrorPolicy('deny'));
    expect(e.field).toBe('onKeyStoreError');
    expect(e.message).toContain('"default" (serve the request in defaultTier, counted by IP) or "reject"');
    expect(
      thrown(() => new KeyStore({ lookup: () => undefined, onKeyStoreError: 'allow' as never })).field,
    ).toBe('keyStore.onKeyStoreError');
  });

  test('an unknown option gets a "did you mean"', () => {
    const e = thrown(() => new KeyStore({ lookup: () => undefined, ttl: 5 } as never));
    expect(e.field).toBe('keyStore.ttl');
    expect(e.message).toContain('did you mean "ttlMs"');
    expect(e.message).toContain(`known options: ${KEY_STORE_OPTION_KEYS.join(', ')}`);
    expect(thrown(() => new KeyStore({ lookup: () => undefined, maxentries: 5 } as never)).message).toContain(
      'did you mean "maxEntries"',
    );
  });

  test('bad values name the field, under the name given', () => {
    const lookup = () => undefined;
    for (const [options, field] of [
      [{ lookup, maxEntries: 0 }, 'tiers.keyStore.maxEntries'],
      [{ lookup, ttlMs: -1 }, 'tiers.keyStore.ttlMs'],
      [{ lookup, missTtlMs: 1.5 }, 'tiers.keyStore.missTtlMs'],
      [{ lookup, timeoutMs: '1s' }, 'tiers.keyStore.timeoutMs'],
      [{ lookup, clock: 5 }, 'tiers.keyStore.clock'],
      [{ lookup: 'db' }, 'tiers.keyStore.lookup'],
      [{}, 'tiers.keyStore.lookup'],
      [null, 'tiers.keyStore'],
      ['db', 'tiers.keyStore'],
    ] as const) {
      expect(thrown(() => new KeyStore(options as never, 'tiers.keyStore')).field).toBe(field);
    }
  });
});
