import { Cluster, Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DenyCache } from '../src/backends/deny-cache.js';
import { RESET_CHANNEL } from '../src/backends/reset-channel.js';
import {
  type Algorithm,
  fixedWindow,
  hybrid,
  InvalidOptionError,
  RateLimiter,
  RedisBackend,
  type RedisBackendHealth,
} from '../src/index.js';
import { FakeClock } from './support/clock.js';
import {
  type RedisClusterInstance,
  type RedisInstance,
  startRedis,
  startRedisCluster,
} from './support/testkit.js';

// Issue 14: a refusal by Redis is remembered in process until the time Redis gave, so a client hammering
// past its limit costs no Redis call; a reset through the API forgets it on every instance.

let standalone: RedisInstance;
let cluster: RedisClusterInstance;
// The test's own connections, which count commands and run nothing through a backend.
let server: Redis;
let clusterClient: Cluster;
const backends: RedisBackend[] = [];
let prefixes = 0;

beforeAll(async () => {
  [standalone, cluster] = await Promise.all([startRedis(), startRedisCluster({ masters: 3 })]);
  server = new Redis(standalone.url);
  clusterClient = new Cluster(cluster.nodes);
  await clusterClient.ping();
});

afterEach(async () => {
  await Promise.all(backends.splice(0).map((b) => b.close()));
});

afterAll(async () => {
  await Promise.all([server?.quit(), clusterClient?.quit()]);
  await Promise.all([standalone?.stop(), cluster?.stop()]);
});

function backendOn(client: Redis | Cluster | string, clock: FakeClock, denyCache?: boolean): RedisBackend {
  const backend = new RedisBackend({
    client,
    clock: clock.read,
    // On unless the case turns it off: an injected clock alone would turn it off.
    denyCache: denyCache ?? true,
  });
  backends.push(backend);
  return backend;
}

function limiterOn(backend: RedisBackend, algorithm: Algorithm, prefix: string): RateLimiter {
  return new RateLimiter({ algorithm, backend, prefix });
}

function deniedLocally(limiter: RateLimiter): number {
  return (limiter.health() as RedisBackendHealth).deniedLocally;
}

/** Script calls a node has run (EVALSHA, and EVAL for a script it did not hold yet). */
async function scriptCalls(node: Redis): Promise<number> {
  const stats = await node.info('commandstats');
  let calls = 0;
  for (const m of stats.matchAll(/cmdstat_(?:evalsha|eval):calls=(\d+)/g)) calls += Number(m[1]);
  return calls;
}

/** Connections subscribed to the reset channel (closed backends' may linger a moment, never more). */
async function subscriberCount(): Promise<number> {
  const [, count] = (await server.pubsub('NUMSUB', RESET_CHANNEL)) as [string, number];
  return Number(count);
}

/** Script calls on every master of the test cluster. */
async function clusterScriptCalls(): Promise<number> {
  const counts = await Promise.all(clusterClient.nodes('master').map((n) => scriptCalls(n)));
  return counts.reduce((a, b) => a + b, 0);
}

/**
 * Asks until a refusal is answered in process: the first refusal starts the reset channel, and refusals
 * are kept only once it listens. Bounded by attempts, not time; the caller asserts afterwards.
 */
async function untilDeniedLocally(limiter: RateLimiter, key: string, cost = 1): Promise<void> {
  const before = deniedLocally(limiter);
  for (let i = 0; i < 500 && deniedLocally(limiter) === before; i++) {
    const d = await limiter.limit(key, { cost });
    expect(d.allowed).toBe(false);
    await new Promise((r) => setTimeout(r, 5));
  }
  expect(deniedLocally(limiter)).toBeGreaterThan(before);
}

/** Asks until a decision is allowed (a cleared cache lets the request reach Redis), bounded by attempts. */
async function untilAllowed(limiter: RateLimiter, key: string): Promise<boolean> {
  for (let i = 0; i < 500; i++) {
    if ((await limiter.limit(key)).allowed) return true;
    await new Promise((r) => setTimeout(r, 5));
  }
  return false;
}

async function spend(limiter: RateLimiter, key: string, times: number): Promise<void> {
  for (let i = 0; i < times; i++) expect((await limiter.limit(key)).allowed).toBe(true);
}

