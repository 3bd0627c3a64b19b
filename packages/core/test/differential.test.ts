import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, type ExpectStatic, it } from 'vitest';
import {
  type Algorithm,
  type Decision,
  fixedWindow,
  gcra,
  hybrid,
  leakyBucket,
  MemoryBackend,
  RateLimiter,
  RedisBackend,
  slidingLog,
  slidingWindow,
  tokenBucket,
} from '../src/index.js';
import { SLIDING_LOG_MAX_LIMIT } from '../src/algorithms/sliding-log.js';
import { FakeClock } from './support/clock.js';
import { DB } from './support/redis.js';
import { flushTestRedis, redisUrlForTests } from './support/testkit.js';

// Every trace runs through the TypeScript steps (MemoryBackend) and their Lua twins (RedisBackend), both on
// the same injected clock, and must get identical decisions at every step.
//
// One wrinkle: Redis expires keys in real time, the injected clock jumps. A key whose state still matters at
// the injected time could vanish in real time between two steps (a 1 ms TTL) and fail the comparison for a
// reason that is not the algorithm's. So the Redis client below stretches every TTL, atomically with the
// script (MULTI), far beyond a trace. The memory backend still drops state at its injected expiry, so the
// comparison also proves each step's TTL contract: state past its TTL answers exactly like no state.
function ttlStretchingClient(client: Redis): Redis {
  const call =
    (command: 'evalsha' | 'eval') =>
    async (script: string, numKeys: number, ...rest: (string | number)[]): Promise<unknown> => {
      const tx = client.multi()[command](script, numKeys, ...rest);
      for (const key of rest.slice(0, numKeys)) tx.pexpire(String(key), 600_000);
      const replies = await tx.exec();
      const [error, value] = replies![0]!;
      if (error) throw error;
      return value;
    };
  const stretched = { evalsha: call('evalsha'), eval: call('eval') };
  // Everything else (status, events, TIME, DEL) is the real client's.
  return new Proxy(client, {
    get(target, name) {
      if (name === 'evalsha' || name === 'eval') return stretched[name];
      const value = Reflect.get(target, name, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

const RUNS = 1000;
const LARGE_RUNS = 200;

/** Parameter ranges: how big limits, windows and rate counts may be. */
interface Ranges {
  limit: fc.Arbitrary<number>;
  window: fc.Arbitrary<number>;
  count: fc.Arbitrary<number>;
}

/** Small limits and windows, so refusals, refills and window edges all happen within a few steps. */
const small: Ranges = {
  limit: fc.integer({ min: 1, max: 6 }),
  window: fc.oneof(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 3000 })),
  count: fc.integer({ min: 1, max: 5 }),
};

/** Production-sized numbers (up to 10 million per day), where rounding would show if it happened. */
const large: Ranges = {
  limit: fc.integer({ min: 1, max: 10_000_000 }),
  window: fc.integer({ min: 1, max: 86_400_000 }),
  count: fc.integer({ min: 1, max: 10_000_000 }),
};

// Arbitraries yield plain option objects, not algorithms, so a counterexample prints as what to type.
type Spec =
  | { tokenBucket: { capacity: number; refillRate: string } }
  | { leakyBucket: { capacity: number; leakRate: string } }
  | { fixedWindow: { limit: number; window: number } }
  | { slidingWindow: { limit: number; window: number } }
  | { slidingLog: { limit: number; window: number } }
  | { gcra: { limit: number; period: number; burst?: number | undefined } };

function build(spec: Spec): Algorithm {
  if ('tokenBucket' in spec) return tokenBucket(spec.tokenBucket);
  if ('leakyBucket' in spec) return leakyBucket(spec.leakyBucket);
  if ('fixedWindow' in spec) return fixedWindow(spec.fixedWindow);
  if ('slidingWindow' in spec) return slidingWindow(spec.slidingWindow);
  if ('slidingLog' in spec) return slidingLog(spec.slidingLog);
  return gcra(spec.gcra);
}

/** One arbitrary per algorithm over the given ranges. */
function singleArbs(r: Ranges): Record<string, fc.Arbitrary<Spec>> {
  const rate = fc.tuple(r.count, r.window).map(([count, ms]) => `${count}/${ms}ms`);
  const windowed = fc.record({ limit: r.limit, window: r.window });
  return {
    tokenBucket: fc.record({ tokenBucket: fc.record({ capacity: r.limit, refillRate: rate }) }),
    leakyBucket: fc.record({ leakyBucket: fc.record({ capacity: r.limit, leakRate: rate }) }),
    fixedWindow: fc.record({ fixedWindow: windowed }),
    slidingWindow: fc.record({ slidingWindow: windowed }),
    slidingLog: fc.record({
      slidingLog: fc.record({
        limit: r.limit.map((l) => Math.min(l, SLIDING_LOG_MAX_LIMIT)),
        window: r.window,
      }),
    }),
    gcra: fc.record({
      gcra: fc.record({ limit: r.count, period: r.window, burst: fc.option(r.limit, { nil: undefined }) }),
    }),
  };
}

/** One arbitrary per algorithm, plus a hybrid of two or three of them, over the given ranges. */
function algorithmArbs(r: Ranges): Record<string, fc.Arbitrary<Spec[]>> {
  const singles = singleArbs(r);
  return {
    ...Object.fromEntries(Object.entries(singles).map(([name, arb]) => [name, arb.map((spec) => [spec])])),
    hybrid: fc.array(fc.oneof(...Object.values(singles)), { minLength: 2, maxLength: 3 }),
  };
}

const algorithmOf = (specs: Spec[]): Algorithm =>
  specs.length === 1 ? build(specs[0]!) : hybrid(...specs.map(build));

/**
 * Two parameter sets of one algorithm, drawn independently: key names do not carry parameters, so
 * limiters built from them on one prefix read and write each other's state. For a hybrid, the same
 * algorithms in the same order, each with two parameter sets.
 */
function rateChangeArbs(r: Ranges): Record<string, fc.Arbitrary<[Spec[], Spec[]]>> {
  const singles = singleArbs(r);
  const names = Object.keys(singles);
  const twice = (arbs: fc.Arbitrary<Spec>[]) => fc.tuple(fc.tuple(...arbs), fc.tuple(...arbs));
  return {
    ...Object.fromEntries(
      Object.entries(singles).map(([name, arb]) => [name, twice([arb]) as fc.Arbitrary<[Spec[], Spec[]]>]),
    ),
    hybrid: fc
      .array(fc.constantFrom(...names), { minLength: 2, maxLength: 3 })
      .chain((kinds) => twice(kinds.map((k) => singles[k]!)) as fc.Arbitrary<[Spec[], Spec[]]>),
  };
}

type Op = 'limit' | 'peek' | 'reset';
interface Step {
  dt: number;
  key: string;
  cost: number;
  op: Op;
  /** Which parameter set decides this step (always 0 with one). */
  rate: number;
}

/**
 * Time steps biased towards the edges that matter for these algorithms (one per parameter set): 0, and
 * around their windows. Each step is decided under one of the parameter sets, at random.
 */
function traceArb(...algorithms: Algorithm[]): fc.Arbitrary<Step[]> {
  const members = algorithms.flatMap((a) => a.members);
  const edges = members.flatMap((m) => [m.windowMs, Math.ceil(m.windowMs / m.limit)]);
  const around = edges.flatMap((e) => [e - 1, e, e + 1, 2 * e]).filter((e) => e >= 0);
  const longest = Math.max(...edges);
  const maxLimit = Math.max(...members.map((m) => m.limit));
  const step = fc.record({
    dt: fc.oneof(
      { arbitrary: fc.constant(0), weight: 3 },
      { arbitrary: fc.constantFrom(...around), weight: 2 },
      { arbitrary: fc.integer({ min: 0, max: 3 * longest }), weight: 3 },
    ),
    key: fc.constantFrom('a', 'b', '}c'),
    cost: fc.oneof(
      { arbitrary: fc.constant(1), weight: 3 },
      { arbitrary: fc.integer({ min: 1, max: maxLimit + 1 }), weight: 2 },
    ),
    op: fc.oneof(
      { arbitrary: fc.constant<Op>('limit'), weight: 8 },
      { arbitrary: fc.constant<Op>('peek'), weight: 2 },
      { arbitrary: fc.constant<Op>('reset'), weight: 1 },
    ),
    rate: fc.integer({ min: 0, max: algorithms.length - 1 }),
  });
  return fc.array(step, { minLength: 1, maxLength: 12 });
}

const startArb = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 2_000_000_000_000 }));

