import {
  type Algorithm,
  type Decision,
  fixedWindow,
  gcra,
  hybrid,
  leakyBucket,
  slidingLog,
  slidingWindow,
  tokenBucket,
} from '../../src/index.js';

/** One request of an exact script: when (ms after the first request), what, and the whole expected answer. */
export interface ScriptStep {
  at: number;
  cost?: number;
  peek?: boolean;
  expect: Decision;
}

/**
 * Every algorithm tuned to "5 per `w` ms" (w = 1000 unless a test needs a short real window), with its
 * exact answers worked out by hand from the algorithm's definition, so the suite checks numbers, not shapes.
 */
export interface AlgorithmCase {
  name: string;
  make(w?: number): Algorithm;
  /** The 6th request of a burst of 5 at one instant. */
  burstRefusal: Decision;
  /** After a burst at one instant, the whole limit is available again this much later. */
  recoverMs: number;
  /** A cost-3 request right after another cost-3 request. */
  cost3Refusal: Decision;
  /** A cost-6 request on a fresh key: it can never pass. */
  tooCostly: Decision;
  /** A peek on a fresh key with window `w`. */
  freshPeek(w: number): Decision;
  /** How long each member's state matters after one request on a fresh key with window `w`. */
  firstTtlMs(w: number): number[];
  /** A longer exact script, offsets from the first request. */
  script: ScriptStep[];
}

/** An allowed decision; `limit` defaults to the cases' 5. */
export const ok = (remaining: number, resetAfterMs: number, limit = 5, binding = 0): Decision => ({
  allowed: true,
  limit,
  remaining,
  resetAfterMs,
  retryAfterMs: 0,
  binding,
});

/** A refused decision; `limit` defaults to the cases' 5. */
export const no = (
  remaining: number,
  resetAfterMs: number,
  retryAfterMs: number,
  limit = 5,
  binding = 0,
): Decision => ({
  allowed: false,
  limit,
  remaining,
  resetAfterMs,
  retryAfterMs,
  binding,
});

const NEVER = Number.POSITIVE_INFINITY;

// Token bucket, leaky bucket and GCRA with the same numbers admit the same requests and report the same
// times (one unit per 200 ms), so they share one script.
const bucketScript: ScriptStep[] = [
  { at: 0, expect: ok(4, 200) },
  { at: 0, expect: ok(3, 400) },
  { at: 0, expect: ok(2, 600) },
  { at: 0, expect: ok(1, 800) },
  { at: 0, expect: ok(0, 1000) },
  { at: 0, expect: no(0, 1000, 200) },
  { at: 199, expect: no(0, 801, 1) },
  { at: 200, expect: ok(0, 1000) },
  // 600 ms refill 3 units.
  { at: 800, cost: 2, expect: ok(1, 800) },
  { at: 800, cost: 2, expect: no(1, 800, 200) },
  { at: 5000, peek: true, expect: ok(4, 200) },
];

const bucketCase = (name: string, make: (w?: number) => Algorithm): AlgorithmCase => ({
  name,
  make,
  burstRefusal: no(0, 1000, 200),
  recoverMs: 1000,
  cost3Refusal: no(2, 600, 200),
  tooCostly: no(5, 0, NEVER),
  freshPeek: (w) => ok(4, w / 5),
  firstTtlMs: (w) => [w / 5],
  script: bucketScript,
});