describe('deny cache on a standalone Redis', () => {
  it('answers a hammered key in process, as Redis would, until the retry time', async () => {
    const clock = new FakeClock();
    const limiter = limiterOn(backendOn(standalone.url, clock), fixedWindow('3/minute'), `deny${prefixes++}`);
    await spend(limiter, 'abuser', 3);
    const fromRedis = await limiter.peek('abuser');
    await untilDeniedLocally(limiter, 'abuser');

    const calls = await scriptCalls(server);
    const denied = deniedLocally(limiter);
    const hammered = await Promise.all(Array.from({ length: 100 }, () => limiter.limit('abuser')));
    expect(hammered.every((d) => d.allowed === false)).toBe(true);
    expect(hammered[0]).toEqual(fromRedis);
    expect(deniedLocally(limiter) - denied).toBe(100);

    // Time passes: the same refusal, its durations shortened by it.
    clock.advance(20_000);
    const later = await limiter.limit('abuser');
    expect(later).toMatchObject({
      allowed: false,
      remaining: 0,
      retryAfterMs: fromRedis.retryAfterMs - 20_000,
      resetAfterMs: fromRedis.resetAfterMs - 20_000,
    });
    expect(await scriptCalls(server)).toBe(calls);

    // At the retry time Redis is asked again, and allows.
    clock.advance(fromRedis.retryAfterMs - 20_000);
    expect((await limiter.limit('abuser')).allowed).toBe(true);
    expect(await scriptCalls(server)).toBe(calls + 1);
  });

  it('refuses a dearer request in process, and asks Redis for a cheaper one', async () => {
    const clock = new FakeClock();
    const limiter = limiterOn(backendOn(standalone.url, clock), fixedWindow('3/minute'), `deny${prefixes++}`);
    await spend(limiter, 'k', 2);
    await untilDeniedLocally(limiter, 'k', 2);
    const calls = await scriptCalls(server);

    expect((await limiter.limit('k', { cost: 3 })).allowed).toBe(false);
    expect(await scriptCalls(server)).toBe(calls);

    // Dearer than the limit: Redis says never, not this refusal's retry, so it is asked.
    const never = await limiter.limit('k', { cost: 4 });
    expect(never).toMatchObject({ allowed: false, retryAfterMs: Number.POSITIVE_INFINITY });
    expect(await scriptCalls(server)).toBe(calls + 1);

    const cheaper = await limiter.limit('k', { cost: 1 });
    expect(cheaper).toMatchObject({ allowed: true, remaining: 0 });
    expect(await scriptCalls(server)).toBe(calls + 2);
  });

  it('never answers a peek, and a peek that Redis allows drops a stale refusal', async () => {
    const clock = new FakeClock();
    const limiter = limiterOn(backendOn(standalone.url, clock), fixedWindow('2/minute'), `deny${prefixes++}`);
    await spend(limiter, 'k', 2);
    await untilDeniedLocally(limiter, 'k');
    const calls = await scriptCalls(server);
    expect((await limiter.peek('k')).allowed).toBe(false);
    expect(await scriptCalls(server)).toBe(calls + 1);

    // Deleted behind the backend's back: only Redis knows, and a peek brings the news.
    await server.del(...limiter.keysFor('k'));
    expect((await limiter.peek('k')).allowed).toBe(true);
    expect((await limiter.limit('k')).allowed).toBe(true);
  });

  it('remembers a cost above the limit as never, for that cost and more', async () => {
    const clock = new FakeClock();
    const limiter = limiterOn(backendOn(standalone.url, clock), fixedWindow('3/minute'), `deny${prefixes++}`);
    await untilDeniedLocally(limiter, 'k', 5);
    const calls = await scriptCalls(server);
    const d = await limiter.limit('k', { cost: 9 });
    expect(d).toMatchObject({ allowed: false, remaining: 3, retryAfterMs: Number.POSITIVE_INFINITY });
    clock.advance(3_600_000);
    expect((await limiter.limit('k', { cost: 5 })).allowed).toBe(false);
    expect(await scriptCalls(server)).toBe(calls);
    expect((await limiter.limit('k', { cost: 3 })).allowed).toBe(true);
  });

  it('keeps the longest retry of the refusing members of a hybrid', async () => {
    const clock = new FakeClock();
    const algorithm = hybrid(fixedWindow('2/second'), fixedWindow('2/minute'));
    const limiter = limiterOn(backendOn(standalone.url, clock), algorithm, `deny${prefixes++}`);
    await spend(limiter, 'k', 2);
    const fromRedis = await limiter.peek('k');
    expect(fromRedis.binding).toBe(1);
    await untilDeniedLocally(limiter, 'k');
    const calls = await scriptCalls(server);
    expect(await limiter.limit('k')).toEqual(fromRedis);
    // Past the per-second window, the per-minute one still refuses, in process.
    clock.advance(1000);
    expect(await limiter.limit('k')).toMatchObject({
      allowed: false,
      binding: 1,
      retryAfterMs: fromRedis.retryAfterMs - 1000,
    });
    expect(await scriptCalls(server)).toBe(calls);
  });

  it('never answers a changed rate from a refusal under the old one', async () => {
    const clock = new FakeClock();
    const backend = backendOn(standalone.url, clock);
    const prefix = `deny${prefixes++}`;
    const strict = limiterOn(backend, fixedWindow('2/minute'), prefix);
    await spend(strict, 'k', 2);
    await untilDeniedLocally(strict, 'k');
    // The same keys, a higher limit: the count carries over, and Redis allows.
    const relaxed = limiterOn(backend, fixedWindow('10/minute'), prefix);
    expect(await relaxed.limit('k')).toMatchObject({ allowed: true, remaining: 10 - 2 - 1 });
  });

  it('is forgotten by a reset on this instance', async () => {
    const clock = new FakeClock();
    const limiter = limiterOn(backendOn(standalone.url, clock), fixedWindow('2/minute'), `deny${prefixes++}`);
    await spend(limiter, 'k', 2);
    await untilDeniedLocally(limiter, 'k');
    await limiter.reset('k');
    expect((await limiter.limit('k')).allowed).toBe(true);
  });

  it('is forgotten on every instance when one resets the key', async () => {
    const clock = new FakeClock();
    const prefix = `deny${prefixes++}`;
    const a = limiterOn(backendOn(standalone.url, clock), fixedWindow('2/minute'), prefix);
    const b = limiterOn(backendOn(standalone.url, clock), fixedWindow('2/minute'), prefix);
    await spend(b, 'k', 2);
    await untilDeniedLocally(b, 'k');
    const calls = await scriptCalls(server);
    expect((await b.limit('k')).allowed).toBe(false);
    expect(await scriptCalls(server)).toBe(calls);

    await a.reset('k');
    // The clock stands still, so B's refusal would last for ever: only the announcement can clear it.
    expect(await untilAllowed(b, 'k')).toBe(true);
  });

  it('forgets everything when its subscriber is lost, and listens again on a later refusal', async () => {
    const clock = new FakeClock();
    const limiter = limiterOn(backendOn(standalone.url, clock), fixedWindow('1/minute'), `deny${prefixes++}`);
    await spend(limiter, 'k', 1);
    await untilDeniedLocally(limiter, 'k');
    await server.client('KILL', 'TYPE', 'pubsub');
    // Refused by Redis again once the cache is cleared: a script call per attempt until then.
    const calls = await scriptCalls(server);
    for (let i = 0; i < 500 && (await scriptCalls(server)) === calls; i++) {
      expect((await limiter.limit('k')).allowed).toBe(false);
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(await scriptCalls(server)).toBeGreaterThan(calls);
    await untilDeniedLocally(limiter, 'k');
  });

  it('keeps the total allowed exact across two instances hammering one key', async () => {
    const clock = new FakeClock();
    const prefix = `deny${prefixes++}`;
    const a = limiterOn(backendOn(standalone.url, clock), fixedWindow('50/hour'), prefix);
    const b = limiterOn(backendOn(standalone.url, clock), fixedWindow('50/hour'), prefix);
    let allowed = 0;
    for (let round = 0; round < 5; round++) {
      const decisions = await Promise.all(
        Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? a : b).limit('shared')),
      );
      allowed += decisions.filter((d) => d.allowed).length;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(allowed).toBe(50);
    // One reset through A frees the key on both, for exactly one window's worth again.
    await a.reset('shared');
    expect(await untilAllowed(b, 'shared')).toBe(true);
    const rest = await Promise.all(
      Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? a : b).limit('shared')),
    );
    expect(rest.filter((d) => d.allowed).length).toBe(49);
  });

  it('sends every call to Redis with denyCache: false', async () => {
    const clock = new FakeClock();
    const backend = backendOn(standalone.url, clock, false);
    const limiter = limiterOn(backend, fixedWindow('1/minute'), `deny${prefixes++}`);
    const subscribers = await subscriberCount();
    await spend(limiter, 'k', 1);
    const calls = await scriptCalls(server);
    for (let i = 0; i < 20; i++) {
      expect((await limiter.limit('k')).allowed).toBe(false);
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(await scriptCalls(server)).toBe(calls + 20);
    expect(deniedLocally(limiter)).toBe(0);
    expect(await subscriberCount()).toBeLessThanOrEqual(subscribers);
  });

  it('opens no subscriber until a refusal', async () => {
    const clock = new FakeClock();
    const limiter = limiterOn(backendOn(standalone.url, clock), fixedWindow('5/minute'), `deny${prefixes++}`);
    const subscribers = await subscriberCount();
    await spend(limiter, 'k', 5);
    await limiter.reset('k');
    expect(await subscriberCount()).toBeLessThanOrEqual(subscribers);
    await limiter.limit('k', { cost: 6 });
    for (let i = 0; i < 500 && (await subscriberCount()) <= subscribers; i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(await subscriberCount()).toBe(subscribers + 1);
  });

  it('validates the option', () => {
    for (const value of ['yes', 1, null, {}]) {
      let error: unknown;
      try {
        new RedisBackend({ client: standalone.url, denyCache: value as never });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InvalidOptionError);
      expect(error).toMatchObject({ field: 'denyCache', expected: 'true or false' });
    }
  });
});

