import { afterEach, describe, expect, it } from 'vitest';
import { type Algorithm, RateLimiter } from '../../src/index.js';
import type { BackendUnderTest, MakeBackend } from './behaviour.js';
import { FakeClock } from './clock.js';
import { rateChangeCases } from './rate-change-cases.js';

/**
 * A change of rate (a reload, a load state) on one backend: two limiters of one algorithm with different
 * parameters on one prefix read and write the same state, and the used count carries over both ways.
 */
export function describeRateChanges(makeBackend: MakeBackend): void {
  describe('a change of rate', () => {
    const open: BackendUnderTest[] = [];
    afterEach(async () => {
      for (const h of open.splice(0)) await h.cleanup?.();
    });

    async function setup(c: (typeof rateChangeCases)[number]) {
      const clock = new FakeClock();
      const h = await makeBackend(clock.read);
      open.push(h);
      const limiter = (algorithm: Algorithm) =>
        new RateLimiter({ algorithm, backend: h.backend, prefix: 'rc', timeoutMs: 5000 });
      const large = limiter(c.large());
      const small = limiter(c.small());
      // The premise: no parameter in the key names, so both limiters hold one state per key.
      expect(small.keysFor('k')).toEqual(large.keysFor('k'));
      return { clock, large, small };
    }

    for (const c of rateChangeCases) {
      describe(c.name, () => {
        it('gives a key that used 5 of the large limit nothing on entering the small one', async () => {
          const { large, small } = await setup(c);
          expect(await large.limit('k', { cost: 5 })).toMatchObject({ allowed: true, remaining: 15 });
          for (let i = 0; i < 3; i++) {
            expect(await small.limit('k')).toMatchObject({ allowed: false, remaining: 0 });
          }
          expect(await small.peek('k')).toMatchObject({ allowed: false, remaining: 0 });
          // Nothing was lost either: back on the large limit, the 5 still count.
          expect(await large.peek('k')).toMatchObject({ allowed: true, remaining: 14 });
        });

        it('gives a key that used 2 of 2 on the small limit 18 on the large one, not 20', async () => {
          const { large, small } = await setup(c);
          expect(await small.limit('k', { cost: 2 })).toMatchObject({ allowed: true, remaining: 0 });
          expect((await small.limit('k')).allowed).toBe(false);
          expect(await large.limit('k', { cost: 19 })).toMatchObject({ allowed: false, remaining: 18 });
          expect(await large.limit('k', { cost: 18 })).toMatchObject({ allowed: true, remaining: 0 });
          expect((await large.limit('k')).allowed).toBe(false);
        });

        it('follows its exact script of switches, refills and window edges', async () => {
          const { clock, large, small } = await setup(c);
          for (const [i, step] of c.script.entries()) {
            clock.at(step.at);
            const l = step.under === 'large' ? large : small;
            const d = step.peek ? await l.peek('k') : await l.limit('k', { cost: step.cost ?? 1 });
            expect({ step: i, at: step.at, ...d }).toEqual({ step: i, at: step.at, ...step.expect });
          }
        });
      });
    }
  });
}