let client: Redis;
let redis: Redis;
let run = 0;

beforeAll(async () => {
  client = new Redis(redisUrlForTests(), { db: DB.differential });
  await flushTestRedis(client);
  redis = ttlStretchingClient(client);
});

afterAll(async () => {
  await flushTestRedis(client);
  await client.quit();
});

/**
 * Runs one trace through both twins and asserts identical decisions at every step. With several parameter
 * sets, each twin gets one limiter per set on one prefix and backend, so every step may read a state
 * another set wrote; and since only the memory twin drops states at their TTL, this also proves that a
 * state past its TTL reads like no state under the other parameters too.
 */
async function agree(sets: Spec[][], trace: Step[], start: number, expect: ExpectStatic): Promise<void> {
  const algorithms = sets.map(algorithmOf);
  const clock = new FakeClock(start);
  // A fresh prefix per run (shrinking included) keeps runs from seeing each other's Redis state.
  const prefix = `r${++run}`;
  const memory = new MemoryBackend({ clock: clock.read });
  // On the stretching client itself (ownConnection: false): a duplicate would not stretch TTLs. A run
  // is one instance (no heartbeats), and it is closed at the end so that thousands of runs leave nothing.
  const redisBackend = new RedisBackend({
    client: redis,
    clock: clock.read,
    ownConnection: false,
    instances: 1,
    timeoutMs: 10_000,
  });
  try {
    await replay(algorithms, prefix, memory, redisBackend, trace, clock, expect);
  } finally {
    await redisBackend.close();
  }
}

