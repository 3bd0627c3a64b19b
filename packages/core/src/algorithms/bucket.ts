import { admittedDecision, decisionOf } from '../decision.js';
import { assertExactProduct } from '../policy/validate.js';
import { type DecideFn, defineStep } from './define.js';
import type { ShareFn } from './share.js';
import { type Algorithm, type AlgorithmStep, admitted, quad, rejected, tooCostly } from './types.js';

// The step both buckets run: a token bucket's tokens taken and a leaky bucket's level are one number, the
// units used and not yet refilled (or leaked).
//
// State [used, lastMs, rate, interval]. `used` is kept multiplied by the interval of the rate that wrote it
// (`rate` units per `interval` ms), so draining it by `elapsed * rate` stays in integers: no float drift,
// and Lua agrees to the unit. That rate is stored because key names do not carry parameters: after a
// change of rate (a reload, a load state) the same state is read under other parameters.
//
// Such a state is read against the current capacity, so the used amount carries over: nothing is handed
// out fresh, and a used amount at or above the new capacity reads as empty. It keeps draining at the rate
// that wrote it until the key's next admitted request stores it in the current rate's units (rounded up,
// so a client never gains a fraction). Draining at the new rate before that would be wrong twice over: a
// refusal writes nothing, so the key still expires when the old rate would have emptied it, and a reading
// at another rate would jump at that moment; and the reset and retry it reported would not come true.
// For the same reason the used amount is not clamped to the new capacity: above it, the key is refused
// until the old rate drains it, which takes at most as long as the old rule gave it to refill (its TTL),
// never longer, and an admission always stores at most the new capacity.
const LUA = `function(s, now, cost, p)
  local C, r, I = p[1], p[2], p[3]
  local D, t, sr, sI = 0, now, r, I
  if s then D = s[1]; t = s[2]; sr = s[3]; sI = s[4] end
  if now > t then D = math.max(0, D - (now - t) * sr); t = now end
  local full = C * sI
  if cost > C then return nil, 0, math.max(0, math.floor((full - D) / sI)), math.ceil(D / sr), -1, 0 end
  local need = cost * sI
  if D + need <= full then
    D = D + need
    if sI ~= I then
      local q = math.floor(D / sI)
      D = q * I + math.ceil((D - q * sI) * I / sI)
    end
    local reset = math.ceil(D / r)
    return {D, t, r, I}, 1, math.floor((C * I - D) / I), reset, 0, reset
  end
  return nil, 0, math.max(0, math.floor((full - D) / sI)), math.ceil(D / sr), math.ceil((D + need - full) / sr), 0
end`;

function step(p: readonly number[], s: number[] | undefined, now: number, cost: number) {
  const C = p[0]!;
  const r = p[1]!;
  const I = p[2]!;
  let D = 0;
  let t = now;
  let sr = r;
  let sI = I;
  if (s) {
    D = s[0]!;
    t = s[1]!;
    sr = s[2]!;
    sI = s[3]!;
  }
  if (now > t) {
    D = Math.max(0, D - (now - t) * sr);
    t = now;
  }
  const full = C * sI;
  if (cost > C) return tooCostly(Math.max(0, Math.floor((full - D) / sI)), Math.ceil(D / sr));
  const need = cost * sI;
  if (D + need <= full) {
    D = inUnitsOf(D + need, sI, I);
    const reset = Math.ceil(D / r);
    return admitted(quad(s, D, t, r, I), Math.floor((C * I - D) / I), reset, reset);
  }
  return rejected(
    Math.max(0, Math.floor((full - D) / sI)),
    Math.ceil(D / sr),
    Math.ceil((D + need - full) / sr),
  );
}

// `step` as a Decision: the admission inline, refusals through `step` itself, so both answer alike.
const decide: DecideFn = (p, s, now, cost, out) => {
  const C = p[0]!;
  const r = p[1]!;
  const I = p[2]!;
  let D = 0;
  let t = now;
  let sI = I;
  if (s !== undefined) {
    D = s[0]!;
    t = s[1]!;
    sI = s[3]!;
    if (now > t) {
      D = Math.max(0, D - (now - t) * s[2]!);
      t = now;
    }
  }
  const need = cost * sI;
  if (cost > C || D + need > C * sI) return decisionOf(C, step(p, s, now, cost));
  D = inUnitsOf(D + need, sI, I);
  const reset = Math.ceil(D / r);
  out.state = quad(s, D, t, r, I);
  out.ttlMs = reset;
  return admittedDecision(C, Math.floor((C * I - D) / I), reset);
};

// A used amount scaled by the interval sI, rescaled to the interval I. Whole units convert exactly; only the
// fraction is rounded, and up. Both parts stay below interval * interval, exact while both intervals are at
// most a day; beyond, this step and its Lua twin round alike.
function inUnitsOf(D: number, sI: number, I: number): number {
  if (sI === I) return D;
  const q = Math.floor(D / sI);
  return q * I + Math.ceil(((D - q * sI) * I) / sI);
}

// One instance's bucket (see shareOf): capacity divided, at least one, refilled n times slower.
const bucketShare: ShareFn = ([capacity, rate, per], n) => {
  const share = Math.max(1, Math.floor(capacity! / n));
  const slower = per! * n;
  return { params: [share, rate!, slower], limit: share, windowMs: Math.ceil((share * slower) / rate!) };
};

/** Builds either bucket: `capacity` units, refilled (or leaked) at `rate`; they differ only in name. */
export function bucketStep(
  name: string,
  id: string,
  capacity: number,
  rate: { limit: number; windowMs: number },
): Algorithm & AlgorithmStep {
  // The scaled amount reaches capacity * interval (plus a cost of at most that before it is compared);
  // draining past zero is clamped, so elapsed * rate may grow large without harm. Only this product must
  // stay below 2^53. The field is named like the option (tokenBucket.capacity), not like the algorithm.
  const field = `${name.replace(/-(\w)/g, (_, c: string) => c.toUpperCase())}.capacity`;
  assertExactProduct(field, capacity, capacity, rate.windowMs, 4);
  return defineStep({
    name,
    id,
    limit: capacity,
    windowMs: Math.ceil((capacity * rate.windowMs) / rate.limit),
    params: [capacity, rate.limit, rate.windowMs],
    lua: LUA,
    fn: step,
    decideFn: decide,
    share: bucketShare,
  });
}
