import { parseDuration, type Duration } from '../policy/duration.js';
import { parseRate } from '../policy/rate.js';
import { assertExactProduct, plainObject, positiveInteger } from '../policy/validate.js';
import { defineStep } from './define.js';
import type { ShareFn } from './share.js';
import { type Algorithm, type AlgorithmStep, admitted, quad, rejected, tooCostly } from './types.js';

/** GCRA options: `limit` requests per `period`, with bursts of up to `burst` at once. */
export interface GcraOptions {
  /** Requests per period, the sustained rate. */
  limit: number;
  /** The period the limit applies to. */
  period: Duration;
  /** Requests that may arrive back to back before pacing applies (default: `limit`). */
  burst?: number;
}

// State [tatMs, tatRemainder, limit, period]: the theoretical arrival time as whole ms plus a remainder in
// 1/limit ms, so the emission interval period/limit is added exactly, and the rate that wrote it. X below is
// (tat - now) * limit, an integer; X / period is the used amount, in emission intervals.
//
// Key names do not carry parameters, so a state may come from another rate (a reload, a load state). It is
// read as its own rate measures it against the current burst, exactly as the buckets read theirs (see
// bucket.ts): the used amount carries over, at or above the new burst it reads as empty, and tat - now
// keeps falling at the old pace until the next admitted request stores it in the current rate's emission
// intervals (rounded up). That is also when the key's stored TTL runs out, so nothing jumps at expiry, and
// the reset and retry reported come true.
const LUA = `function(s, now, cost, p)
  local L, P, B = p[1], p[2], p[3]
  local tm, tr, sL, sP = now, 0, L, P
  if s and (s[1] > now or (s[1] == now and s[2] > 0)) then tm = s[1]; tr = s[2]; sL = s[3]; sP = s[4] end
  local X = (tm - now) * sL + tr
  local BP = B * sP
  if cost > B then return nil, 0, math.max(0, math.floor((BP - X) / sP)), math.ceil(X / sL), -1, 0 end
  local NX = X + cost * sP
  if NX <= BP then
    if sP ~= P or sL ~= L then
      local q = math.floor(NX / sP)
      NX = q * P + math.ceil((NX - q * sP) * P / sP)
    end
    local w = math.floor(NX / L)
    local reset = math.ceil(NX / L)
    return {now + w, NX - w * L, L, P}, 1, math.floor((B * P - NX) / P), reset, 0, reset
  end
  return nil, 0, math.max(0, math.floor((BP - X) / sP)), math.ceil(X / sL), math.ceil((NX - BP) / sL), 0
end`;

/**
 * GCRA (generic cell rate algorithm): paces requests to one every `period / limit`, letting up to `burst`
 * arrive at once. Like a token bucket in effect, but stores a single timestamp (and the rate it is in). Exact.
 *
 * `resetAfterMs`: until the theoretical arrival time, when a whole burst is available again. A change of
 * rate or burst keeps the used amount, in emission intervals: it counts against the new burst (used >=
 * burst: empty) and falls at the old pace until the key's next admitted request, then at the new one.
 */
export function gcra(options: string | GcraOptions): Algorithm & AlgorithmStep {
  let limit: number;
  let period: number;
  let burst: number;
  if (typeof options === 'string') {
    ({ limit, windowMs: period } = parseRate(options, 'gcra.rate'));
    burst = limit;
  } else {
    const o = plainObject(options, 'gcra');
    limit = positiveInteger(o.limit, 'gcra.limit');
    period = parseDuration(o.period, 'gcra.period');
    burst = o.burst === undefined ? limit : positiveInteger(o.burst, 'gcra.burst');
  }
  // Every quantity the step computes stays within 2 * burst * period + limit (X <= burst * period, plus a
  // cost of at most burst periods, plus a remainder below limit); the limit itself is not a factor.
  assertExactProduct('gcra.burst', burst, burst + limit, period, 4);
  return defineStep({
    name: 'gcra',
    id: 'gc',
    limit: burst,
    windowMs: Math.ceil((burst * period) / limit),
    params: [limit, period, burst],
    lua: LUA,
    fn: step,
    share: gcraShare,
  });
}

// One instance's pacing (see shareOf): the period n times longer, the burst divided, at least one.
const gcraShare: ShareFn = ([limit, period, burst], n) => {
  const share = Math.max(1, Math.floor(burst! / n));
  const slower = period! * n;
  return { params: [limit!, slower, share], limit: share, windowMs: Math.ceil((share * slower) / limit!) };
};

function step(p: readonly number[], s: number[] | undefined, now: number, cost: number) {
  const L = p[0]!;
  const P = p[1]!;
  const B = p[2]!;
  let tm = now;
  let tr = 0;
  let sL = L;
  let sP = P;
  if (s && (s[0]! > now || (s[0] === now && s[1]! > 0))) {
    tm = s[0]!;
    tr = s[1]!;
    sL = s[2]!;
    sP = s[3]!;
  }
  const X = (tm - now) * sL + tr;
  const BP = B * sP;
  if (cost > B) return tooCostly(Math.max(0, Math.floor((BP - X) / sP)), Math.ceil(X / sL));
  let NX = X + cost * sP;
  if (NX <= BP) {
    if (sP !== P || sL !== L) {
      // Whole intervals convert exactly; only the fraction is rounded, and up (see bucket.ts).
      const q = Math.floor(NX / sP);
      NX = q * P + Math.ceil(((NX - q * sP) * P) / sP);
    }
    const w = Math.floor(NX / L);
    const reset = Math.ceil(NX / L);
    return admitted(quad(s, now + w, NX - w * L, L, P), Math.floor((B * P - NX) / P), reset, reset);
  }
  return rejected(Math.max(0, Math.floor((BP - X) / sP)), Math.ceil(X / sL), Math.ceil((NX - BP) / sL));
}
