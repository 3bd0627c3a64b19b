import { parseDuration, type Duration } from '../policy/duration.js';
import { parseRate } from '../policy/rate.js';
import { assertExactProduct, plainObject, positiveInteger } from '../policy/validate.js';
import { defineStep } from './define.js';
import { type Algorithm, type AlgorithmStep, admitted, pair, rejected, tooCostly } from './types.js';

/** GCRA options: `limit` requests per `period`, with bursts of up to `burst` at once. */
export interface GcraOptions {
  /** Requests per period, the sustained rate. */
  limit: number;
  /** The period the limit applies to. */
  period: Duration;
  /** Requests that may arrive back to back before pacing applies (default: `limit`). */
  burst?: number;
}

// State [tatMs, tatRemainder]: the theoretical arrival time as whole ms plus a remainder in 1/L ms, so
// the emission interval P/L is added exactly. X below is (tat - now) * L, an integer.
const LUA = `function(s, now, cost, p)
  local L, P, B = p[1], p[2], p[3]
  local tm, tr = now, 0
  if s and (s[1] > now or (s[1] == now and s[2] > 0)) then tm = s[1]; tr = s[2] end
  local X = (tm - now) * L + tr
  local BP = B * P
  if cost > B then return nil, 0, math.floor((BP - X) / P), math.ceil(X / L), -1, 0 end
  local NX = X + cost * P
  if NX <= BP then
    local add = tr + cost * P
    local q = math.floor(add / L)
    local reset = math.ceil(NX / L)
    return {tm + q, add - q * L}, 1, math.floor((BP - NX) / P), reset, 0, reset
  end
  return nil, 0, math.floor((BP - X) / P), math.ceil(X / L), math.ceil((NX - BP) / L), 0
end`;

/**
 * GCRA (generic cell rate algorithm): paces requests to one every `period / limit`, letting up to `burst`
 * arrive at once. Like a token bucket in effect, but stores a single timestamp. Exact.
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
  });
}

function step(p: readonly number[], s: number[] | undefined, now: number, cost: number) {
  const L = p[0]!;
  const P = p[1]!;
  const B = p[2]!;
  let tm = now;
  let tr = 0;
  if (s && (s[0]! > now || (s[0] === now && s[1]! > 0))) {
    tm = s[0]!;
    tr = s[1]!;
  }
  const X = (tm - now) * L + tr;
  const BP = B * P;
  if (cost > B) return tooCostly(Math.floor((BP - X) / P), Math.ceil(X / L));
  const NX = X + cost * P;
  if (NX <= BP) {
    const add = tr + cost * P;
    const q = Math.floor(add / L);
    const reset = Math.ceil(NX / L);
    return admitted(pair(s, tm + q, add - q * L), Math.floor((BP - NX) / P), reset, reset);
  }
  return rejected(Math.floor((BP - X) / P), Math.ceil(X / L), Math.ceil((NX - BP) / L));
}
