import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BackendError,
  fixedWindow,
  gcra,
  hybrid,
  RateLimiter,
  RedisBackend,
  slidingLog,
  slidingWindow,
  tokenBucket,
} from '../src/index.js';
import { composeScript } from '../src/backends/lua.js';
import { FakeClock } from './support/clock.js';
import { DB, pollUntil } from './support/redis.js';
import {
  flushTestRedis,
  type RedisInstance,
  redisUrlForTests,
  startRedis,
  storedState,
} from './support/testkit.js';

let client: Redis;
beforeAll(async () => {
  client = new Redis(redisUrlForTests(), { db: DB.specifics });
  await flushTestRedis(client);
});
afterAll(async () => {
  await flushTestRedis(client);
  await client.quit();
});

/** Current Redis server time in ms. */
async function redisNow(c: Redis): Promise<number> {
  const [s, us] = await c.time();
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}

describe('scripts', () => {
  it('reloads its script by itself after SCRIPT FLUSH', async () => {
    const algorithm = hybrid(fixedWindow('10/minute'), slidingLog('20/minute'));
    const limiter = new RateLimiter({ algorithm, backend: new RedisBackend({ client }), prefix: 'noscript' });
    expect((await limiter.limit('k')).remaining).toBe(9);
    const { sha } = composeScript(algorithm.members);
    expect(await client.script('EXISTS', sha)).toEqual([1]);
    await flushTestRedis(client, 'scripts');
    expect(await client.script('EXISTS', sha)).toEqual([0]);
    // Counting goes on where it was: the state survived, only the script was lost.
    expect((await limiter.limit('k')).remaining).toBe(8);
    expect(await client.script('EXISTS', sha)).toEqual([1]);
  });

  describe('on a server that restarts', () => {
    let server: RedisInstance;
    let own: Redis;
    beforeAll(async () => {
      server = await startRedis();
      own = new Redis(server.url);
      // Reconnection noise is expected here; failures surface through commands.
      own.on('error', () => {});
    });
    afterAll(async () => {
      own.disconnect();
      await server.stop();
    });

    it('keeps deciding after a restart wiped scripts and state', async () => {
      const limiter = new RateLimiter({
        algorithm: gcra('5/s'),
        backend: new RedisBackend({ client: own }),
        // Generous: once reconnected, the backend may still be reading the server's clock again.
        timeoutMs: 20_000,
      });
      await limiter.limit('k');
      expect((await limiter.limit('k')).remaining).toBe(3);
      // While the client is known to be down the backend fails fast by design; this test is about what
      // happens once it is back, so it waits for ioredis to reconnect (its backoff varies under load).
      const reconnected = new Promise((resolve) => own.once('ready', resolve));
      await server.restart();
      await reconnected;
      expect((await limiter.limit('k')).remaining).toBe(4);
      expect((await limiter.limit('k')).remaining).toBe(3);
    });
  });
});

describe('time', () => {
  it('takes time from Redis TIME when no clock is given', async () => {
    const backend = new RedisBackend({ client });
    const fixed = new RateLimiter({ algorithm: fixedWindow('5/minute'), backend, prefix: 'time' });
    const bucket = new RateLimiter({ algorithm: tokenBucket('5/minute'), backend, prefix: 'time' });
    const cell = new RateLimiter({ algorithm: gcra('5/minute'), backend, prefix: 'time' });
    const before = await redisNow(client);
    // The window opens at the request, on the server's clock: a fresh key reports the whole window.
    expect(await fixed.limit('k')).toMatchObject({ allowed: true, remaining: 4, resetAfterMs: 60_000 });
    await bucket.limit('k');
    await cell.limit('k');
    const after = await redisNow(client);
    const stamps = [
      // The fixed window stores its end: the request's time plus the window.
      (await storedState(client, fixed.keysFor('k')[0]!))![0]! - 60_000,
      (await storedState(client, bucket.keysFor('k')[0]!))![1]!,
      // GCRA stores the theoretical arrival time: now plus one emission interval (12 s).
      (await storedState(client, cell.keysFor('k')[0]!))![0]! - 12_000,
    ];
    for (const stamp of stamps) {
      expect(stamp).toBeGreaterThanOrEqual(before);
      expect(stamp).toBeLessThanOrEqual(after);
    }
  });

  it('uses the injected clock instead when one is given', async () => {
    const clock = new FakeClock(123_456);
    const limiter = new RateLimiter({
      algorithm: fixedWindow('5/minute'),
      backend: new RedisBackend({ client, clock: clock.read }),
      prefix: 'injected',
    });
    await limiter.limit('k');
    expect(await storedState(client, limiter.keysFor('k')[0]!)).toEqual([183456, 1]);
  });
});

