import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fixedWindow } from '../src/index.js';
import type { Admission } from '../src/algorithms/types.js';
import { decisionOf } from '../src/decision.js';

// The memory backend answers a fixed window through its step's `decide` twin; the step itself still serves
// peeks, hybrids and the local fallback. Both must give the same Decision and, when admitted, store the same
// state for the same time, for every state, time and cost.
describe('fixedWindow decide twin', () => {
  it('answers exactly as decisionOf(limit, step) and admits the same state and TTL', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 5000 }),
        fc.option(fc.tuple(fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 0, max: 10 })), {
          nil: undefined,
        }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 1, max: 10 }),
        (limit, windowMs, state, now, cost) => {
          const step = fixedWindow({ limit, window: windowMs });
          const out: Admission = { state: null, ttlMs: 0 };
          const viaDecide = step.decide!(state && [...state], now, cost, out);
          const r = step.step(state && [...state], now, cost);
          expect(viaDecide).toEqual(decisionOf(step.limit, r));
          if (r.allowed) {
            expect(out.state).toEqual(r.state);
            expect(out.ttlMs).toBe(r.ttlMs);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
