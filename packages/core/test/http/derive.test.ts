import { describe, expect, test } from 'vitest';
import {
  createHttpLimiter,
  fixedWindow,
  header,
  HttpLimiter,
  type HttpRequest,
  MemoryBackend,
  RateLimiter,
} from '../../src/index.js';
import { clocked, optionError, req } from './helpers.js';

async function drain(l: HttpLimiter, r: HttpRequest): Promise<number> {
  let n = 0;
  while (n < 20 && (await l.handle(r)).allowed) n++;
  return n;
}

describe('derive', () => {
  test('a route limit at the same rate never shares counts with the global one', async () => {
    const global = createHttpLimiter({ rate: '2/minute', backend: clocked().backend });
    const login = global.derive('2/minute', 'POST /login');
    const r = req();
    expect(await drain(global, r)).toBe(2);
    expect(await drain(login, r)).toBe(2);
    expect(await global.keyFor(r)).toBe('ip:203.0.113.7');
    expect(await login.keyFor(r)).toBe('r:POST /login|ip:203.0.113.7');
  });

  test('two routes count separately, and each shares the parent backend and prefix', async () => {
    const { backend } = clocked();
    const global = createHttpLimiter({ rate: '10/minute', backend, prefix: 'app' });
    const a = global.derive('1/minute', 'a');
    const b = global.derive({ rate: '1/minute' }, 'b');
    expect(a.limiter.backend).toBe(backend);
    expect(a.limiter.prefix).toBe('app');
    expect(a.scope).toBe('a');
    expect(await drain(a, req())).toBe(1);
    expect(await drain(b, req())).toBe(1);
    expect((await global.handle(req())).decision?.remaining).toBe(9);
  });

  test('without limiter overrides the parent RateLimiter itself is shared', () => {
    const global = createHttpLimiter({ rate: '10/minute' });
    expect(global.derive({ cost: 2 }, 'x').limiter).toBe(global.limiter);
    const moved = global.derive({ prefix: 'other' }, 'y').limiter;
    expect(moved).not.toBe(global.limiter);
    expect(moved.prefix).toBe('other');
    expect(moved.backend).toBe(global.limiter.backend);
    expect(moved.algorithm).toBe(global.limiter.algorithm);
  });

  test('a parent built from a ready limiter lends its backend to a route with its own rate', () => {
    const backend = new MemoryBackend();
    const base = new RateLimiter({ algorithm: fixedWindow('5/s'), backend, prefix: 'svc', timeoutMs: 50 });
    const child = createHttpLimiter({ limiter: base }).derive('1/s', 'r');
    expect(child.limiter).not.toBe(base);
    expect(child.limiter.backend).toBe(backend);
    expect(child.limiter.prefix).toBe('svc');
    expect(child.limiter.timeoutMs).toBe(50);
    expect(child.limiter.algorithm.members[0]!.limit).toBe(1);
  });

  test('inherits response options and exemptions, overrides what it is given', async () => {
    const global = createHttpLimiter({
      rate: '1/minute',
      backend: clocked().backend,
      statusCode: 503,
      message: 'global says no',
      exemptPaths: ['/health'],
      headers: 'legacy',
    });
    const child = global.derive({ rate: '1/minute', message: 'route says no', statusCode: undefined }, 'r');
    expect((await child.handle(req({ path: '/health' }))).skipped).toBe(true);
    await child.handle(req());
    const refused = await child.handle(req());
    expect(refused.status).toBe(503);
    expect(refused.body).toMatchObject({ error: 'route says no' });
    expect(Object.keys(refused.headers)).toContain('X-RateLimit-Limit');
    expect(child.headerMode).toBe('legacy');
  });

  test('can key a route differently from its parent', async () => {
    const global = createHttpLimiter({ rate: '5/minute' });
    const child = global.derive({ keyBy: header('x-api-key') }, 'api');
    expect(await child.keyFor(req({ headers: { 'x-api-key': 'k1' } }))).toBe('r:api|h:k1');
    expect(await global.keyFor(req({ headers: { 'x-api-key': 'k1' } }))).toBe('ip:203.0.113.7');
  });

  test('scopes nest, are escaped and hashed, and never collide', async () => {
    const global = createHttpLimiter({ rate: '5/minute' });
    const nested = global.derive({}, 'a').derive({}, 'b');
    const tricky = global.derive({}, 'a|r:b');
    expect(await nested.keyFor(req())).toBe('r:a|r:b|ip:203.0.113.7');
    expect(await tricky.keyFor(req())).toBe('r:a%7Cr:b|ip:203.0.113.7');
    const long = global.derive({}, `/${'segment/'.repeat(40)}`);
    expect(await long.keyFor(req())).toMatch(/^r:#[0-9a-f]{64}\|ip:203\.0\.113\.7$/);
    expect(await global.derive({}, '#x').keyFor(req())).toBe('r:%23x|ip:203.0.113.7');
  });

  test('validates at derive time', () => {
    const global = createHttpLimiter({ rate: '5/minute' });
    optionError(() => global.derive('lots/minute', 'r'), 'rate');
    optionError(() => global.derive({ rates: '1/s' } as never, 'r'), 'rates');
    optionError(() => global.derive({ headers: 'foo' as never }, 'r'), 'headers');
    optionError(() => global.derive({ rate: '1/s', algorithm: fixedWindow('1/s') }, 'r'), 'algorithm');
    optionError(() => global.derive({ limiter: global.limiter, rate: '1/s' }, 'r'), 'rate');
    optionError(() => global.derive('1/s', ''), 'scope');
    optionError(() => global.derive('1/s', undefined as never), 'scope');
    optionError(() => global.derive(42 as never, 'r'), 'overrides');
    expect(global.derive('1/s', 'ok')).toBeInstanceOf(HttpLimiter);
  });
});