describe('construction', () => {
  it('accepts a redis:// URL, owns that client and quits it on close()', async () => {
    const backend = new RedisBackend({ client: `${redisUrlForTests()}/${DB.specifics}` });
    const limiter = new RateLimiter({ algorithm: fixedWindow('5/minute'), backend, prefix: 'url' });
    expect((await limiter.limit('k')).remaining).toBe(4);
    expect(await client.exists(limiter.keysFor('k')[0]!)).toBe(1);
    await backend.close();
    // QUIT is answered before the socket closes; the client ends right after.
    const owned = backend.client as Redis;
    await pollUntil(async () => owned.status === 'end', 5000);
    expect(owned.status).toBe('end');
  });

  it('accepts a rediss:// URL and builds a TLS client for it', () => {
    const backend = new RedisBackend({ client: 'rediss://cache.example.invalid:6380' });
    const built = backend.client as Redis;
    try {
      expect(built).toBeInstanceOf(Redis);
      expect(built.options.tls).toBeTruthy();
      expect(built.options.host).toBe('cache.example.invalid');
      expect(built.options.port).toBe(6380);
    } finally {
      built.disconnect();
    }
  });

  it("runs its scripts under the key prefix of a client given one, as ioredis's own commands do", async () => {
    // Both with auto-pipelining (where ioredis would route the call) and without: the backend writes its
    // calls itself, so it must apply the client's prefix the way ioredis does.
    for (const enableAutoPipelining of [true, false]) {
      const prefixed = new Redis(redisUrlForTests(), {
        db: DB.specifics,
        keyPrefix: 'kp:',
        enableAutoPipelining,
      });
      try {
        const backend = new RedisBackend({ client: prefixed });
        const limiter = new RateLimiter({
          algorithm: fixedWindow('5/minute'),
          backend,
          prefix: `kp${enableAutoPipelining}`,
        });
        expect((await limiter.limit('k')).remaining).toBe(4);
        expect((await limiter.limit('k')).remaining).toBe(3);
        const key = limiter.keysFor('k')[0]!;
        expect(await client.exists(`kp:${key}`)).toBe(1);
        expect(await client.exists(key)).toBe(0);
        await limiter.reset('k');
        expect(await client.exists(`kp:${key}`)).toBe(0);
      } finally {
        prefixed.disconnect();
      }
    }
  });

  it('leaves a client it was handed open on close()', async () => {
    const backend = new RedisBackend({ client });
    await backend.close();
    expect(await client.ping()).toBe('PONG');
  });
});

describe('failures', () => {
  it('reports a Redis error as BackendError carrying the cause', async () => {
    const limiter = new RateLimiter({
      algorithm: fixedWindow('5/minute'),
      backend: new RedisBackend({ client }),
      prefix: 'wrongtype',
    });
    await client.hset(limiter.keysFor('k')[0]!, 'not', 'a state');
    const error = await limiter.limit('k').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect((error as BackendError).code).toBe('ERR_DL_BACKEND');
    expect((error as BackendError).cause).toBeInstanceOf(Error);
    expect(String((error as BackendError).cause)).toMatch(/WRONGTYPE/);
  });
});

