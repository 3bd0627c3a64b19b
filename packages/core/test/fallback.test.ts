import { describe, expect, it } from 'vitest';
import type { StepOutcome } from '../src/algorithms/types.js';
import {
  type Backend,
  BackendError,
  CircuitBreaker,
  ClosedError,
  fixedWindow,
  gcra,
  hybrid,
  InvalidOptionError,
  type Keyspace,
  leakyBucket,
  MemoryBackend,
  RateLimiter,
  shareOf,
  slidingLog,
  slidingWindow,
  tokenBucket,
} from '../src/index.js';

/** A backend whose calls succeed (on memory) or fail with a BackendError, and that counts its instances. */
class Outage implements Backend {
  down = false;
  instances = 1;
  readonly inner = new MemoryBackend();

  evaluate(space: Keyspace, key: string, cost: number, peek: boolean): Promise<readonly StepOutcome[]> {
    if (this.down) return Promise.reject(new BackendError('Redis is gone'));
    return Promise.resolve(this.inner.evaluate(space, key, cost, peek));
  }
  delete(space: Keyspace, key: string): Promise<void> {
    if (this.down) return Promise.reject(new BackendError('Redis is gone'));
    return Promise.resolve(this.inner.delete(space, key));
  }
  instanceCount(): number {
    return this.instances;
  }
  async close(): Promise<void> {}
}

function limiterOn(backend: Backend, onBackendError: RateLimiter['onBackendError'], rate = '4/minute') {
  return new RateLimiter({ algorithm: fixedWindow(rate), backend, onBackendError });
}

describe('onBackendError in RateLimiter', () => {
  it("'throw' (the default) rejects with the backend's error, as before", async () => {
    const backend = new Outage();
    backend.down = true;
    const limiter = new RateLimiter({ algorithm: fixedWindow('4/minute'), backend });
    expect(limiter.onBackendError).toBe('throw');
    await expect(limiter.limit('k')).rejects.toBeInstanceOf(BackendError);
    await expect(limiter.peek('k')).rejects.toBeInstanceOf(BackendError);
    await expect(limiter.reset('k')).rejects.toBeInstanceOf(BackendError);
  });

  it("'allow' answers allowed and says so; peek too; reset does nothing and resolves", async () => {
    const backend = new Outage();
    const limiter = limiterOn(backend, 'allow');
    expect((await limiter.limit('k')).fallback).toBeUndefined();
    backend.down = true;
    for (let i = 0; i < 6; i++) {
      expect(await limiter.limit('k')).toMatchObject({ allowed: true, fallback: 'allow', retryAfterMs: 0 });
    }
    expect(await limiter.peek('k')).toMatchObject({ allowed: true, fallback: 'allow' });
    await expect(limiter.reset('k')).resolves.toBeUndefined();
    backend.down = false;
    // Nothing the fallback allowed was counted anywhere: the backend still holds the one call it decided
    // (peek tells what one more would leave).
    expect(await limiter.peek('k')).toMatchObject({ remaining: 2 });
    expect((await limiter.peek('k')).fallback).toBeUndefined();
  });

  it("'deny' answers refused with a retry; peek too; reset rejects", async () => {
    const backend = new Outage();
    backend.down = true;
    const limiter = limiterOn(backend, 'deny');
    const d = await limiter.limit('k');
    expect(d).toMatchObject({ allowed: false, fallback: 'deny', remaining: 0, limit: 4 });
    expect(d.retryAfterMs).toBeGreaterThan(0);
    expect(await limiter.peek('k')).toMatchObject({ allowed: false, fallback: 'deny' });
    await expect(limiter.reset('k')).rejects.toBeInstanceOf(BackendError);
    await expect(limiter.consume('k')).rejects.toMatchObject({ decision: { fallback: 'deny' } });
  });

  it("'local' decides in memory on this instance's share, and says so", async () => {
    const backend = new Outage();
    backend.down = true;
    backend.instances = 2;
    const limiter = limiterOn(backend, 'local');
    const decisions = [];
    for (let i = 0; i < 3; i++) decisions.push(await limiter.limit('k'));
    // 4/minute over 2 instances: 2 each.
    expect(decisions.map((d) => [d.allowed, d.remaining, d.limit, d.fallback])).toEqual([
      [true, 1, 2, 'local'],
      [true, 0, 2, 'local'],
      [false, 0, 2, 'local'],
    ]);
    expect(await limiter.peek('k')).toMatchObject({ allowed: false, fallback: 'local' });
    // reset forgets the local count (the backend's cannot be reached).
    await limiter.reset('k');
    expect(await limiter.limit('k')).toMatchObject({ allowed: true, remaining: 1, fallback: 'local' });
    // Other keys and scopes count apart, locally too.
    expect(await limiter.limit('other')).toMatchObject({ remaining: 1 });
    expect(await limiter.limit('k', { scope: 'GET /a' })).toMatchObject({ remaining: 1 });
  });

  it("'local' is shared by every limiter on one backend, and forgotten when the breaker closes", async () => {
    const outage = new Outage();
    let now = 0;
    const breaker = new CircuitBreaker({
      backend: outage,
      failureThreshold: 1,
      openMs: 1000,
      clock: () => now,
    });
    const a = limiterOn(breaker, 'local', '2/minute');
    const b = limiterOn(breaker, 'local', '2/minute');
    outage.down = true;
    expect(await a.limit('k')).toMatchObject({ allowed: true, fallback: 'local' });
    // The breaker is open now: answered at once, locally, with the count a made.
    expect(breaker.health().state).toBe('open');
    expect(await b.limit('k')).toMatchObject({ allowed: true, remaining: 0, fallback: 'local' });
    expect(await a.limit('k')).toMatchObject({ allowed: false, fallback: 'local' });
    outage.down = false;
    now += 1000;
    // The probe closes the breaker and is answered by the backend; the local counts are dropped.
    expect((await a.limit('k')).fallback).toBeUndefined();
    expect(breaker.health().state).toBe('closed');
    outage.down = true;
    now += 1;
    const after = await a.limit('k');
    expect(after).toMatchObject({ allowed: true, remaining: 1, fallback: 'local' });
  });

  it('bugs are not outages: a closed backend or bad input still throws whatever the policy', async () => {
    const memory = new MemoryBackend();
    const limiter = new RateLimiter({
      algorithm: fixedWindow('4/minute'),
      backend: memory,
      onBackendError: 'allow',
    });
    await memory.close();
    await expect(limiter.limit('k')).rejects.toBeInstanceOf(ClosedError);
    await expect(limiter.limit('')).rejects.toThrow(/key/);
  });

  it('refuses an unknown policy, naming the field and the value', () => {
    expect(
      () => new RateLimiter({ algorithm: fixedWindow('1/s'), onBackendError: 'retry' as never }),
    ).toThrow(InvalidOptionError);
    expect(
      () => new RateLimiter({ algorithm: fixedWindow('1/s'), onBackendError: 'retry' as never }),
    ).toThrow(/onBackendError.*retry/);
  });

  it("a hybrid's members each get their share", async () => {
    const backend = new Outage();
    backend.down = true;
    backend.instances = 3;
    const limiter = new RateLimiter({
      algorithm: hybrid(fixedWindow('9/minute'), fixedWindow('30/hour')),
      backend,
      onBackendError: 'local',
    });
    const d = await limiter.limit('k');
    expect(d).toMatchObject({ allowed: true, fallback: 'local', limit: 3, remaining: 2 });
  });
});