/** The table the behaviour suite runs for every backend. */
export const algorithmCases: AlgorithmCase[] = [
  bucketCase('tokenBucket', (w = 1000) => tokenBucket({ capacity: 5, refillRate: `5/${w}ms` })),
  bucketCase('leakyBucket', (w = 1000) => leakyBucket({ capacity: 5, leakRate: `5/${w}ms` })),
  bucketCase('gcra', (w = 1000) => gcra({ limit: 5, period: w })),
  {
    name: 'fixedWindow',
    make: (w = 1000) => fixedWindow({ limit: 5, window: w }),
    burstRefusal: no(0, 1000, 1000),
    recoverMs: 1000,
    cost3Refusal: no(2, 1000, 1000),
    // The window a fresh key would open is reported even though nothing is stored.
    tooCostly: no(5, 1000, NEVER),
    freshPeek: (w) => ok(4, w),
    firstTtlMs: (w) => [w],
    script: [
      { at: 0, expect: ok(4, 1000) },
      { at: 0, expect: ok(3, 1000) },
      { at: 0, expect: ok(2, 1000) },
      { at: 0, expect: ok(1, 1000) },
      { at: 0, expect: ok(0, 1000) },
      { at: 0, expect: no(0, 1000, 1000) },
      { at: 999, expect: no(0, 1, 1) },
      // Exactly at the edge the next window opens.
      { at: 1000, expect: ok(4, 1000) },
      { at: 1500, cost: 4, expect: ok(0, 500) },
      { at: 1999, expect: no(0, 1, 1) },
      { at: 2000, cost: 5, expect: ok(0, 1000) },
      { at: 2000, peek: true, expect: no(0, 1000, 1000) },
    ],
  },
  {
    // resetAfterMs is the end of the current window; the state is kept one window longer, while it still
    // weighs as the previous window.
    name: 'slidingWindow',
    make: (w = 1000) => slidingWindow({ limit: 5, window: w }),
    // Must wait out the window, then until 1/5 of the previous window has slid out.
    burstRefusal: no(0, 1000, 1200),
    recoverMs: 2000,
    cost3Refusal: no(2, 1000, 1334),
    tooCostly: no(5, 1000, NEVER),
    freshPeek: (w) => ok(4, w),
    firstTtlMs: (w) => [2 * w],
    script: [
      { at: 0, expect: ok(4, 1000) },
      { at: 0, expect: ok(3, 1000) },
      { at: 0, expect: ok(2, 1000) },
      { at: 0, expect: ok(1, 1000) },
      { at: 0, expect: ok(0, 1000) },
      { at: 0, expect: no(0, 1000, 1200) },
      { at: 999, expect: no(0, 1, 201) },
      // Previous window weighs 801/1000 of 5 = 4.005.
      { at: 1199, expect: no(0, 801, 1) },
      { at: 1200, expect: ok(0, 800) },
      // 5 * 400/1000 + 1 = 3 counted, room for 2.
      { at: 1600, cost: 2, expect: ok(0, 400) },
      { at: 1600, expect: no(0, 400, 200) },
      // 3 * 500/1000 = 1.5 counted.
      { at: 2500, peek: true, expect: ok(2, 500) },
      // The state stopped mattering at 3000: the key is as good as new, windows anchored at this request.
      { at: 4500, expect: ok(4, 1000) },
      { at: 6499, expect: ok(3, 1) },
    ],
  },
  {
    name: 'slidingLog',
    make: (w = 1000) => slidingLog({ limit: 5, window: w }),
    burstRefusal: no(0, 1000, 1000),
    recoverMs: 1000,
    cost3Refusal: no(2, 1000, 1000),
    tooCostly: no(5, 0, NEVER),
    freshPeek: (w) => ok(4, w),
    firstTtlMs: (w) => [w],
    script: [
      { at: 0, cost: 3, expect: ok(2, 1000) },
      { at: 400, cost: 2, expect: ok(0, 1000) },
      // One unit is needed: the three from t=0 leave at 1000.
      { at: 500, expect: no(0, 900, 500) },
      // Four units are needed: only after the two from t=400 leave too.
      { at: 500, cost: 4, expect: no(0, 900, 900) },
      { at: 999, expect: no(0, 401, 1) },
      { at: 1000, cost: 3, expect: ok(0, 1000) },
      { at: 1400, peek: true, expect: ok(1, 1000) },
      { at: 2000, cost: 5, expect: ok(0, 1000) },
    ],
  },
  {
    // The bucket binds bursts, the window binds the total; decisions report the member that binds.
    name: 'hybrid',
    make: (w = 1000) =>
      hybrid(tokenBucket({ capacity: 5, refillRate: `5/${w}ms` }), fixedWindow({ limit: 7, window: 2 * w })),
    burstRefusal: no(0, 1000, 200),
    recoverMs: 2000,
    cost3Refusal: no(2, 600, 200),
    tooCostly: no(5, 0, NEVER),
    freshPeek: (w) => ok(4, w / 5),
    firstTtlMs: (w) => [w / 5, 2 * w],
    script: [
      { at: 0, expect: ok(4, 200) },
      { at: 0, expect: ok(3, 400) },
      { at: 0, expect: ok(2, 600) },
      { at: 0, expect: ok(1, 800) },
      { at: 0, expect: ok(0, 1000) },
      { at: 0, expect: no(0, 1000, 200) },
      { at: 200, expect: ok(0, 1000) },
      // The bucket has refilled to 4, but the window has 1 left: the window binds.
      { at: 1000, expect: ok(0, 1000, 7, 1) },
      { at: 1000, expect: no(0, 1000, 1000, 7, 1) },
      // New window; the bucket is full again.
      { at: 2000, cost: 3, expect: ok(2, 600) },
      // Only the bucket refuses; the window, which would allow it, is not what binds.
      { at: 2000, cost: 3, expect: no(2, 600, 200) },
      { at: 2000, cost: 6, expect: no(2, 600, NEVER) },
    ],
  },
];
