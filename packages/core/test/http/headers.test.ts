import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import {
  fixedWindow,
  type HeaderMode,
  hybrid,
  MemoryBackend,
  slidingWindow,
  tokenBucket,
} from '../../src/index.js';
import {
  createHttpLimiter,
  formatRateLimitPolicy,
  isRateLimitHeaderName,
  RATE_LIMIT_HEADER_NAMES,
  retryAfterSeconds,
} from '../../src/http/index.js';
import { req, T0 } from './helpers.js';

// Date is faked (and nothing else), and the backend reads the same clock, so every value is exact.
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(T0);
});
afterEach(() => {
  vi.useRealTimers();
});

const at = (offsetMs: number) => vi.setSystemTime(T0 + offsetMs);

function limiter(headers?: HeaderMode, extra: { policyName?: string } = {}) {
  return createHttpLimiter({
    algorithm: fixedWindow('3/minute'),
    backend: new MemoryBackend({ clock: () => Date.now() }),
    ...(headers === undefined ? {} : { headers }),
    ...extra,
  });
}

describe('header modes', () => {
  test('the default is "legacy": X-RateLimit-Limit, -Remaining and -Reset, plus Retry-After on a 429', async () => {
    const l = limiter();
    expect(l.headerMode).toBe('legacy');
    expect((await l.handle(req())).headers).toEqual({
      'X-RateLimit-Limit': '3',
      'X-RateLimit-Remaining': '2',
      'X-RateLimit-Reset': '1700000060',
    });
    await l.handle(req());
    await l.handle(req());
    at(30_000);
    expect((await l.handle(req())).headers).toEqual({
      'X-RateLimit-Limit': '3',
      'X-RateLimit-Remaining': '0',
      'X-RateLimit-Reset': '1700000060',
      'Retry-After': '30',
    });
  });

  test('"both" sends legacy and IETF headers with exact values', async () => {
    const l = limiter('both');
    expect((await l.handle(req())).headers).toEqual({
      'X-RateLimit-Limit': '3',
      'X-RateLimit-Remaining': '2',
      'X-RateLimit-Reset': '1700000060',
      'RateLimit-Policy': '"default";q=3;w=60',
      RateLimit: '"default";r=2;t=60',
    });
    at(2500);
    expect((await l.handle(req())).headers).toEqual({
      'X-RateLimit-Limit': '3',
      'X-RateLimit-Remaining': '1',
      'X-RateLimit-Reset': '1700000060',
      'RateLimit-Policy': '"default";q=3;w=60',
      RateLimit: '"default";r=1;t=58',
    });
    at(30_000);
    await l.handle(req());
    at(30_400);
    const refused = await l.handle(req());
    expect(refused.allowed).toBe(false);
    expect(refused.status).toBe(429);
    expect(refused.headers).toEqual({
      'X-RateLimit-Limit': '3',
      'X-RateLimit-Remaining': '0',
      'X-RateLimit-Reset': '1700000060',
      'RateLimit-Policy': '"default";q=3;w=60',
      RateLimit: '"default";r=0;t=30',
      'Retry-After': '30',
    });
    expect(refused.body).toEqual({ error: 'Too Many Requests', retryAfter: 30 });
  });

  test('"legacy" sends only X-RateLimit-*', async () => {
    const l = limiter('legacy');
    at(1);
    expect((await l.handle(req())).headers).toEqual({
      'X-RateLimit-Limit': '3',
      'X-RateLimit-Remaining': '2',
      'X-RateLimit-Reset': '1700000061',
    });
  });

  test('"ietf" sends only RateLimit-Policy and RateLimit, under policyName', async () => {
    const l = limiter('ietf', { policyName: 'api' });
    expect((await l.handle(req())).headers).toEqual({
      'RateLimit-Policy': '"api";q=3;w=60',
      RateLimit: '"api";r=2;t=60',
    });
  });

  test('false sends no rate headers, but a refusal still carries Retry-After', async () => {
    const l = limiter(false);
    expect((await l.handle(req())).headers).toEqual({});
    await l.handle(req());
    await l.handle(req());
    at(59_000);
    expect((await l.handle(req())).headers).toEqual({ 'Retry-After': '1' });
  });
});

