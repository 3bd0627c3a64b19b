import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fixedWindow, leakyBucket, MemoryBackend, slidingLog, tokenBucket } from '../src/index.js';
import { bucketStep } from '../src/algorithms/bucket.js';
import type { Admission, AlgorithmStep } from '../src/algorithms/types.js';
import type { Keyspace } from '../src/backends/types.js';
import { combine, decisionOf } from '../src/decision.js';
import { FakeClock } from './support/clock.js';

// The memory backend answers through a step's `decide` twin where it has one; the step itself still serves
// peeks, shared-namespace hybrids and the local fallback. Both must give the same Decision and, when
// admitted, store the same state for the same time, for every state, time and cost.
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
          agreesWithStep(step, state, now, cost);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

// A step's decide twin, on copies of one state, answers as decisionOf(limit, step) and admits what the step does.
function agreesWithStep(step: AlgorithmStep, state: number[] | undefined, now: number, cost: number): void {
  const out: Admission = { state: null, ttlMs: 0 };
  const viaDecide = step.decide!(state && [...state], now, cost, out);
  const r = step.step(state && [...state], now, cost);
  expect(viaDecide).toEqual(decisionOf(step.limit, r));
  if (r.allowed) {
    expect(out.state).toEqual(r.state);
    expect(out.ttlMs).toBe(r.ttlMs);
  }
}

describe('bucket decide twin', () => {
  // States include ones written under another rate (sr per sI ms), which the step reads at that rate
  // and converts on admission: the twin must round exactly alike.
  it('answers exactly as decisionOf(limit, step) and admits the same state and TTL', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 5000 }),
        fc.option(
          fc.tuple(
            fc.integer({ min: 0, max: 50_000 }),
            fc.integer({ min: 0, max: 10_000 }),
            fc.integer({ min: 1, max: 6 }),
            fc.integer({ min: 1, max: 5000 }),
          ),
          { nil: undefined },
        ),
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 1, max: 10 }),
        (capacity, rate, intervalMs, state, now, cost) => {
          const step = bucketStep('token-bucket', 'tb', capacity, { limit: rate, windowMs: intervalMs });
          agreesWithStep(step, state, now, cost);
        },
      ),
      { numRuns: 3000 },
    );
  });
});

// A keyspace over explicit namespaces, so two keyspaces can share a first member's table and differ after it.
function space(members: AlgorithmStep[], names: string[]): Keyspace {
  return { members, names, keys: (client: string) => names.map((n) => `${n}:${client}`) };
}

interface EntryView {
  table: Map<string, unknown>;
  key: string;
  state: number[];
  expiresAt: number;
  next: EntryView | null;
}

// Everything a backend holds, in recency order: namespace, key, state and expiry of each entry.
function dump(backend: MemoryBackend): unknown[] {
  const inner = backend as unknown as { tables: Map<string, Map<string, unknown>>; head: EntryView | null };
  const names = new Map([...inner.tables].map(([name, table]) => [table, name]));
  const out: unknown[] = [];
  for (let e = inner.head; e !== null; e = e.next) {
    out.push([names.get(e.table), e.key, [...e.state], e.expiresAt]);
  }
  return out;
}

const kinds = ['tokenBucket', 'leakyBucket', 'fixedWindow'] as const;
type Spec = { kind: (typeof kinds)[number]; limit: number; windowMs: number };
const spec: fc.Arbitrary<Spec> = fc.record({
  kind: fc.constantFrom(...kinds),
  limit: fc.integer({ min: 1, max: 4 }),
  windowMs: fc.integer({ min: 1, max: 60 }),
});

function make({ kind, limit, windowMs }: Spec): AlgorithmStep {
  const rate = `${limit}/${windowMs}ms`;
  if (kind === 'tokenBucket') return tokenBucket({ capacity: limit, refillRate: rate });
  if (kind === 'leakyBucket') return leakyBucket({ capacity: limit, leakRate: rate });
  return fixedWindow({ limit, window: windowMs });
}