describe('stored states', () => {
  it('packs a fixed window in 88 bytes per key and goes on counting a state written as digits', async () => {
    const limiter = new RateLimiter({
      algorithm: fixedWindow('10/minute'),
      backend: new RedisBackend({ client }),
      prefix: 'dl',
    });
    await limiter.limit('abcdefghij');
    const [key] = limiter.keysFor('abcdefghij');
    expect(key).toBe('dl:{abcdefghij}:fw');
    expect((await storedState(client, key!))?.[1]).toBe(1);
    expect(await client.memory('USAGE', key!)).toBeLessThanOrEqual(88);
    // A key an earlier version wrote ("<window end>:<count>") keeps its window and count.
    const end = (await redisNow(client)) + 30_000;
    await client.set(key!, `${end}:7`, 'PX', 30_000);
    expect(await limiter.limit('abcdefghij')).toMatchObject({ allowed: true, remaining: 2 });
    expect(await storedState(client, key!)).toEqual([end, 8]);
    // And one an earlier version packed with cmsgpack ([end, count]).
    await client.eval(
      `redis.call('SET', KEYS[1], cmsgpack.pack({tonumber(ARGV[1]), 3}), 'PX', 30000)`,
      1,
      key!,
      end,
    );
    expect(await limiter.limit('abcdefghij')).toMatchObject({ allowed: true, remaining: 6 });
    expect(await storedState(client, key!)).toEqual([end, 4]);
  });

  // Packed with cmsgpack, a count of 128 or more took two bytes more and the value a larger allocation. A
  // count of 2^39 or more does not fit the 5 bytes it is given: such a state goes with cmsgpack.
  it('keeps a fixed window key at 88 bytes whatever its count', async () => {
    const limit = 1e12;
    const limiter = new RateLimiter({
      algorithm: fixedWindow({ limit, window: '1h' }),
      backend: new RedisBackend({ client }),
      prefix: 'dl',
    });
    const [key] = limiter.keysFor('klmnopqrst');
    await limiter.limit('klmnopqrst');
    const end = (await storedState(client, key!))![0]!;
    for (const count of [127, 128, 70_000, 2 ** 39 - 2]) {
      await client.set(key!, Buffer.from([1, ...le(end, 6), ...le(count, 5)]), 'KEEPTTL');
      expect(await limiter.limit('klmnopqrst')).toMatchObject({
        allowed: true,
        remaining: limit - count - 1,
      });
      expect(await storedState(client, key!)).toEqual([end, count + 1]);
      expect(await client.memory('USAGE', key!)).toBeLessThanOrEqual(88);
    }
    expect(await limiter.limit('klmnopqrst')).toMatchObject({ remaining: limit - 2 ** 39 });
    expect((await client.getBuffer(key!))![0]).toBeGreaterThanOrEqual(0x90);
    expect(await limiter.limit('klmnopqrst')).toMatchObject({ remaining: limit - 2 ** 39 - 1 });
    expect(await storedState(client, key!)).toEqual([end, 2 ** 39 + 1]);
  });
});

// `n` as `bytes` bytes little-endian (n >= 0), as the script's struct writes it.
function le(n: number, bytes: number): number[] {
  return Array.from({ length: bytes }, (_, i) => Math.floor(n / 256 ** i) % 256);
}

describe('TTL writes', () => {
  // A key's TTL is written by the request that starts its window; later requests in that window leave it
  // where it is (KEEPTTL) instead of writing the same instant again. Counted by the keyspace events Redis
  // sends for every TTL it sets, on a server of this test's own (the setting is server-wide).
  let server: RedisInstance;
  let own: Redis;
  let events: Redis;
  const expired: string[] = [];
  beforeAll(async () => {
    server = await startRedis();
    own = new Redis(server.url);
    events = new Redis(server.url);
    await own.config('SET', 'notify-keyspace-events', 'Eg');
    await events.subscribe('__keyevent@0__:expire');
    events.on('message', (_channel: string, key: string) => expired.push(key));
  });
  afterAll(async () => {
    own.disconnect();
    events.disconnect();
    await server.stop();
  });

  // The events that came for `key` so far: a marker published after the requests arrives after them.
  async function ttlWrites(key: string): Promise<number> {
    const marker = `marker-${expired.length}-${Math.random()}`;
    await own.publish('__keyevent@0__:expire', marker);
    await pollUntil(async () => expired.includes(marker), 5000);
    return expired.filter((k) => k === key).length;
  }

  const cases = [
    { name: 'fixedWindow', algorithm: fixedWindow('100/minute'), expiry: (s: number[]) => s[0]! },
    {
      name: 'slidingWindow',
      algorithm: slidingWindow('100/minute'),
      expiry: (s: number[]) => s[0]! + 2 * s[3]!,
    },
  ];
  for (const { name, algorithm, expiry } of cases) {
    it(`${name}: once per window, at the window's end as the state gives it`, async () => {
      const limiter = new RateLimiter({
        algorithm,
        backend: new RedisBackend({ client: own }),
        prefix: name,
      });
      await limiter.limit('k');
      const [key] = limiter.keysFor('k');
      const at = await own.call('PEXPIRETIME', key!);
      for (let i = 0; i < 5; i++) await limiter.limit('k');
      expect(await limiter.limit('k')).toMatchObject({ allowed: true, remaining: 93 });
      expect(await own.call('PEXPIRETIME', key!)).toBe(at);
      expect(at).toBe(expiry((await storedState(own, key!))!));
      expect(await ttlWrites(key!)).toBe(1);
    });
  }

  it('in a hybrid, only for the member whose expiry moves', async () => {
    const algorithm = hybrid(
      fixedWindow('100/minute'),
      tokenBucket({ capacity: 100, refillRate: '100/minute' }),
    );
    const limiter = new RateLimiter({ algorithm, backend: new RedisBackend({ client: own }), prefix: 'hy' });
    for (let i = 0; i < 4; i++) await limiter.limit('k');
    const [fw, tb] = limiter.keysFor('k');
    expect(await ttlWrites(fw!)).toBe(1);
    expect(await ttlWrites(tb!)).toBe(4);
    expect(await own.call('PEXPIRETIME', fw!)).toBe((await storedState(own, fw!))![0]);
  });

  it('every time on an injected clock, whose TTLs count from the server clock', async () => {
    const clock = new FakeClock(1_000_000);
    const backend = new RedisBackend({ client: own, clock: clock.read });
    const limiter = new RateLimiter({ algorithm: fixedWindow('100/minute'), backend, prefix: 'fake' });
    for (let i = 0; i < 3; i++) {
      await limiter.limit('k');
      clock.advance(10);
    }
    expect(await ttlWrites(limiter.keysFor('k')[0]!)).toBe(3);
  });
});

