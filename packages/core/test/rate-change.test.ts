import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Algorithm,
  type Decision,
  fixedWindow,
  gcra,
  leakyBucket,
  MemoryBackend,
  RateLimiter,
  slidingLog,
  slidingWindow,
  tokenBucket,
} from '../src/index.js';
import { FakeClock } from './support/clock.js';

// What a change of rate must mean, as properties over random parameter pairs: two limiters of one algorithm
// on one prefix share their state (key names carry no parameters). The pure steps run on the memory
// backend; the differential test proves their Lua twins give the same answers on the same traces.

const RUNS = 500;

const limit = fc.integer({ min: 1, max: 6 });
const window = fc.oneof(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 3000 }));
const rate = fc.tuple(fc.integer({ min: 1, max: 5 }), window).map(([n, ms]) => `${n}/${ms}ms`);

/** How to build each algorithm from its options, so counterexamples print as options to type. */
const builders: Record<string, (o: never) => Algorithm> = {
  tokenBucket,
  leakyBucket,
  gcra,
  fixedWindow,
  slidingWindow,
  slidingLog,
};

/** Random options per algorithm. */
const kinds: Record<string, fc.Arbitrary<object>> = {
  tokenBucket: fc.record({ capacity: limit, refillRate: rate }),
  leakyBucket: fc.record({ capacity: limit, leakRate: rate }),
  gcra: fc.record({ limit: fc.integer({ min: 1, max: 5 }), period: window, burst: limit }),
  fixedWindow: fc.record({ limit, window }),
  slidingWindow: fc.record({ limit, window }),
  slidingLog: fc.record({ limit, window }),
};

const build = (name: string, options: object): Algorithm => builders[name]!(options as never);

/** Two limiters, one per parameter set, sharing one memory backend and prefix. */
function pair(a: Algorithm, b: Algorithm, clock: FakeClock): [RateLimiter, RateLimiter] {
  const backend = new MemoryBackend({ clock: clock.read });
  const limiters: [RateLimiter, RateLimiter] = [
    new RateLimiter({ algorithm: a, backend, prefix: 'p' }),
    new RateLimiter({ algorithm: b, backend, prefix: 'p' }),
  ];
  expect(limiters[1].keysFor('k')).toEqual(limiters[0].keysFor('k'));
  return limiters;
}

interface Request {
  under: 0 | 1;
  cost: number;
  peek: boolean;
}

const requests = fc.array(
  fc.record({
    under: fc.constantFrom<0 | 1>(0, 1),
    cost: fc.integer({ min: 1, max: 7 }),
    peek: fc.boolean(),
  }),
  { minLength: 1, maxLength: 16 },
);

describe('a change of rate at one instant counts every admitted unit against the limit in force', () => {
  // Nothing refills or slides out within one instant, so the exact answer is known for every algorithm:
  // allowed exactly when used + cost fits the current limit, and what remains is that limit minus used.
  for (const [name, kind] of Object.entries(kinds)) {
    it(`${name}: ${RUNS} random switches between two parameter sets`, async () => {
      const property = fc.asyncProperty(
        kind,
        kind,
        requests,
        fc.integer({ min: 0, max: 2_000_000_000_000 }),
        async (a, b, trace: Request[], start) => {
          const algorithms = [build(name, a), build(name, b)];
          const limiters = pair(algorithms[0]!, algorithms[1]!, new FakeClock(start));
          let used = 0;
          for (const [i, r] of trace.entries()) {
            const l = limiters[r.under];
            const max = algorithms[r.under]!.members[0]!.limit;
            const d = r.peek ? await l.peek('k') : await l.limit('k', { cost: r.cost });
            const cost = r.peek ? 1 : r.cost;
            const fits = cost <= max && used + cost <= max;
            const remaining = fits ? max - used - cost : Math.max(0, max - used);
            expect({ i, allowed: d.allowed, remaining: d.remaining }).toEqual({
              i,
              allowed: fits,
              remaining,
            });
            if (fits && !r.peek) used += cost;
          }
        },
      );
      await fc.assert(property, { numRuns: RUNS });
    });
  }
});

/** Units a cost-1 peek says are in use: the limit less what it leaves and what it would take. */
const usedSeen = (d: Decision): number => d.limit - d.remaining - (d.allowed ? 1 : 0);

interface Move {
  dt: number;
  under: 0 | 1;
  cost: number;
  peek: boolean;
}

const moves = fc.array(
  fc.record({
    dt: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 6000 })),
    under: fc.constantFrom<0 | 1>(0, 1),
    cost: fc.integer({ min: 1, max: 7 }),
    peek: fc.boolean(),
  }),
  { minLength: 1, maxLength: 16 },
);

describe('at every instant, both parameter sets read the same used amount, up to the smaller limit', () => {
  // The state keeps the timing of the parameters that wrote it (refill rate, window end) until an
  // admission rewrites it, so whichever limiter reads it sees the same units in use, each capped only by
  // its own limit. The sliding log reads the shorter of its window and the current one, so it is held to
  // this with one window; the sliding window counter caps each of its counts by the limit, so it is not.
  const shared: Record<string, fc.Arbitrary<[object, object]>> = {
    tokenBucket: fc.tuple(kinds.tokenBucket!, kinds.tokenBucket!),
    leakyBucket: fc.tuple(kinds.leakyBucket!, kinds.leakyBucket!),
    gcra: fc.tuple(kinds.gcra!, kinds.gcra!),
    fixedWindow: fc.tuple(kinds.fixedWindow!, kinds.fixedWindow!),
    slidingLog: fc.tuple(limit, limit, window).map(([a, b, w]) => [
      { limit: a, window: w },
      { limit: b, window: w },
    ]),
  };
  for (const [name, pairArb] of Object.entries(shared)) {
    it(`${name}: ${RUNS} random traces`, async () => {
      const property = fc.asyncProperty(pairArb, moves, async ([optionsA, optionsB], trace: Move[]) => {
        const clock = new FakeClock();
        const [a, b] = pair(build(name, optionsA), build(name, optionsB), clock);
        for (const [i, m] of trace.entries()) {
          clock.advance(m.dt);
          const l = m.under === 0 ? a : b;
          await (m.peek ? l.peek('k') : l.limit('k', { cost: m.cost }));
          const [seenA, seenB] = [await a.peek('k'), await b.peek('k')];
          const cappedA = Math.min(seenB.limit, usedSeen(seenA));
          const cappedB = Math.min(seenA.limit, usedSeen(seenB));
          expect({ i, used: cappedA }).toEqual({ i, used: cappedB });
        }
      });
      await fc.assert(property, { numRuns: RUNS });
    });
  }
});