describe('shareOf: one instance of n', () => {
  it('windows divide the limit and round down', () => {
    for (const make of [fixedWindow, slidingWindow, slidingLog]) {
      const s = shareOf(make('10/minute'), 4);
      expect([s.limit, s.windowMs, [...s.params]]).toEqual([2, 60_000, [2, 60_000]]);
    }
  });

  it('a window limit below n becomes 1 per a longer window: 3/minute over 4 is 1 per 80 s', () => {
    const s = shareOf(fixedWindow('3/minute'), 4);
    expect([s.limit, s.windowMs]).toEqual([1, 80_000]);
  });

  it('buckets divide capacity (at least 1) and refill n times slower', () => {
    const t = shareOf(tokenBucket({ capacity: 10, refillRate: '5/s' }), 4);
    expect([...t.params]).toEqual([2, 5, 4000]);
    expect(t.limit).toBe(2);
    const l = shareOf(leakyBucket({ capacity: 2, leakRate: '1/s' }), 4);
    expect([...l.params]).toEqual([1, 1, 4000]);
  });

  it('GCRA paces n times slower and divides the burst', () => {
    const g = shareOf(gcra({ limit: 10, period: '1s', burst: 8 }), 2);
    expect([...g.params]).toEqual([10, 2000, 4]);
    expect(g.limit).toBe(4);
  });

  it('one instance, or a fleet of one, changes nothing', () => {
    const f = fixedWindow('3/minute');
    expect(shareOf(f, 1)).toBe(f);
  });

  it("a share allows exactly its limit on memory, and the fleet's sum never exceeds the limit", () => {
    for (const n of [1, 2, 3, 4, 7]) {
      const share = shareOf(fixedWindow('10/minute'), n);
      let allowed = 0;
      let state: number[] | undefined;
      for (let i = 0; i < 20; i++) {
        const r = share.step(state, 0, 1);
        if (r.allowed) {
          allowed++;
          state = r.state ?? undefined;
        }
      }
      expect(allowed * n).toBeLessThanOrEqual(10);
      expect(allowed).toBe(Math.floor(10 / n));
    }
  });
});