describe('exact integers', () => {
  const at = (clock: FakeClock) => new RedisBackend({ client, clock: clock.read });

  it('counts a sliding window with a limit of 2e15 to the unit', async () => {
    const limit = 2_000_000_000_000_000;
    // A 1 ms window keeps limit * window * 4 below 2^53, and its state only lives 2 ms of real time, so
    // every check is a single call on a fresh key.
    const limiter = new RateLimiter({
      algorithm: slidingWindow({ limit, window: 1 }),
      backend: at(new FakeClock()),
      prefix: 'big',
    });
    expect(await limiter.limit('a', { cost: limit - 3 })).toMatchObject({ allowed: true, remaining: 3 });
    expect(await limiter.limit('b', { cost: limit })).toMatchObject({ allowed: true, remaining: 0 });
    expect(await limiter.limit('c', { cost: limit + 1 })).toMatchObject({
      allowed: false,
      remaining: limit,
      retryAfterMs: Number.POSITIVE_INFINITY,
    });
  });

  it('keeps a token bucket of 8e12 tokens exact', async () => {
    const capacity = 8_000_000_000_000;
    const clock = new FakeClock();
    const limiter = new RateLimiter({
      algorithm: tokenBucket({ capacity, refillRate: '1/ms' }),
      backend: at(clock),
      prefix: 'big',
    });
    expect(await limiter.limit('k', { cost: capacity - 1 })).toMatchObject({
      allowed: true,
      limit: capacity,
      remaining: 1,
      resetAfterMs: capacity - 1,
    });
    expect(await limiter.limit('k', { cost: 2 })).toMatchObject({ allowed: false, retryAfterMs: 1 });
    clock.advance(1);
    expect(await limiter.limit('k', { cost: 2 })).toMatchObject({ allowed: true, remaining: 0 });
  });

  it('keeps a GCRA burst of 2^50 exact, timestamps and TTL included', async () => {
    const burst = 2 ** 50;
    const clock = new FakeClock();
    const limiter = new RateLimiter({
      algorithm: gcra({ limit: 1, period: 1, burst }),
      backend: at(clock),
      prefix: 'big',
    });
    expect(await limiter.limit('k', { cost: burst - 1 })).toMatchObject({ allowed: true, remaining: 1 });
    const key = limiter.keysFor('k')[0]!;
    expect(await storedState(client, key)).toEqual([clock.now + burst - 1, 0, 1, 1]);
    expect(await client.pttl(key)).toBeGreaterThan(burst - 1 - 60_000);
    expect(await limiter.limit('k', { cost: 2 })).toMatchObject({ allowed: false, retryAfterMs: 1 });
  });
});
