import {
  type Algorithm,
  fixedWindow,
  gcra,
  hybrid,
  leakyBucket,
  slidingLog,
  slidingWindow,
  tokenBucket,
} from '../../src/index.js';

/**
 * Every algorithm that is exact, each allowing exactly 100 in the few seconds a test runs. The buckets and
 * GCRA refill over time, so they refill at 100 per day (one unit per 864 s): nothing refills during a run.
 * The sliding window counter is exact within its first window, which a run never leaves.
 */
export function exactAlgorithms(): Record<string, Algorithm> {
  return {
    fixedWindow: fixedWindow('100/minute'),
    slidingWindow: slidingWindow('100/minute'),
    slidingLog: slidingLog('100/minute'),
    tokenBucket: tokenBucket({ capacity: 100, refillRate: '100/day' }),
    leakyBucket: leakyBucket({ capacity: 100, leakRate: '100/day' }),
    gcra: gcra({ limit: 100, period: '1d' }),
    hybrid: hybrid(fixedWindow('100/minute'), tokenBucket({ capacity: 500, refillRate: '500/day' })),
  };
}
