import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { slidingLog } from '../src/index.js';

// The memory backend runs the sliding log on a state of its own (a running count and a moving head); the
// differential test proves it against Lua over short traces. These traces are long and dense, so logs grow,
// slide out and get compacted many times over, and every outcome must match the plain step's.
describe('sliding log on the memory state', () => {
  it('answers exactly as the plain step over long traces, window changes included', () => {
    const params = fc.record({
      limit: fc.integer({ min: 1, max: 40 }),
      window: fc.integer({ min: 1, max: 50 }),
    });
    const call = fc.record({
      dt: fc.integer({ min: 0, max: 6 }),
      cost: fc.integer({ min: 1, max: 8 }),
      set: fc.integer({ min: 0, max: 1 }),
      peek: fc.boolean(),
    });
    fc.assert(
      fc.property(
        fc.tuple(params, params),
        fc.array(call, { minLength: 50, maxLength: 400 }),
        (sets, calls) => {
          const algorithms = sets.map((p) => slidingLog({ limit: p.limit, window: p.window }));
          let plain: number[] | undefined;
          let memory: number[] | undefined;
          let now = 1000;
          for (const c of calls) {
            now += c.dt;
            const a = algorithms[c.set]!;
            const expected = a.step(plain?.slice(), now, c.cost);
            const got = a.memoryStep!(c.peek ? memory?.slice() : memory, now, c.cost);
            const { state: s1, ...outcome } = expected;
            const { state: s2, ...gotOutcome } = got;
            expect(gotOutcome).toEqual(outcome);
            if (expected.allowed && !c.peek) {
              plain = s1 ?? undefined;
              memory = s2 ?? undefined;
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
