import { InvalidOptionError } from '../errors.js';
import { plainObject, positiveInteger } from '../policy/validate.js';
import { flowRate } from './options.js';
import { bucketStep } from './token-bucket.js';
import { type Algorithm, type AlgorithmStep, admitted, pair, rejected, tooCostly } from './types.js';

/** Leaky bucket options: a bucket of `capacity` that drains at `leakRate`. */
export interface LeakyBucketOptions {
  /** How much the bucket holds before requests overflow. */
  capacity: number;
  /** How fast it drains: a rate string ("10/s") or a number of units per second. */
  leakRate: number | string;
}

// State [scaledLevel, lastLeakMs], scaled by the leak interval like the token bucket's tokens.
const LUA = `function(s, now, cost, p)
  local C, r, I = p[1], p[2], p[3]
  local cap = C * I
  local L, t = 0, now
  if s then L = s[1]; t = s[2] end
  if now > t then L = math.max(0, L - (now - t) * r); t = now end
  if cost > C then return nil, 0, math.floor((cap - L) / I), math.ceil(L / r), -1, 0 end
  local need = cost * I
  if L + need <= cap then
    L = L + need
    local reset = math.ceil(L / r)
    return {L, t}, 1, math.floor((cap - L) / I), reset, 0, reset
  end
  return nil, 0, math.floor((cap - L) / I), math.ceil(L / r), math.ceil((L + need - cap) / r), 0
end`;

/**
 * Leaky bucket (as a meter): each request pours `cost` into a bucket of `capacity` that leaks at `leakRate`;
 * a request that would overflow is refused. It admits exactly what a token bucket with the same numbers
 * admits; choose it when "queue drains at a steady rate" is the mental model your users share. Exact.
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
  return bucketStep('leaky-bucket', 'lb', capacity, leak, LUA, leakyStep);
}

function leakyStep(p: readonly number[], s: number[] | undefined, now: number, cost: number) {
  const C = p[0]!;
  const r = p[1]!;
  const I = p[2]!;
  const cap = C * I;
  let L = 0;
  let t = now;
  if (s) {
    L = s[0]!;
    t = s[1]!;
  }
  if (now > t) {
    L = Math.max(0, L - (now - t) * r);
    t = now;
  }
  if (cost > C) return tooCostly(Math.floor((cap - L) / I), Math.ceil(L / r));
  const need = cost * I;
  if (L + need <= cap) {
    L += need;
    const reset = Math.ceil(L / r);
    return admitted(pair(s, L, t), Math.floor((cap - L) / I), reset, reset);
  }
  return rejected(Math.floor((cap - L) / I), Math.ceil(L / r), Math.ceil((L + need - cap) / r));
}
