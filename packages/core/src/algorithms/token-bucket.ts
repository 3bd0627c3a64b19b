import { InvalidOptionError } from '../errors.js';
import { assertExactProduct, plainObject, positiveInteger } from '../policy/validate.js';
import { defineStep, type StepFn } from './define.js';
import { flowRate } from './options.js';
import { type Algorithm, type AlgorithmStep, admitted, pair, rejected, tooCostly } from './types.js';

/** Token bucket options: a bucket of `capacity` tokens refilled at `refillRate`. */
export interface TokenBucketOptions {
  /** Most tokens the bucket holds: the largest burst. */
  capacity: number;
  /** Tokens added over time: a rate string ("10/s", "100/minute") or a number of tokens per second. */
  refillRate: number | string;
}

// State [scaledTokens, lastRefillMs]. Tokens are kept multiplied by the refill interval so that refilling
// by `elapsed * tokensPerInterval` stays in integers: no float drift, and Lua agrees to the unit.
const LUA = `function(s, now, cost, p)
  local C, r, I = p[1], p[2], p[3]
  local full = C * I
  local S, t = full, now
  if s then S = s[1]; t = s[2] end
  if now > t then S = math.min(full, S + (now - t) * r); t = now end
  if cost > C then return nil, 0, math.floor(S / I), math.ceil((full - S) / r), -1, 0 end
  local need = cost * I
  if S >= need then
    S = S - need
    local reset = math.ceil((full - S) / r)
    return {S, t}, 1, math.floor(S / I), reset, 0, reset
  end
  return nil, 0, math.floor(S / I), math.ceil((full - S) / r), math.ceil((need - S) / r), 0
end`;

/**
 * Token bucket: a bucket holds up to `capacity` tokens and gains `refillRate` tokens over time; a request
 * takes `cost` tokens or is refused. Allows bursts up to `capacity`, then the refill rate on average. Exact.
 * `tokenBucket('100/minute')` is a bucket of 100 refilled at 100 per minute.
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
  return bucketStep('token-bucket', 'tb', capacity, refill, LUA, tokenStep);
}

function tokenStep(p: readonly number[], s: number[] | undefined, now: number, cost: number) {
  const C = p[0]!;
  const r = p[1]!;
  const I = p[2]!;
  const full = C * I;
  let S = full;
  let t = now;
  if (s) {
    S = s[0]!;
    t = s[1]!;
  }
  if (now > t) {
    S = Math.min(full, S + (now - t) * r);
    t = now;
  }
  if (cost > C) return tooCostly(Math.floor(S / I), Math.ceil((full - S) / r));
  const need = cost * I;
  if (S >= need) {
    S -= need;
    const reset = Math.ceil((full - S) / r);
    return admitted(pair(s, S, t), Math.floor(S / I), reset, reset);
  }
  return rejected(Math.floor(S / I), Math.ceil((full - S) / r), Math.ceil((need - S) / r));
}

/** Shared construction of the two bucket algorithms, which differ only in their step. */
export function bucketStep(
  name: string,
  id: string,
  capacity: number,
  rate: { limit: number; windowMs: number },
  lua: string,
  fn: StepFn,
): Algorithm & AlgorithmStep {
  // The scaled level reaches capacity * interval (the leaky bucket's level + need: twice that); a refill
  // past it is clamped to it, so elapsed * rate may grow large without harm. Only this product must stay
  // below 2^53. The field is named like the option (tokenBucket.capacity), not like the algorithm.
  const field = `${name.replace(/-(\w)/g, (_, c: string) => c.toUpperCase())}.capacity`;
  assertExactProduct(field, capacity, capacity, rate.windowMs, 4);
  return defineStep({
    name,
    id,
    limit: capacity,
    windowMs: Math.ceil((capacity * rate.windowMs) / rate.limit),
    params: [capacity, rate.limit, rate.windowMs],
    lua,
    fn,
  });
}
