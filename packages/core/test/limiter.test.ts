import { describe, expect, it } from 'vitest';
import {
  fixedWindow,
  gcra,
  hybrid,
  MemoryBackend,
  RateLimitExceeded,
  RateLimiter,
  slidingLog,
  slidingWindow,
  tokenBucket,
} from '../src/index.js';
import { combine } from '../src/limiter.js';
import { FakeClock } from './support/clock.js';

describe('RateLimiter', () => {
  it('defaults to a MemoryBackend, prefix "dl" and a 1000 ms timeout', async () => {
    const limiter = new RateLimiter({ algorithm: fixedWindow('2/minute') });
    expect(limiter.backend).toBeInstanceOf(MemoryBackend);
    expect(limiter.prefix).toBe('dl');
    expect(limiter.timeoutMs).toBe(1000);
    expect((await limiter.limit('k')).remaining).toBe(1);
  });

  it('consume() resolves when allowed and rejects with RateLimitExceeded carrying the decision', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({
      algorithm: fixedWindow('2/minute'),
      backend: new MemoryBackend({ clock: clock.read }),
    });
    expect(await limiter.consume('k')).toMatchObject({ allowed: true, remaining: 1 });
    expect(await limiter.consume('k')).toMatchObject({ allowed: true, remaining: 0 });
    const error = await limiter.consume('k').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitExceeded);
    const exceeded = error as RateLimitExceeded;
    expect(exceeded.code).toBe('ERR_DL_LIMITED');
    expect(exceeded.decision).toEqual({
      allowed: false,
      limit: 2,
      remaining: 0,
      resetAfterMs: 60_000,
      retryAfterMs: 60_000,
      binding: 0,
    });
    expect(exceeded.message).toContain('60000 ms');
    const never = await limiter.consume('other', { cost: 3 }).catch((e: unknown) => e);
    expect((never as RateLimitExceeded).message).toContain('can never be allowed');
  });

  it('names keys prefix:{client}:member, without the rule parameters, so a change of rate keeps counts', () => {
    const limiter = new RateLimiter({
      algorithm: hybrid(fixedWindow('5/s'), tokenBucket({ capacity: 10, refillRate: '1/s' })),
      prefix: 'api',
    });
    expect(limiter.keysFor('alice')).toEqual(['api:{alice}:fw', 'api:{alice}:tb']);
    expect(new RateLimiter({ algorithm: gcra('10/minute') }).keysFor('1.2.3.4')).toEqual(['dl:{1.2.3.4}:gc']);
    // A second member of the same algorithm keeps apart from the first.
    const two = new RateLimiter({ algorithm: hybrid(fixedWindow('5/s'), fixedWindow('100/day')) });
    expect(two.keysFor('k')).toEqual(['dl:{k}:fw', 'dl:{k}:fw1']);
    expect(new RateLimiter({ algorithm: fixedWindow('9/minute') }).keysFor('k')).toEqual(['dl:{k}:fw']);
  });

  it('puts a scope between the client and the member, escaped, with the client alone in the hash tag', () => {
    const limiter = new RateLimiter({ algorithm: slidingWindow('5/s'), prefix: 'demo' });
    expect(limiter.keysFor('ip:127.0.0.1', { scope: 'POST /api/login' })).toEqual([
      'demo:{ip:127.0.0.1}:POST /api/login:sw',
    ]);
    expect(limiter.keysFor('ip:::1', { scope: 'GET /users/:id' })).toEqual([
      'demo:{ip:::1}:GET /users/%3Aid:sw',
    ]);
    // A long scope is hashed; a scope that starts with "#" cannot pass for a hashed one.
    const long = limiter.keysFor('k', { scope: `GET /${'x'.repeat(200)}` })[0]!;
    expect(long).toMatch(/^demo:\{k\}:#[0-9a-f]{64}:sw$/);
    expect(limiter.keysFor('k', { scope: '#x' })).toEqual(['demo:{k}:%23x:sw']);
    expect(() => limiter.keysFor('k', { scope: '' })).toThrow(/scope/);
  });

  it('escapes braces and "%" in a client, so the hash tag is always the whole client', () => {
    const limiter = new RateLimiter({ algorithm: hybrid(fixedWindow('5/s'), slidingLog('5/s')) });
    const keys = limiter.keysFor('}x');
    expect(keys).toEqual(['dl:{%7Dx}:fw', 'dl:{%7Dx}:sl']);
    // Distinct from every ordinary key, including ones that look alike.
    const seen = new Set(keys);
    for (const other of ['%7Dx', '{x', 'x}', 'x', '}', '%']) {
      for (const k of limiter.keysFor(other)) {
        expect(seen.has(k)).toBe(false);
        seen.add(k);
        // The tag (between the first "{" and the next "}") is the escaped client, never empty.
        expect(k.slice(k.indexOf('{') + 1, k.indexOf('}'))).not.toBe('');
      }
    }
  });
});

describe('combine', () => {
  const members = [fixedWindow('10/s'), tokenBucket('5/s')].map((a) => a.members[0]!);
  const allowed = (remaining: number, resetAfterMs: number) => ({
    allowed: true,
    remaining,
    resetAfterMs,
    retryAfterMs: 0,
  });
  const refused = (remaining: number, resetAfterMs: number, retryAfterMs: number) => ({
    allowed: false,
    remaining,
    resetAfterMs,
    retryAfterMs,
  });

  it('reports the member with the least remaining when all allow', () => {
    expect(combine(members, [allowed(3, 900), allowed(4, 200)])).toEqual({
      allowed: true,
      limit: 10,
      remaining: 3,
      resetAfterMs: 900,
      retryAfterMs: 0,
      binding: 0,
    });
  });

  it('breaks a tie in remaining by the smaller limit', () => {
    expect(combine(members, [allowed(2, 900), allowed(2, 200)])).toMatchObject({
      limit: 5,
      resetAfterMs: 200,
    });
  });

  it('when refused, reports a member that refused, never one that would have charged', () => {
    // The window would allow (and report 1 left after a charge that never happens); the bucket refuses.
    expect(combine(members, [allowed(1, 900), refused(2, 600, 200)])).toEqual({
      allowed: false,
      limit: 5,
      remaining: 2,
      resetAfterMs: 600,
      retryAfterMs: 200,
      binding: 1,
    });
  });

  it('when refused, describes the refusing member with the longest retry, so reset and retry agree', () => {
    // Both refuse; the bucket has less remaining but the window makes the client wait longer.
    expect(combine(members, [refused(1, 5000, 5000), refused(0, 300, 300)])).toEqual({
      allowed: false,
      limit: 10,
      remaining: 1,
      resetAfterMs: 5000,
      retryAfterMs: 5000,
      binding: 0,
    });
    expect(combine(members, [refused(0, 300, 300), refused(2, 0, -1)])).toMatchObject({
      binding: 1,
      retryAfterMs: Number.POSITIVE_INFINITY,
    });
  });

  it('retries after the longest wait, Infinity if one member can never allow', () => {
    expect(combine(members, [refused(0, 900, 900), refused(0, 300, 300)]).retryAfterMs).toBe(900);
    expect(combine(members, [refused(0, 900, 900), refused(5, 0, -1)]).retryAfterMs).toBe(
      Number.POSITIVE_INFINITY,
    );
  });
});
