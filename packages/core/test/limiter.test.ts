import { describe, expect, it } from 'vitest';
import {
  combine,
  fixedWindow,
  gcra,
  hybrid,
  MemoryBackend,
  RateLimitExceeded,
  RateLimiter,
  slidingLog,
  tokenBucket,
} from '../src/index.js';
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
    });
    expect(exceeded.message).toContain('60000 ms');
    const never = await limiter.consume('other', { cost: 3 }).catch((e: unknown) => e);
    expect((never as RateLimitExceeded).message).toContain('can never be allowed');
  });

  it('names keys prefix:{key}:rule, one per member, with the rule parameters in the name', () => {
    const limiter = new RateLimiter({
      algorithm: hybrid(fixedWindow('5/s'), tokenBucket({ capacity: 10, refillRate: '1/s' })),
      prefix: 'api',
    });
    expect(limiter.keysFor('alice')).toEqual(['api:{alice}:fw5.1000', 'api:{alice}:tb10.1.1000']);
    expect(new RateLimiter({ algorithm: gcra('10/minute') }).keysFor('1.2.3.4')).toEqual([
      'dl:{1.2.3.4}:gc10.60000.10',
    ]);
  });

  it('gives keys starting with "}" a shape of their own with a non-empty hash tag', () => {
    const limiter = new RateLimiter({ algorithm: hybrid(fixedWindow('5/s'), slidingLog('5/s')) });
    const keys = limiter.keysFor('}x');
    expect(keys).toEqual(['dl:!{!}x}:fw5.1000', 'dl:!{!}x}:sl5.1000']);
    // Distinct from every ordinary key, including ones that look alike.
    for (const other of ['!}x', '{!}x', 'x', '}']) {
      expect(limiter.keysFor(other)).not.toEqual(keys);
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
    });
  });

  it('retries after the longest wait, Infinity if one member can never allow', () => {
    expect(combine(members, [refused(0, 900, 900), refused(0, 300, 300)]).retryAfterMs).toBe(900);
    expect(combine(members, [refused(0, 900, 900), refused(5, 0, -1)]).retryAfterMs).toBe(
      Number.POSITIVE_INFINITY,
    );
  });
});
