import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Backend,
  BackendError,
  BackendTimeoutError,
  fixedWindow,
  RateLimiter,
  RedisBackend,
} from '../src/index.js';
import { type RedisInstance, startRedis } from './support/testkit.js';

/** A backend that accepts every call and never answers. */
const silent: Backend = {
  evaluate: () => new Promise(() => {}),
  delete: () => new Promise(() => {}),
  close: async () => {},
};

describe('limiter timeout', () => {
  it('rejects with BackendTimeoutError when the backend never answers', async () => {
    const limiter = new RateLimiter({ algorithm: fixedWindow('5/s'), backend: silent, timeoutMs: 20 });
    for (const call of [
      () => limiter.limit('k'),
      () => limiter.consume('k'),
      () => limiter.peek('k'),
      () => limiter.reset('k'),
    ]) {
      const error = await call().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BackendTimeoutError);
      // A timeout is a kind of backend failure, so one failure policy covers both.
      expect(error).toBeInstanceOf(BackendError);
      expect((error as BackendTimeoutError).code).toBe('ERR_DL_BACKEND_TIMEOUT');
      expect((error as Error).message).toContain('20 ms');
    }
  });

  it('wraps any other backend failure in BackendError, keeping the cause', async () => {
    const boom = new Error('boom');
    const failing: Backend = { ...silent, evaluate: () => Promise.reject(boom) };
    const limiter = new RateLimiter({ algorithm: fixedWindow('5/s'), backend: failing });
    const error = await limiter.limit('k').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect(error).not.toBeInstanceOf(BackendTimeoutError);
    expect((error as BackendError).cause).toBe(boom);
  });

  describe('on a paused Redis', () => {
    let server: RedisInstance;
    let client: Redis;
    beforeAll(async () => {
      server = await startRedis();
      client = new Redis(server.url);
    });
    afterAll(async () => {
      server.resume();
      client.disconnect();
      await server.stop();
    });

    it('times out while Redis is frozen, and the call that timed out is not charged once it resumes', async () => {
      const limiter = new RateLimiter({
        algorithm: fixedWindow('5/minute'),
        backend: new RedisBackend({ client, timeoutMs: 200, breaker: false }),
      });
      expect((await limiter.limit('k')).remaining).toBe(4);
      server.pause();
      try {
        const error = await limiter.limit('k').catch((e: unknown) => e);
        expect(error).toBeInstanceOf(BackendTimeoutError);
      } finally {
        server.resume();
      }
      // The call that timed out reached Redis only after its deadline: the script refused it, so a
      // timeout ("no answer in time") also means "not charged", and the count goes on from 4.
      expect(await limiter.limit('k')).toMatchObject({ allowed: true, remaining: 3 });
    });
  });
});