describe('deny cache bounds', () => {
  it('holds at most its number of keys, the least recently refused going first', async () => {
    const clock = new FakeClock();
    const limiter = limiterOn(
      backendOn(standalone.url, clock, false),
      fixedWindow('1/minute'),
      `deny${prefixes++}`,
    );
    // A cache of two keys on the backend's connection, fed by the limiter's keyspace.
    const connection = (limiter.backend as RedisBackend).connection;
    const cache = new DenyCache(connection, clock.read, 2);
    const next = (key: string) =>
      (limiter.backend as RedisBackend).evaluate(limiter.keyspace, key, 1, false) as Promise<never>;
    const ask = (key: string) => cache.evaluate(() => next(key), limiter.keyspace, key, 1, false);
    for (const key of ['a', 'b', 'c']) await spend(limiter, key, 1);
    // Listening first (the first refusal starts it), then one refusal per key.
    for (let i = 0; i < 500 && cache.counters.deniedLocally === 0; i++) {
      await ask('a');
      await new Promise((r) => setTimeout(r, 5));
    }
    await ask('b');
    await ask('c');
    const denied = cache.counters.deniedLocally;
    expect(Array.isArray(ask('b'))).toBe(true);
    expect(Array.isArray(ask('c'))).toBe(true);
    const evicted = ask('a');
    expect(Array.isArray(evicted)).toBe(false);
    await evicted;
    expect(cache.counters.deniedLocally).toBe(denied + 2);
    cache.close();
  });
});

describe('deny cache on a Redis Cluster', () => {
  it('answers a hammered key in process, and is forgotten on another instance by a reset', async () => {
    const clock = new FakeClock();
    const prefix = `deny${prefixes++}`;
    const a = limiterOn(backendOn(clusterClient, clock), fixedWindow('3/minute'), prefix);
    const b = limiterOn(backendOn(clusterClient, clock), fixedWindow('3/minute'), prefix);
    await spend(b, 'abuser', 3);
    await untilDeniedLocally(b, 'abuser');
    const calls = await clusterScriptCalls();
    const hammered = await Promise.all(Array.from({ length: 100 }, () => b.limit('abuser')));
    expect(hammered.every((d) => !d.allowed)).toBe(true);
    expect(await clusterScriptCalls()).toBe(calls);

    await a.reset('abuser');
    expect(await untilAllowed(b, 'abuser')).toBe(true);
  });
});
