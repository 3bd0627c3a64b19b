import { InvalidOptionError } from '../errors.js';
import { plainObject, positiveInteger } from '../policy/validate.js';
import { bucketStep } from './bucket.js';
import { flowRate } from './options.js';
import type { Algorithm, AlgorithmStep } from './types.js';

/** Leaky bucket options: a bucket of `capacity` that drains at `leakRate`. */
export interface LeakyBucketOptions {
  /** How much the bucket holds before requests overflow. */
  capacity: number;
  /** How fast it drains: a rate string ("10/s") or a number of units per second. */
  leakRate: number | string;
}

/**
 * Leaky bucket (as a meter): each request pours `cost` into a bucket of `capacity` that leaks at `leakRate`;
 * a request that would overflow is refused. It admits exactly what a token bucket with the same numbers
 * admits; choose it when "queue drains at a steady rate" is the mental model your users share. Exact.
 *
 * `resetAfterMs`: until the bucket has leaked empty. A change of capacity or rate keeps the level: it
 * counts against the new capacity (level >= capacity: full, refused) and leaks at the old rate until the
 * key's next admitted request, then at the new one (see bucket.ts).
 */
export function leakyBucket(options: string | LeakyBucketOptions): Algorithm & AlgorithmStep {
  let capacity: number;
  let leak: { limit: number; windowMs: number };
  if (typeof options === 'string') {
    leak = flowRate(options, 'leakyBucket.rate');
    capacity = leak.limit;
  } else {
    const o = plainObject(options, 'leakyBucket');
    capacity = positiveInteger(o.capacity, 'leakyBucket.capacity');
    if (o.leakRate === undefined) throw new InvalidOptionError('leakyBucket.leakRate', undefined, 'a rate');
    leak = flowRate(o.leakRate, 'leakyBucket.leakRate');
  }
  return bucketStep('leaky-bucket', 'lb', capacity, leak);
}
