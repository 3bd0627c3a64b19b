import { describe, expect, it } from 'vitest';
import {
  ClosedError,
  fixedWindow,
  hybrid,
  InvalidKeyError,
  MemoryBackend,
  RateLimiter,
  tokenBucket,
} from '../src/index.js';
import { describeBackendBehaviour } from './support/behaviour.js';
import { FakeClock } from './support/clock.js';
import { runTs } from './support/spawn.js';

describeBackendBehaviour('MemoryBackend', (clock) => {
  const backend = new MemoryBackend({ clock });
  return {
    backend,
    size: async () => backend.size,
    // Memory expiry follows the injected clock: nothing to wait for.
    awaitExpiry: async () => {},
  };
});

describe('MemoryBackend specifics', () => {
  const setup = (maxKeys?: number) => {
    const clock = new FakeClock();
    const backend = new MemoryBackend({ clock: clock.read, maxKeys });
    const limiter = new RateLimiter({ algorithm: fixedWindow('5/minute'), backend });
    const remaining = async (key: string) => (await limiter.peek(key)).remaining;
    return { clock, backend, limiter, remaining };
  };

  it('evicts the least recently written key first when maxKeys is reached', async () => {
    const { backend, limiter, remaining } = setup(3);
    await limiter.limit('a');
    await limiter.limit('b');
    await limiter.limit('c');
    // Writing "a" again makes "b" the least recently written.
    await limiter.limit('a');
    await limiter.limit('d');
    expect(backend.size).toBe(3);
    expect(await remaining('b')).toBe(4);
    expect(await remaining('a')).toBe(2);
    expect(await remaining('c')).toBe(3);
    expect(await remaining('d')).toBe(3);
    // Reading is not writing: "c" stays least recently written despite the peek above.
    await limiter.limit('e');
    expect(backend.size).toBe(3);
    expect(await remaining('c')).toBe(4);
    expect(await remaining('a')).toBe(2);
    expect(await remaining('d')).toBe(3);
    expect(await remaining('e')).toBe(3);
  });

  it('never holds more than maxKeys', async () => {
    const { backend, limiter } = setup(10);
    for (let i = 0; i < 100; i++) await limiter.limit(`k${i}`);
    expect(backend.size).toBe(10);
  });

  it('drops an expired entry when it meets it, and sweeps expired ones on writes', async () => {
    const { clock, backend, limiter } = setup();
    for (const k of ['x1', 'x2', 'x3', 'x4']) await limiter.limit(k);
    expect(backend.size).toBe(4);
    clock.advance(59_999);
    await limiter.peek('x1');
    expect(backend.size).toBe(4);
    clock.advance(1);
    // Met by a read: gone at once.
    await limiter.peek('x1');
    expect(backend.size).toBe(3);
    // Writes to other keys sweep the rest without anyone reading them.
    await limiter.limit('y');
    await limiter.limit('z');
    expect(backend.size).toBe(2);
  });

  // The limiter's fast path leaves the well-formedness check to the backend, which makes it only for a key
  // it does not hold: a malformed key must be refused on every path, full tables and hybrids included.
  it('refuses a key that is not well-formed on every path, however full its tables', async () => {
    const { clock, backend, limiter } = setup();
    const both = new RateLimiter({
      algorithm: hybrid(tokenBucket({ capacity: 5, refillRate: '1/s' }), fixedWindow('5/minute')),
      backend,
      prefix: 'h',
    });
    for (let i = 0; i < 50; i++) {
      await limiter.limit(`user-${i}`);
      await both.limit(`user-${i}`);
    }
    for (const key of ['\uD800', 'user-1\uDC00', '\uDFFFuser-1']) {
      for (const l of [limiter, both]) {
        await expect(l.limit(key)).rejects.toThrow(InvalidKeyError);
        expect(() => l.decide(key)).toThrow(InvalidKeyError);
        await expect(l.peek(key)).rejects.toThrow(InvalidKeyError);
        expect(() => backend.evaluate(l.keyspace, key, 1, false)).toThrow(InvalidKeyError);
        expect(() => backend.decide(l.keyspace, key, 1)).toThrow(InvalidKeyError);
      }
    }
    // 50 keys of the fixed window, and 50 in each of the hybrid's two tables.
    expect(backend.size).toBe(150);
    // An expired entry is dropped on the way; its key, well-formed, counts afresh.
    clock.advance(60_000);
    expect(await limiter.limit('user-1')).toMatchObject({ allowed: true, remaining: 4 });
  });

  it('close() empties it and later use throws ClosedError', async () => {
    const { backend, limiter } = setup();
    await limiter.limit('a');
    await limiter.limit('b');
    await backend.close();
    expect(backend.size).toBe(0);
    expect(() => backend.evaluate(limiter.keyspace, 'k', 1, false)).toThrow(ClosedError);
    expect(() => backend.delete(limiter.keyspace, 'k')).toThrow(ClosedError);
    await expect(limiter.limit('a')).rejects.toBeInstanceOf(ClosedError);
  });

  it('clear() drops every key but keeps working', async () => {
    const { backend, limiter } = setup();
    await limiter.limit('a');
    backend.clear();
    expect(backend.size).toBe(0);
    expect((await limiter.limit('a')).remaining).toBe(4);
  });

  it('starts no timer while deciding', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const limiter = new RateLimiter({
      algorithm: hybrid(tokenBucket('10/s'), fixedWindow('100/minute')),
      backend: new MemoryBackend({ maxKeys: 5 }),
    });
    const pending = [];
    for (let i = 0; i < 50; i++) pending.push(limiter.limit(`k${i % 9}`), limiter.peek('k1'));
    pending.push(limiter.reset('k2'));
    expect(timers()).toBe(before);
    await Promise.all(pending);
    expect(timers()).toBe(before);
  });

  it('lets a process that used it, and never closed it, exit on its own', async () => {
    const child = runTs('memory-idle.ts');
    const result = await child.done;
    expect(result.exit).toEqual({ code: 0, signal: null });
    const report = JSON.parse(result.stdout.trim()) as { decisions: number; size: number };
    expect(report.decisions).toBe(500);
    expect(report.size).toBeGreaterThan(0);
  });
});