type Op =
  | { op: 'decide'; space: 0 | 1; key: string; cost: number; advance: number }
  | { op: 'delete'; key: string }
  | { op: 'clear' };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record({
      op: fc.constant('decide' as const),
      space: fc.constantFrom(0 as const, 1 as const),
      key: fc.constantFrom('a', 'b', 'c'),
      cost: fc.integer({ min: 1, max: 5 }),
      advance: fc.integer({ min: 0, max: 30 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), key: fc.constantFrom('a', 'b') }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('clear' as const) }) },
);

// MemoryBackend.decide runs a hybrid's members on their stored states in place through their twins; the
// generic path (evaluate on copies, then combine) is the reference. Traces mix refusals by either member,
// too-costly requests, expiry, maxKeys eviction, a second keyspace sharing the first member's table (so the
// entry-to-entry hint must tell tables apart), deletes through a keyspace of the second member alone, and
// clears: the Decisions, the stored states, their expiries and the recency order must stay identical.
describe('memory hybrid fast path', () => {
  it('decides and stores exactly as combine(evaluate(...))', () => {
    fc.assert(
      fc.property(
        fc.array(spec, { minLength: 2, maxLength: 3 }),
        spec,
        fc.integer({ min: 2, max: 12 }),
        fc.array(op, { minLength: 1, maxLength: 40 }),
        (specs, otherSpec, maxKeys, ops) => {
          const members = specs.map(make);
          const names = members.map((_, i) => `m${i}`);
          const spaces = [space(members, names), space([members[0]!, make(otherSpec)], [names[0]!, 'other'])];
          const tail = space(members.slice(1), names.slice(1));
          const clock = new FakeClock();
          const fast = new MemoryBackend({ clock: clock.read, maxKeys });
          const slow = new MemoryBackend({ clock: clock.read, maxKeys });
          for (const o of ops) {
            if (o.op === 'delete') {
              fast.delete(tail, o.key);
              slow.delete(tail, o.key);
            } else if (o.op === 'clear') {
              fast.clear();
              slow.clear();
            } else {
              clock.advance(o.advance);
              const s = spaces[o.space]!;
              const got = fast.decide(s, o.key, o.cost);
              const want = combine(s.members, slow.evaluate(s, o.key, o.cost, false));
              expect(got).toEqual(want);
            }
            expect(dump(fast)).toEqual(dump(slow));
            expect(fast.size).toBe(slow.size);
          }
        },
      ),
      { numRuns: 1500 },
    );
  });
});

describe('slidingLog decide twin', () => {
  // The memory backend keeps the sliding log on a state of its own (memoryStep's): the twin is checked
  // against memoryStep, on the states memoryStep itself writes over long traces that compact the log.
  it('answers exactly as decisionOf(limit, memoryStep) and admits the same state and TTL', () => {
    // A step back of the clock (dt < 0) must not put a pair before the newest one.
    const call = fc.record({ dt: fc.integer({ min: -3, max: 6 }), cost: fc.integer({ min: 1, max: 8 }) });
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 1, max: 40 }),
        fc.array(call, { minLength: 20, maxLength: 300 }),
        (limit, windowMs, calls) => {
          const step = slidingLog({ limit, window: windowMs });
          let state: number[] | undefined;
          let now = 1000;
          for (const c of calls) {
            now += c.dt;
            const out: Admission = { state: null, ttlMs: 0 };
            const viaDecide = step.decide!(state && [...state], now, c.cost, out);
            const r = step.memoryStep!(state && [...state], now, c.cost);
            expect(viaDecide).toEqual(decisionOf(step.limit, r));
            if (r.allowed) {
              expect(out.state).toEqual(r.state);
              expect(out.ttlMs).toBe(r.ttlMs);
              state = r.state ?? undefined;
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