describe('Retry-After', () => {
  test.each([
    [59_999, '1'],
    [59_000, '1'],
    [58_999, '2'],
    [0, '60'],
  ])('refused at +%i ms -> Retry-After %s', async (offset, expected) => {
    const l = limiter('legacy');
    for (let i = 0; i < 3; i++) await l.handle(req());
    at(offset);
    const refused = await l.handle(req());
    expect(refused.headers['Retry-After']).toBe(expected);
    expect(refused.body).toEqual({ error: 'Too Many Requests', retryAfter: Number(expected) });
  });

  test('rounding helper: whole seconds up, at least 1, undefined for never', () => {
    expect(retryAfterSeconds(0)).toBe(1);
    expect(retryAfterSeconds(1)).toBe(1);
    expect(retryAfterSeconds(1000)).toBe(1);
    expect(retryAfterSeconds(1001)).toBe(2);
    expect(retryAfterSeconds(Number.POSITIVE_INFINITY)).toBeUndefined();
  });
});

describe('policies', () => {
  test('window seconds are rounded up, at least 1', () => {
    expect(formatRateLimitPolicy('default', slidingWindow('5/500ms').members)).toBe('"default";q=5;w=1');
    expect(formatRateLimitPolicy('default', slidingWindow('5/1500ms').members)).toBe('"default";q=5;w=2');
    expect(formatRateLimitPolicy('p', tokenBucket({ capacity: 20, refillRate: 10 }).members)).toBe(
      '"p";q=20;w=2',
    );
  });

  test('a hybrid lists every member; RateLimit names the binding one', async () => {
    const l = createHttpLimiter({
      algorithm: hybrid(fixedWindow('10/s'), fixedWindow('12/hour')),
      backend: new MemoryBackend({ clock: () => Date.now() }),
      headers: 'ietf',
    });
    const policy = '"default-0";q=10;w=1, "default-1";q=12;w=3600';
    expect((await l.handle(req())).headers).toEqual({
      'RateLimit-Policy': policy,
      RateLimit: '"default-0";r=9;t=1',
    });
    for (let i = 0; i < 4; i++) await l.handle(req());
    at(1000);
    let last = await l.handle(req());
    for (let i = 0; i < 4; i++) last = await l.handle(req());
    // Second 1: the per-second member has 5 left, the hourly one only 2, so the hourly one binds.
    expect(last.headers).toEqual({ 'RateLimit-Policy': policy, RateLimit: '"default-1";r=2;t=3599' });
  });
});

describe('reset and retry agree', () => {
  test('a sliding-window refusal never promises a reset earlier than its Retry-After', async () => {
    const l = createHttpLimiter({
      algorithm: slidingWindow('10/minute'),
      backend: new MemoryBackend({ clock: () => Date.now() }),
      headers: 'both',
    });
    for (let i = 0; i < 10; i++) await l.handle(req());
    // The window is full: it ends in 60 s, but its 10 requests then weigh as the previous window, and the
    // 11th can pass only once a tenth of them has slid out, 66 s from now.
    const refused = await l.handle(req());
    expect(refused.decision).toMatchObject({ allowed: false, resetAfterMs: 60_000, retryAfterMs: 66_000 });
    expect(refused.headers).toMatchObject({
      'Retry-After': '66',
      'X-RateLimit-Reset': String(T0 / 1000 + 66),
      RateLimit: '"default";r=0;t=66',
    });
  });

  test('a hybrid refusal describes the refusing member with the longest retry', async () => {
    const l = createHttpLimiter({
      algorithm: hybrid(fixedWindow('2/s'), fixedWindow('2/hour')),
      backend: new MemoryBackend({ clock: () => Date.now() }),
      headers: 'both',
    });
    await l.handle(req());
    await l.handle(req());
    // Both members refuse the third request, with the same limit and remaining: the hourly one makes the
    // client wait longest, so it is the one described, and Reset agrees with Retry-After.
    const refused = await l.handle(req());
    expect(refused.decision).toMatchObject({ allowed: false, binding: 1, limit: 2, retryAfterMs: 3_600_000 });
    expect(refused.headers).toMatchObject({
      'X-RateLimit-Limit': '2',
      'X-RateLimit-Reset': String(T0 / 1000 + 3600),
      RateLimit: '"default-1";r=0;t=3600',
      'Retry-After': '3600',
    });
  });
});

describe('isRateLimitHeaderName', () => {
  test('knows every name the limiter sends, in any case, and nothing else', () => {
    for (const name of RATE_LIMIT_HEADER_NAMES) {
      expect(isRateLimitHeaderName(name)).toBe(true);
      expect(isRateLimitHeaderName(name.toUpperCase())).toBe(true);
    }
    expect(isRateLimitHeaderName('X-RateLimit-Limit')).toBe(true);
    expect(isRateLimitHeaderName('RateLimit')).toBe(true);
    for (const other of [
      '',
      'x',
      'Content-Type',
      'Set-Cookie',
      'x-ratelimit',
      'RateLimits',
      'x-request-id',
    ]) {
      expect(isRateLimitHeaderName(other)).toBe(false);
    }
  });
});
