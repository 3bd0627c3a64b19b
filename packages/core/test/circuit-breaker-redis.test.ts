import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BackendError,
  CircuitBreaker,
  CircuitOpenError,
  fixedWindow,
  RateLimiter,
  RedisBackend,
} from '../src/index.js';
import { type RedisInstance, startRedis } from './support/testkit.js';

// Real faults on a redis-server of our own: no mock of Redis. The breaker's clock is moved by hand, so
// openMs never has to pass in real time; the only real waits are for redis-server and ioredis to recover,
// polled with a generous bound and never asserted on.

const errorOf = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  );

/** A breaker on a hand-moved clock around `backend`, with a limiter over it and a log of its events. */
function guarded(backend: RedisBackend, timeoutMs: number) {
  let now = 0;
  const breaker = new CircuitBreaker({
    backend,
    failureThreshold: 3,
    openMs: 1000,
    timeoutMs,
    clock: () => now,
  });
  const events: string[] = [];
  breaker.on('open', () => events.push('open'));
  breaker.on('halfOpen', () => events.push('halfOpen'));
  breaker.on('close', () => events.push('close'));
  const limiter = new RateLimiter({ algorithm: fixedWindow('100/minute'), backend: breaker });
  // Lets openMs pass on the breaker's clock, then sends one probe; repeated until one closes the breaker,
  // since ioredis reconnects on its own backoff after the server is back.
  const probeUntilClosed = async (key: string) => {
    const deadline = Date.now() + 15_000;
    while (breaker.health().state !== 'closed' && Date.now() < deadline) {
      now += 1000;
      const result = await errorOf(limiter.limit(key));
      if (result !== undefined) await new Promise((r) => setTimeout(r, 50));
    }
  };
  return { breaker, limiter, events, probeUntilClosed };
}

describe('CircuitBreaker around a real RedisBackend', () => {
  let server: RedisInstance;
  let observer: Redis;
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    server.resume();
    observer?.disconnect();
    await server.stop();
  });

  it('opens when redis-server stops, refuses at once, and closes on a probe after restart', async () => {
    const backend = new RedisBackend({ client: server.url });
    const outages: Error[] = [];
    backend.on('connectionError', (e) => outages.push(e));
    const { breaker, limiter, events, probeUntilClosed } = guarded(backend, 300);
    try {
      expect(await limiter.limit('u1')).toMatchObject({ allowed: true, remaining: 99 });
      await server.stop();
      for (let i = 0; i < 3; i++) expect(await errorOf(limiter.limit('u1'))).toBeInstanceOf(BackendError);
      expect(breaker.health()).toMatchObject({ state: 'open', consecutiveFailures: 3 });
      // Open: refused synchronously, so nothing reached ioredis (not even its offline queue).
      expect(() => limiter.decide('u1')).toThrow(CircuitOpenError);

      await server.restart();
      await probeUntilClosed('u2');
      expect(breaker.health().state).toBe('closed');
      expect(events[0]).toBe('open');
      expect(events.slice(-2)).toEqual(['halfOpen', 'close']);

      // Decisions go through Redis again: the restarted (empty) server holds the new count.
      const d = await limiter.limit('u3');
      expect(d).toMatchObject({ allowed: true, remaining: 99 });
      observer = new Redis(server.url);
      const [key] = limiter.keysFor('u3');
      expect(await observer.exists(key!)).toBe(1);
      // Once per outage at most: none when the server was back before a reconnect attempt failed.
      expect(outages.length).toBeLessThanOrEqual(1);
    } finally {
      await breaker.close();
    }
  });

  it('opens on timeouts while redis-server is paused, and closes once it resumes', async () => {
    const client = new Redis(server.url);
    const { breaker, limiter, events, probeUntilClosed } = guarded(new RedisBackend({ client }), 100);
    try {
      expect(await limiter.limit('p1')).toMatchObject({ allowed: true });
      server.pause();
      try {
        for (let i = 0; i < 3; i++) await errorOf(limiter.limit('p1'));
        expect(breaker.health()).toMatchObject({ state: 'open', consecutiveFailures: 3 });
        expect(breaker.health().lastError!.message).toContain('100 ms');
        expect(await errorOf(limiter.limit('p1'))).toBeInstanceOf(CircuitOpenError);
      } finally {
        server.resume();
      }
      await probeUntilClosed('p2');
      expect(events).toEqual(['open', 'halfOpen', 'close']);
      expect(await limiter.limit('p3')).toMatchObject({ allowed: true, remaining: 99 });
    } finally {
      await breaker.close();
      client.disconnect();
    }
  });
});
