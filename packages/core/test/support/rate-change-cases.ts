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
import { no, ok } from './cases.js';

/** One request of a rate-change script: when (ms after the first request), under which limit, and the answer. */
export interface SwitchStep {
  at: number;
  under: 'large' | 'small';
  cost?: number;
  peek?: boolean;
  expect: Decision;
}

/**
 * One algorithm with two parameter sets stored under the same key names: a large limit of 20 and a small
 * one of 2, as a load state or a reload would switch between, with exact answers worked out by hand.
 */
export interface RateChangeCase {
  name: string;
  large(): Algorithm;
  small(): Algorithm;
  /** Switches back and forth, offsets from the first request. */
  script: SwitchStep[];
}

// Token bucket, leaky bucket and GCRA with the same numbers answer alike: the large limit refills one unit
// every 6 s, the small one every 30 s, written as 1/30s so that a switch also changes the stored interval.
const bucketScript: SwitchStep[] = [
  { at: 0, under: 'large', cost: 5, expect: ok(15, 30_000, 20) },
  // 5 used of 2: empty. The 5 drain at the old 6 s per unit until one fits: 4 units, 24 s.
  { at: 0, under: 'small', expect: no(0, 30_000, 24_000, 2) },
  { at: 23_999, under: 'small', expect: no(0, 6001, 1, 2) },
  // Admitted: from here the state is the small rate's, 2 used, one unit per 30 s.
  { at: 24_000, under: 'small', expect: ok(0, 60_000, 2) },
  { at: 24_000, under: 'small', expect: no(0, 60_000, 30_000, 2) },
  { at: 54_000, under: 'small', expect: ok(0, 60_000, 2) },
  // Back on the large limit: 2 used, 18 left, not 20.
  { at: 54_000, under: 'large', peek: true, expect: ok(17, 18_000, 20) },
  { at: 54_000, under: 'large', cost: 18, expect: ok(0, 120_000, 20) },
  // 20 used of 2; they drain at the large rate until one fits: 19 units at 6 s.
  { at: 54_000, under: 'small', expect: no(0, 120_000, 114_000, 2) },
];

/** The table the rate-change suite runs for every backend. */
export const rateChangeCases: RateChangeCase[] = [
  {
    name: 'tokenBucket',
    large: () => tokenBucket({ capacity: 20, refillRate: '10/minute' }),
    small: () => tokenBucket({ capacity: 2, refillRate: '1/30s' }),
    script: bucketScript,
  },
  {
    name: 'leakyBucket',
    large: () => leakyBucket({ capacity: 20, leakRate: '10/minute' }),
    small: () => leakyBucket({ capacity: 2, leakRate: '1/30s' }),
    script: bucketScript,
  },
  {
    name: 'gcra',
    large: () => gcra({ limit: 10, period: '1m', burst: 20 }),
    small: () => gcra({ limit: 1, period: '30s', burst: 2 }),
    script: bucketScript,
  },
  {
    name: 'fixedWindow',
    large: () => fixedWindow('20/minute'),
    small: () => fixedWindow('2/30s'),
    script: [
      { at: 0, under: 'large', cost: 5, expect: ok(15, 60_000, 20) },
      // The window opened under the large limit keeps its end: refused until then, not fresh at 30 s.
      { at: 0, under: 'small', expect: no(0, 60_000, 60_000, 2) },
      { at: 59_999, under: 'small', expect: no(0, 1, 1, 2) },
      // The next window has the small limit's length.
      { at: 60_000, under: 'small', expect: ok(1, 30_000, 2) },
      { at: 60_000, under: 'small', expect: ok(0, 30_000, 2) },
      { at: 60_000, under: 'small', expect: no(0, 30_000, 30_000, 2) },
      { at: 60_000, under: 'large', peek: true, expect: ok(17, 30_000, 20) },
      { at: 60_000, under: 'large', cost: 18, expect: ok(0, 30_000, 20) },
      { at: 89_999, under: 'large', expect: no(0, 1, 1, 20) },
      { at: 90_000, under: 'large', expect: ok(19, 60_000, 20) },
    ],
  },
  {
    name: 'slidingWindow',
    large: () => slidingWindow('20/minute'),
    small: () => slidingWindow('2/30s'),
    script: [
      { at: 0, under: 'large', cost: 5, expect: ok(15, 60_000, 20) },
      // The 5 read as a full window of 2, on the state's own 60 s windows: they slide out by 90 s.
      { at: 0, under: 'small', expect: no(0, 60_000, 90_000, 2) },
      { at: 89_999, under: 'small', expect: no(0, 30_001, 1, 2) },
      // Admitted: windows of 30 s start here, the 1 still counted carried as the previous window's.
      { at: 90_000, under: 'small', expect: ok(0, 30_000, 2) },
      { at: 90_000, under: 'small', expect: no(0, 30_000, 30_000, 2) },
      // Back on the large limit: 2 counted, 18 left.
      { at: 90_000, under: 'large', peek: true, expect: ok(17, 60_000, 20) },
      { at: 90_000, under: 'large', cost: 18, expect: ok(0, 60_000, 20) },
      { at: 90_000, under: 'small', expect: no(0, 60_000, 90_000, 2) },
    ],
  },
  {
    name: 'slidingLog',
    large: () => slidingLog('20/minute'),
    small: () => slidingLog('2/30s'),
    script: [
      { at: 0, under: 'large', cost: 5, expect: ok(15, 60_000, 20) },
      { at: 0, under: 'small', expect: no(0, 30_000, 30_000, 2) },
      { at: 29_999, under: 'small', expect: no(0, 1, 1, 2) },
      // The log knows the 5 are 30 s old: outside the small window, exactly.
      { at: 30_000, under: 'small', expect: ok(1, 30_000, 2) },
      { at: 30_000, under: 'small', expect: ok(0, 30_000, 2) },
      { at: 30_000, under: 'large', peek: true, expect: ok(17, 60_000, 20) },
      { at: 30_000, under: 'large', cost: 18, expect: ok(0, 60_000, 20) },
      { at: 30_000, under: 'small', expect: no(0, 30_000, 30_000, 2) },
      // Still inside the large window: the 20 count there.
      { at: 60_000, under: 'large', peek: true, expect: no(0, 30_000, 30_000, 20) },
    ],
  },
  {
    name: 'hybrid',
    large: () => hybrid(tokenBucket({ capacity: 20, refillRate: '10/minute' }), fixedWindow('100/hour')),
    small: () => hybrid(tokenBucket({ capacity: 2, refillRate: '1/30s' }), fixedWindow('10/hour')),
    script: [
      { at: 0, under: 'large', cost: 5, expect: ok(15, 30_000, 20) },
      { at: 0, under: 'small', expect: no(0, 30_000, 24_000, 2) },
      { at: 24_000, under: 'small', expect: ok(0, 60_000, 2) },
      { at: 24_000, under: 'large', cost: 18, expect: ok(0, 120_000, 20) },
      // The window member has counted 24 of the small limit's 10: it refuses longest, so it binds.
      { at: 24_000, under: 'small', expect: no(0, 3_576_000, 3_576_000, 10, 1) },
    ],
  },
];
