import { admittedDecision, decisionOf } from '../decision.js';
import { assertExactProduct } from '../policy/validate.js';
import { type DecideFn, defineStep } from './define.js';
import { windowShare } from './share.js';
import { type WindowOptions, windowRate } from './options.js';
import { type Algorithm, type AlgorithmStep, admitted, pair, rejected, tooCostly } from './types.js';

// State [windowEndMs, count]. A key's window starts at its first request (not at a wall-clock
// boundary), so keys do not all reset at once and a burst cannot straddle a shared edge.
//
// The end is stored rather than the start because key names do not carry parameters: after a change of
// window (a reload, a load state) the key's current window still ends where its clients were told (and
// where its TTL runs out), and the new length applies from its next window. The count, which says nothing
// of when in the window it was spent, is read against the current limit at once: at or above it, refused
// until the window ends (remaining never goes below 0). A shorter window starting from the old start
// instead would hand a key that spent the whole count a moment ago a fresh allowance. Two integers, no
// parameter: the cheapest state in Redis. Within a window its key's expiry stays where the window's first
// request put it (the window's end), which the step tells the script so it does not write the TTL again.
const LUA = `function(s, now, cost, p)
  local L, W = p[1], p[2]
  local stop, count = now + W, 0
  if s and now < s[1] then stop = s[1]; count = s[2] end
  local reset = stop - now
  if cost > L then return nil, 0, math.max(0, L - count), reset, -1, 0 end
  if count + cost <= L then
    count = count + cost
    return {stop, count}, 1, L - count, reset, 0, reset, s ~= nil and stop == s[1]
  end
  return nil, 0, math.max(0, L - count), reset, reset, 0
end`;

/**
 * Fixed window: at most `limit` per window; a key's window opens with its first request and the count
 * starts over when it ends. Exact within a window; across an edge a client can get up to 2x `limit` in a
 * short span (the last moment of one window and the first of the next).
 *
 * `resetAfterMs`: until the key's window ends and its count starts over (a refusal's retry is the same).
 * A change of limit applies at once to the count (count >= limit: refused until the window ends); a change
 * of window applies from the key's next window, so the current one ends when its clients were told.
 */
export function fixedWindow(options: string | WindowOptions): Algorithm & AlgorithmStep {
  const { limit, windowMs } = windowRate('fixedWindow', options);
  assertExactProduct('fixedWindow.limit', limit, limit, 1024);
  return defineStep({
    name: 'fixed-window',
    id: 'fw',
    limit,
    windowMs,
    params: [limit, windowMs],
    lua: LUA,
    fn: step,
    decideFn: decide,
    share: windowShare,
  });
}

function step(p: readonly number[], s: number[] | undefined, now: number, cost: number) {
  const L = p[0]!;
  const W = p[1]!;
  let stop = now + W;
  let count = 0;
  if (s && now < s[0]!) {
    stop = s[0]!;
    count = s[1]!;
  }
  const reset = stop - now;
  if (cost > L) return tooCostly(Math.max(0, L - count), reset);
  if (count + cost <= L) {
    count += cost;
    return admitted(pair(s, stop, count), L - count, reset, reset);
  }
  return rejected(Math.max(0, L - count), reset, reset);
}

// `step` as a Decision: the admission inline, refusals through `step` itself, so both answer alike.
const decide: DecideFn = (p, s, now, cost, out) => {
  const L = p[0]!;
  let stop = now + p[1]!;
  let count = 0;
  if (s !== undefined && now < s[0]!) {
    stop = s[0]!;
    count = s[1]!;
  }
  if (cost > L || count + cost > L) return decisionOf(L, step(p, s, now, cost));
  const reset = stop - now;
  count += cost;
  out.state = pair(s, stop, count);
  out.ttlMs = reset;
  return admittedDecision(L, L - count, reset);
};
