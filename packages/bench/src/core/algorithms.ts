import {
  type Algorithm,
  fixedWindow,
  gcra,
  hybrid,
  leakyBucket,
  slidingLog,
  slidingWindow,
  tokenBucket,
} from '@distlimiter/core';

/** One of our algorithms, configured so that no benchmark call is ever refused. */
export interface BenchAlgorithm {
  /** Short name used on the command line of child processes and in the JSON. */
  name: string;
  /** How it is configured, for the report. */
  config: string;
  make(): Algorithm;
}

// Every configuration keeps a key's state alive for the whole run (as a busy client's would be) and can
// never refuse: limits sit far above what one of 10,000 keys sees, within each algorithm's exact-integer
// bound (limit x window x scale < 2^53). Buckets refill slowly for the same reason: a bucket that is full
// again after a millisecond has nothing to store, and would measure key churn instead of decisions.
/** Every algorithm we measure; the first is the one compared head to head with the peer. */
export const ALGORITHMS: readonly BenchAlgorithm[] = [
  {
    name: 'fixedWindow',
    config: 'fixedWindow 1e9/hour',
    make: () => fixedWindow({ limit: 1e9, window: '1h' }),
  },
  {
    name: 'slidingWindow',
    config: 'slidingWindow 1e8/hour',
    make: () => slidingWindow({ limit: 1e8, window: '1h' }),
  },
  {
    name: 'tokenBucket',
    config: 'tokenBucket 1e6, refill 1000/hour',
    make: () => tokenBucket({ capacity: 1e6, refillRate: '1000/hour' }),
  },
  {
    name: 'leakyBucket',
    config: 'leakyBucket 1e6, leak 1000/hour',
    make: () => leakyBucket({ capacity: 1e6, leakRate: '1000/hour' }),
  },
  {
    name: 'gcra',
    config: 'gcra 1000/hour, burst 1e6',
    make: () => gcra({ limit: 1000, period: '1h', burst: 1e6 }),
  },
  {
    // The log keeps one entry per distinct millisecond in its window, so its cost grows with traffic
    // per key; a 1 s window keeps it near what a busy real key holds (about 100 entries here).
    name: 'slidingLog',
    config: 'slidingLog 10000/s',
    make: () => slidingLog({ limit: 10_000, window: '1s' }),
  },
  {
    name: 'hybrid',
    config: 'hybrid(tokenBucket, fixedWindow) as above',
    make: () =>
      hybrid(
        tokenBucket({ capacity: 1e6, refillRate: '1000/hour' }),
        fixedWindow({ limit: 1e9, window: '1h' }),
      ),
  },
];

/** Looks an algorithm up by name (child processes receive names, not objects). */
export function algorithmNamed(name: string): BenchAlgorithm {
  const found = ALGORITHMS.find((a) => a.name === name);
  if (!found) throw new Error(`unknown algorithm ${name}`);
  return found;
}

/** The peer's configuration, equally unable to refuse. */
export const PEER_POINTS = 1e9;
/** The peer's window in seconds. */
export const PEER_DURATION_S = 3600;
