import { describe, expect, test } from 'vitest';
import {
  fixedWindow,
  header,
  HttpLimiter,
  type HttpRequest,
  MemoryBackend,
  RateLimiter,
} from '../../src/index.js';
import { createHttpLimiter } from '../../src/http/index.js';
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
    expect(await login.keyFor(r)).toBe('ip:203.0.113.7');
    expect(global.scopeOf(r)).toBeUndefined();
    expect(login.scopeOf(r)).toBe('POST /login');
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
    expect(await child.keyFor(req({ headers: { 'x-api-key': 'k1' } }))).toBe('h:k1');
    expect(await global.keyFor(req({ headers: { 'x-api-key': 'k1' } }))).toBe('ip:203.0.113.7');
  });

  test('a derived scope replaces its parent scope; without one, the route decides', () => {
    const global = createHttpLimiter({ rate: '5/minute' });
    expect(global.derive({}, 'a').derive({}, 'b').scopeOf(req())).toBe('b');
    expect(global.derive({}, 'a').derive({}).scopeOf(req())).toBeUndefined();
    // A parent's scope names its own count; a route limit derived from it counts apart.
    const scoped = createHttpLimiter({ scope: 'admin' });
    expect(scoped.derive({}).scopeOf(req())).toBeUndefined();
    expect(scoped.derive({}).scopeOf(req({ method: 'POST', routeId: '/x' }))).toBe('POST /x');
    expect(scoped.derive({ scope: 'own' }).scopeOf(req())).toBe('own');
    const perRoute = global.derive({ rate: '1/minute' });
    expect(perRoute.scopeOf(req())).toBeUndefined();
    expect(perRoute.scopeOf(req({ method: 'POST', routeId: '/login' }))).toBe('POST /login');
  });
  test('validates at derive time', () => {
    const global = createHttpLimiter({ rate: '5/minute' });
    optionError(() => global.derive('lots/minute', 'r'), 'rate');
    optionError(() => global.derive({ rates: '1/s' } as never, 'r'), 'rates');
    optionError(() => global.derive({ headers: 'foo' as never }, 'r'), 'headers');
    optionError(() => global.derive({ rate: '1/s', algorithm: fixedWindow('1/s') }, 'r'), 'algorithm');
    optionError(() => global.derive({ limiter: global.limiter, rate: '1/s' }, 'r'), 'rate');
    optionError(() => global.derive('1/s', ''), 'scope');
    optionError(() => global.derive('1/s', 42 as never), 'scope');
    optionError(() => createHttpLimiter({ scope: '' }), 'scope');
    optionError(() => createHttpLimiter({ scope: 'login\uD800' }), 'scope');
    optionError(() => global.derive(42 as never, 'r'), 'overrides');
    expect(global.derive('1/s', 'ok')).toBeInstanceOf(HttpLimiter);
  });
});

describe('route scopes', () => {
  test('one limiter counts each route it runs for apart, and its app-wide count apart from both', async () => {
    const l = createHttpLimiter({ rate: '2/minute', backend: clocked().backend });
    const a = req({ method: 'POST', routeId: '/login' });
    const b = req({ method: 'GET', routeId: '/users/:id', path: '/users/7' });
    expect(await drain(l, a)).toBe(2);
    expect(await drain(l, b)).toBe(2);
    expect(await drain(l, req())).toBe(2);
  });

  test('HEAD counts as GET on the same route; other methods count apart', async () => {
    const l = createHttpLimiter({ rate: '3/minute', backend: clocked().backend });
    const route = '/items';
    expect((await l.handle(req({ method: 'GET', routeId: route }))).decision?.remaining).toBe(2);
    expect((await l.handle(req({ method: 'HEAD', routeId: route }))).decision?.remaining).toBe(1);
    expect((await l.handle(req({ method: 'POST', routeId: route }))).decision?.remaining).toBe(2);
  });

  test('the scope option shares one count across routes on purpose, and reset forgets that count', async () => {
    const { backend } = clocked();
    const shared = { rate: '3/minute', backend, scope: 'writes' };
    const a = createHttpLimiter(shared);
    const b = createHttpLimiter(shared);
    await a.handle(req({ method: 'POST', routeId: '/a' }));
    await b.handle(req({ method: 'PUT', routeId: '/b' }));
    expect((await a.handle(req({ method: 'DELETE', routeId: '/c' }))).decision?.remaining).toBe(0);
    expect(a.limiter.keysFor('ip:203.0.113.7', { scope: 'writes' })).toEqual([
      'dl:{ip:203.0.113.7}:writes:sw',
    ]);
    await a.reset(req({ routeId: '/x' }));
    expect((await b.handle(req())).decision?.remaining).toBe(2);
  });

  test('the same client, options and route give the same stored key in every limiter', async () => {
    const { backend } = clocked();
    const first = createHttpLimiter({ rate: '5/minute', backend, prefix: 'demo' });
    const second = createHttpLimiter({ rate: '5/minute', backend, prefix: 'demo' });
    const login = req({ method: 'POST', routeId: '/api/login' });
    await first.handle(login);
    expect((await second.handle(login)).decision?.remaining).toBe(3);
    expect(first.limiter.keysFor(await first.keyFor(login), { scope: first.scopeOf(login) })).toEqual([
      'demo:{ip:203.0.113.7}:POST /api/login:sw',
    ]);
  });
});
