import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { type HttpOutcome, HttpLimiter, RedisBackend } from '../../src/index.js';
import { redisUrlForTests } from '../support/testkit.js';

const request = (ip: string) => ({ ip, method: 'GET', path: '/', header: () => undefined });

// Collects what evaluateTo hands its continuation, with the two arguments it was given.
function collector() {
  const seen: { outcome: HttpOutcome; a: string; b: number }[] = [];
  const then = (outcome: HttpOutcome, a: string, b: number) => {
    seen.push({ outcome, a, b });
  };
  return { seen, then };
}

describe('HttpLimiter.evaluateTo', () => {
  const client = new Redis(redisUrlForTests());
  afterAll(() => client.quit());

  it('hands a memory decision over before returning, with the outcome evaluate gives', () => {
    const viaTo = new HttpLimiter({ rate: '2/minute' });
    const viaEvaluate = new HttpLimiter({ rate: '2/minute' });
    const { seen, then } = collector();
    for (let i = 0; i < 3; i++) {
      viaTo.evaluateTo(request('10.0.0.1'), then, 'a', i);
      expect(seen).toHaveLength(i + 1);
      const expected = viaEvaluate.evaluate(request('10.0.0.1')) as HttpOutcome;
      const { outcome, a, b } = seen[i]!;
      expect([a, b]).toEqual(['a', i]);
      expect(outcome.allowed).toBe(expected.allowed);
      expect(outcome.status).toBe(expected.status);
      expect(outcome.body).toEqual(expected.body);
      expect(Object.keys(outcome.headers)).toEqual(Object.keys(expected.headers));
      expect(outcome.headers['X-RateLimit-Remaining']).toBe(expected.headers['X-RateLimit-Remaining']);
    }
    expect(seen.map((s) => s.outcome.status)).toEqual([200, 200, 429]);
  });

  it('hands over later when callbacks or an asynchronous backend are involved', async () => {
    const withSkip = new HttpLimiter({ rate: '1/minute', skip: () => false });
    const onRedis = new HttpLimiter({
      rate: '1/minute',
      backend: new RedisBackend({ client }),
      prefix: `evaluate-to-${Date.now()}`,
    });
    for (const limiter of [withSkip, onRedis]) {
      const { seen, then } = collector();
      const handed = new Promise<void>((resolve) => {
        limiter.evaluateTo(request('10.0.0.2'), then, 'x', 1);
        limiter.evaluateTo(
          request('10.0.0.2'),
          (o, a, b) => {
            then(o, a, b);
            resolve();
          },
          'y',
          2,
        );
      });
      expect(seen).toHaveLength(0);
      await handed;
      expect(seen.map((s) => [s.outcome.status, s.a, s.b])).toEqual([
        [200, 'x', 1],
        [429, 'y', 2],
      ]);
    }
  });
});
