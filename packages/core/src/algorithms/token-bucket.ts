import { InvalidOptionError } from '../errors.js';
import { plainObject, positiveInteger } from '../policy/validate.js';
import { bucketStep } from './bucket.js';
import { flowRate } from './options.js';
import type { Algorithm, AlgorithmStep } from './types.js';

/** Token bucket options: a bucket of `capacity` tokens refilled at `refillRate`. */
export interface TokenBucketOptions {
  /** Most tokens the bucket holds: the largest burst. */
  capacity: number;
  /** Tokens added over time: a rate string ("10/s", "100/minute") or a number of tokens per second. */
  refillRate: number | string;
}

/**
 * Token bucket: a bucket holds up to `capacity` tokens and gains `refillRate` tokens over time; a request
 * takes `cost` tokens or is refused. Allows bursts up to `capacity`, then the refill rate on average. Exact.
 * `tokenBucket('100/minute')` is a bucket of 100 refilled at 100 per minute.
 *
 * `resetAfterMs`: until the bucket is full again. A change of capacity or rate keeps the tokens taken:
 * they count against the new capacity (taken >= capacity: empty) and refill at the old rate until the
 * key's next admitted request, then at the new one (see bucket.ts).
 */
export function tokenBucket(options: string | TokenBucketOptions): Algorithm & AlgorithmStep {
  let capacity: number;
  let refill: { limit: number; windowMs: number };
  if (typeof options === 'string') {
    refill = flowRate(options, 'tokenBucket.rate');
    capacity = refill.limit;
  } else {
    const o = plainObject(options, 'tokenBucket');
    capacity = positiveInteger(o.capacity, 'tokenBucket.capacity');
    if (o.refillRate === undefined)
      throw new InvalidOptionError('tokenBucket.refillRate', undefined, 'a rate');
    refill = flowRate(o.refillRate, 'tokenBucket.refillRate');
  }
  // The state stores the tokens taken rather than those left: that is what carries over to a new capacity.
  return bucketStep('token-bucket', 'tb', capacity, refill);
}
