import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { fixedWindow, header, type HttpLimitOptions, RedisBackend } from '../../src/index.js';
import { createHttpLimiter } from '../../src/http/index.js';
import { isBookkeepingKey, redisUrlForTests } from '../../../testkit/src/index.js';
import { req, T0 } from './helpers.js';

const client = new Redis(redisUrlForTests());
afterAll(async () => {
  await client.quit();
});

// Date is faked and the backend reads it too, so header values are exact against a real Redis.
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(T0);
});
afterEach(() => {
  vi.useRealTimers();
});

function limiter(options: HttpLimitOptions = {}) {
  return createHttpLimiter({
    algorithm: fixedWindow('2/minute'),
    backend: new RedisBackend({ client, clock: () => Date.now() }),
    headers: 'both',
    // A fresh prefix per limiter: the Redis is shared with every other test file.
    prefix: `t${randomUUID().slice(0, 8)}`,
    ...options,
  });
}

describe('HTTP layer on RedisBackend', () => {
  test('allows, then refuses with exact headers and body', async () => {
    const l = limiter();
    const first = await l.handle(req());
    expect(first.headers).toEqual({
      'X-RateLimit-Limit': '2',
      'X-RateLimit-Remaining': '1',
      'X-RateLimit-Reset': '1700000060',
      'RateLimit-Policy': '"default";q=2;w=60',
      RateLimit: '"default";r=1;t=60',
    });
    vi.setSystemTime(T0 + 10_000);
    await l.handle(req());
    vi.setSystemTime(T0 + 10_500);
    const refused = await l.handle(req());
    expect(refused).toMatchObject({ allowed: false, status: 429 });
    expect(refused.headers).toMatchObject({ 'Retry-After': '50', RateLimit: '"default";r=0;t=50' });
    expect(refused.body).toEqual({ error: 'Too Many Requests', retryAfter: 50 });
  });

  test('IPv6 clients are grouped by /64 in Redis keys too', async () => {
    const l = limiter();
    await l.handle(req({ ip: '2001:db8:aa:bb::1' }));
    await l.handle(req({ ip: '2001:db8:aa:bb::2' }));
    expect((await l.handle(req({ ip: '2001:db8:aa:bb:1:2:3:4' }))).allowed).toBe(false);
    expect((await l.handle(req({ ip: '2001:db8:aa:bc::1' }))).allowed).toBe(true);
  });

  test('derived route limits count apart from the global one at the same rate', async () => {
    const global = limiter();
    const route = global.derive({ algorithm: fixedWindow('2/minute') }, 'POST /login');
    expect(route.limiter.backend).toBe(global.limiter.backend);
    await global.handle(req());
    await global.handle(req());
    expect((await global.handle(req())).allowed).toBe(false);
    expect((await route.handle(req())).decision?.remaining).toBe(1);
  });

  test('a very long header key is hashed and works', async () => {
    const l = limiter({ keyBy: header('authorization') });
    const r = req({ headers: { authorization: `Bearer ${'z'.repeat(4000)}` } });
    expect((await l.handle(r)).decision?.remaining).toBe(1);
    expect((await l.handle(r)).decision?.remaining).toBe(0);
    await l.reset(r);
    expect((await l.handle(r)).decision?.remaining).toBe(1);
  });
});

describe('tiers on RedisBackend', () => {
  test('a raw API key never appears in a key name; the tier and rule keys share the client hash tag', async () => {
    const prefix = `t${randomUUID().slice(0, 8)}`;
    const secret = 'sk_live_do_not_store_me';
    const l = createHttpLimiter({
      config: {
        version: 1,
        defaultTier: 'anon',
        tiers: { anon: { rate: '5/minute' }, paid: { rate: '50/minute', burst: 60 } },
        keys: { [secret]: 'paid' },
        rules: [{ id: 'search', match: { path: '/search/**' }, rate: '10/minute', cost: 2 }],
      },
      backend: new RedisBackend({ client, clock: () => Date.now() }),
      prefix,
    });
    const r = { path: '/search/x', headers: { 'x-api-key': secret } };
    const first = await l.handle(req(r));
    expect(first).toMatchObject({ allowed: true, tier: 'paid' });
    // The rule binds: 10 - 2 left, against the tier's 60 - 2.
    expect(first.headers['X-RateLimit-Limit']).toBe('10');
    expect(first.headers['X-RateLimit-Remaining']).toBe('8');
    const all = await client.keys(`${prefix}:*`);
    // Every key name, the kept batch replies included, is free of the secret; the state keys are these two.
    for (const k of all) expect(k).not.toContain(secret);
    const keys = all.filter((k) => !isBookkeepingKey(k)).sort();
    const digest = (await import('node:crypto')).createHash('sha256').update(secret).digest('hex');
    expect(keys).toEqual([`${prefix}:{k#${digest}}:rule=search:tb`, `${prefix}:{k#${digest}}:tier=paid:tb`]);
  });
});

describe('configuration shared through Redis', () => {
  test('limiters on one RedisBackend prefix share an overlay: a change published by one governs the other', async () => {
    vi.useRealTimers();
    const prefix = `t${randomUUID().slice(0, 8)}`;
    const config = {
      version: 1 as const,
      defaultTier: 'anon',
      tiers: { anon: { rate: '5/minute' } },
    };
    const make = () => createHttpLimiter({ config, backend: new RedisBackend({ client }), prefix });
    const [a, b] = [make(), make()];
    try {
      expect((await b.handle(req())).headers['X-RateLimit-Limit']).toBe('5');
      const source = a.source as import('../../src/index.js').ConfigSource;
      await source.ready();
      await source.publish({ tiers: { anon: { rate: '5/minute', burst: 9 } } });
      await expect
        .poll(async () => (await b.handle(req({ ip: '198.51.100.77' }))).headers['X-RateLimit-Limit'], {
          timeout: 5000,
        })
        .toBe('9');
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
