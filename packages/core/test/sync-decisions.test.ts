import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import {
  fixedWindow,
  HttpLimiter,
  InvalidCostError,
  InvalidKeyError,
  MemoryBackend,
  RateLimiter,
  RedisBackend,
} from '../src/index.js';
import { FakeClock } from './support/clock.js';
import { redisUrlForTests } from './support/testkit.js';

const request = (ip: string) => ({ ip, method: 'GET', path: '/', header: () => undefined });

describe('synchronous decisions', () => {
  const client = new Redis(redisUrlForTests());
  afterAll(() => client.quit());

  it('decide() answers a memory decision synchronously, with the same counts as limit()', async () => {
    const clock = new FakeClock(1_000_000);
    const limiter = new RateLimiter({
      algorithm: fixedWindow('2/minute'),
      backend: new MemoryBackend({ clock: clock.read }),
    });
    const first = limiter.decide('k');
    expect(first).not.toBeInstanceOf(Promise);
    expect(first).toEqual({
      allowed: true,
      limit: 2,
      remaining: 1,
      resetAfterMs: 60_000,
      retryAfterMs: 0,
      binding: 0,
    });
    expect(await limiter.limit('k')).toMatchObject({ allowed: true, remaining: 0 });
    expect(limiter.decide('k')).toEqual({
      allowed: false,
      limit: 2,
      remaining: 0,
      resetAfterMs: 60_000,
      retryAfterMs: 60_000,
      binding: 0,
    });
  });

  it('decide() returns a Promise on Redis and throws (not rejects) on invalid input', async () => {
    const limiter = new RateLimiter({
      algorithm: fixedWindow('2/minute'),
      backend: new RedisBackend({ client }),
      prefix: `sync-${Date.now()}`,
    });
    const pending = limiter.decide('k');
    expect(pending).toBeInstanceOf(Promise);
    expect(await pending).toMatchObject({ allowed: true, remaining: 1 });
    expect(() => limiter.decide('')).toThrow(InvalidKeyError);
    expect(() => limiter.decide('k', { cost: 0 })).toThrow(InvalidCostError);
    await limiter.reset('k');
  });

  it('HttpLimiter.evaluate() is synchronous in the default configuration on memory, and handle() agrees', async () => {
    const http = new HttpLimiter({ rate: '2/minute' });
    const outcome = http.evaluate(request('10.0.0.1'));
    expect(outcome).not.toBeInstanceOf(Promise);
    expect(outcome).toMatchObject({ allowed: true, status: 200 });
    expect((outcome as { headers: Record<string, string> }).headers['X-RateLimit-Remaining']).toBe('1');
    const viaHandle = await http.handle(request('10.0.0.1'));
    expect(viaHandle.headers['X-RateLimit-Remaining']).toBe('0');
    // A refusal may go through the (possibly asynchronous) message and onLimited hooks.
    expect(await http.evaluate(request('10.0.0.1'))).toMatchObject({ allowed: false, status: 429 });
  });

  it('HttpLimiter.evaluate() returns a Promise when callbacks or an asynchronous backend are involved', async () => {
    const withSkip = new HttpLimiter({ rate: '2/minute', skip: () => false });
    expect(withSkip.evaluate(request('10.0.0.2'))).toBeInstanceOf(Promise);
    const onRedis = new HttpLimiter({
      rate: '2/minute',
      backend: new RedisBackend({ client }),
      prefix: `sync-http-${Date.now()}`,
    });
    const pending = onRedis.evaluate(request('10.0.0.3'));
    expect(pending).toBeInstanceOf(Promise);
    expect(await pending).toMatchObject({ allowed: true });
  });
});