async function replay(
  algorithms: Algorithm[],
  prefix: string,
  memory: MemoryBackend,
  redisBackend: RedisBackend,
  trace: Step[],
  clock: FakeClock,
  expect: ExpectStatic,
): Promise<void> {
  const ts = algorithms.map((algorithm) => new RateLimiter({ algorithm, prefix, backend: memory }));
  const lua = algorithms.map((algorithm) => new RateLimiter({ algorithm, prefix, backend: redisBackend }));
  // The premise of a rate change: every parameter set stores its state under the same names.
  for (const l of lua) expect(l.keysFor('a')).toEqual(lua[0]!.keysFor('a'));
  for (const [i, s] of trace.entries()) {
    clock.advance(s.dt);
    if (s.op === 'reset') {
      await Promise.all([ts[s.rate]!.reset(s.key), lua[s.rate]!.reset(s.key)]);
      continue;
    }
    const decide = (l: RateLimiter): Promise<Decision> =>
      s.op === 'peek' ? l.peek(s.key) : l.limit(s.key, { cost: s.cost });
    const [fromTs, fromLua] = await Promise.all([decide(ts[s.rate]!), decide(lua[s.rate]!)]);
    expect({ step: i, rate: s.rate, ...fromLua }).toEqual({ step: i, rate: s.rate, ...fromTs });
  }
}

const suites: [string, Ranges, number][] = [
  ['small parameters', small, RUNS],
  ['large parameters', large, LARGE_RUNS],
];

for (const [title, ranges, numRuns] of suites) {
  // Concurrent: each property is sequential, so running them side by side overlaps their round trips.
  describe.concurrent(`TypeScript steps and Lua twins agree on every trace (${title})`, () => {
    for (const [name, algorithmArb] of Object.entries(algorithmArbs(ranges))) {
      it(`${name}: ${numRuns} random traces`, async ({ expect }) => {
        const property = fc.asyncProperty(
          algorithmArb.chain((specs) => fc.tuple(fc.constant(specs), traceArb(algorithmOf(specs)), startArb)),
          ([specs, trace, start]) => agree([specs], trace, start, expect),
        );
        await fc.assert(property, { numRuns });
      });
    }
  });

  describe.concurrent(`... and on states written under other parameters (${title})`, () => {
    for (const [name, pairArb] of Object.entries(rateChangeArbs(ranges))) {
      it(`${name}: ${numRuns} random traces switching between two parameter sets`, async ({ expect }) => {
        const property = fc.asyncProperty(
          pairArb.chain((sets) => fc.tuple(fc.constant(sets), traceArb(...sets.map(algorithmOf)), startArb)),
          ([sets, trace, start]) => agree(sets, trace, start, expect),
        );
        await fc.assert(property, { numRuns });
      });
    }
  });
}
