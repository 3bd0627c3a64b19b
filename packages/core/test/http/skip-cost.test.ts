import { describe, expect, test, vi } from 'vitest';
import { type HttpLimitOptions, InvalidCostError } from '../../src/index.js';
import { createHttpLimiter } from '../../src/http/index.js';
import { clocked, req } from './helpers.js';

function limiter(options: HttpLimitOptions = {}) {
  return createHttpLimiter({ rate: '10/minute', backend: clocked().backend, ...options });
}

describe('skip', () => {
  test('a sync or async true skips without counting or headers', async () => {
    for (const skip of [
      (r: { path: string }) => r.path === '/free',
      async (r: { path: string }) => r.path === '/free',
    ]) {
      const l = limiter({ skip });
      const skipped = await l.handle(req({ path: '/free' }));
      expect(skipped).toMatchObject({ allowed: true, skipped: true, decision: undefined });
      expect(skipped.headers).toEqual({});
      const counted = await l.handle(req({ path: '/paid' }));
      expect(counted.skipped).toBe(false);
      expect(counted.decision?.remaining).toBe(9);
    }
  });

  test('a throwing or rejecting skip counts the request and is reported', async () => {
    for (const skip of [
      () => {
        throw new Error('nope');
      },
      () => Promise.reject(new Error('nope')),
    ]) {
      const l = limiter({ skip });
      const seen = vi.fn();
      l.on('configError', seen);
      const outcome = await l.handle(req());
      expect(outcome).toMatchObject({ allowed: true, skipped: false });
      expect(outcome.decision?.remaining).toBe(9);
      expect(seen).toHaveBeenCalledTimes(1);
    }
  });
});

describe('exemptions', () => {
  test('exact paths and RegExps are exempt; other paths are not', async () => {
    const l = limiter({ exemptPaths: ['/health', /^\/static\//] });
    expect((await l.handle(req({ path: '/health' }))).skipped).toBe(true);
    expect((await l.handle(req({ path: '/static/app.js' }))).skipped).toBe(true);
    expect((await l.handle(req({ path: '/health/deep' }))).skipped).toBe(false);
    expect((await l.handle(req({ path: '/api/static/x' }))).skipped).toBe(false);
    expect(l.isExempt({ method: 'GET', path: '/health' })).toBe(true);
    expect(l.isExempt({ method: 'GET', path: '/api' })).toBe(false);
  });

  test('a global RegExp matches every time (lastIndex is not carried between requests)', async () => {
    const l = limiter({ exemptPaths: [/^\/static/g] });
    for (let i = 0; i < 4; i++) expect(l.isExempt({ method: 'GET', path: '/static/a' })).toBe(true);
  });

  test('methods are matched case-insensitively', async () => {
    const l = limiter({ exemptMethods: ['options', 'Head'] });
    expect((await l.handle(req({ method: 'OPTIONS' }))).skipped).toBe(true);
    expect((await l.handle(req({ method: 'HEAD' }))).skipped).toBe(true);
    expect((await l.handle(req({ method: 'head' }))).skipped).toBe(true);
    const counted = await l.handle(req({ method: 'GET' }));
    expect(counted.skipped).toBe(false);
    expect(counted.decision?.remaining).toBe(9);
  });
});

describe('cost', () => {
  test('a fixed cost is charged per request', async () => {
    const l = limiter({ cost: 4 });
    expect((await l.handle(req())).decision?.remaining).toBe(6);
    expect((await l.handle(req())).decision?.remaining).toBe(2);
    expect((await l.handle(req())).allowed).toBe(false);
  });

  test('sync and async cost functions see the request', async () => {
    const sync = limiter({ cost: (r) => (r.method === 'POST' ? 5 : 1) });
    expect((await sync.handle(req({ method: 'POST' }))).decision?.remaining).toBe(5);
    expect((await sync.handle(req({ method: 'GET' }))).decision?.remaining).toBe(4);
    const later = limiter({ cost: async (r) => Number(r.header('x-units')) });
    expect((await later.handle(req({ headers: { 'x-units': '3' } }))).decision?.remaining).toBe(7);
  });

  test.each([0, -1, 1.5, Number.NaN, '2', undefined, Number.MAX_SAFE_INTEGER + 2])(
    'a cost function returning %j charges 1 and reports InvalidCostError',
    async (bad) => {
      const l = limiter({ cost: () => bad as number });
      const seen = vi.fn();
      l.on('configError', seen);
      const r = req();
      const outcome = await l.handle(r);
      expect(outcome.allowed).toBe(true);
      expect(outcome.decision?.remaining).toBe(9);
      expect(seen).toHaveBeenCalledTimes(1);
      expect(seen.mock.calls[0]![0]).toBeInstanceOf(InvalidCostError);
      expect(seen.mock.calls[0]![1]).toBe(r);
    },
  );

  test('a throwing or rejecting cost function charges 1 and is reported', async () => {
    for (const cost of [
      () => {
        throw new Error('bad');
      },
      async () => {
        throw new Error('bad');
      },
    ]) {
      const l = limiter({ cost });
      const seen = vi.fn();
      l.on('configError', seen);
      expect((await l.handle(req())).decision?.remaining).toBe(9);
      expect(seen).toHaveBeenCalledTimes(1);
    }
  });

  test('a cost above the limit is refused for good: no Retry-After, retryAfter null', async () => {
    const l = limiter({ cost: 11 });
    const outcome = await l.handle(req());
    expect(outcome.allowed).toBe(false);
    expect(outcome.decision?.retryAfterMs).toBe(Number.POSITIVE_INFINITY);
    expect(outcome.headers['Retry-After']).toBeUndefined();
    expect(outcome.body).toEqual({ error: 'Too Many Requests', retryAfter: null });
  });
});
