import { assertExactProduct } from '../policy/validate.js';
import { defineStep } from './define.js';
import { type WindowOptions, windowRate } from './options.js';
import { type Algorithm, type AlgorithmStep, admitted, pair, rejected, tooCostly } from './types.js';

// State [windowStartMs, count]. A key's window starts at its first request (not at a wall-clock
// boundary), so keys do not all reset at once and a burst cannot straddle a shared edge.
const LUA = `function(s, now, cost, p)
  local L, W = p[1], p[2]
  local start, count = now, 0
  if s and now < s[1] + W then start = s[1]; count = s[2] end
  local reset = start + W - now
  if cost > L then return nil, 0, L - count, reset, -1, 0 end
  if count + cost <= L then
    count = count + cost
    return {start, count}, 1, L - count, reset, 0, reset
  end
  return nil, 0, L - count, reset, reset, 0
end`;

/**
 * Fixed window: at most `limit` per window; a key's window opens with its first request and the count
 * starts over when it ends. Exact within a window; across an edge a client can get up to 2x `limit` in a
 * short span (the last moment of one window and the first of the next).
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
  });
}

function step(p: readonly number[], s: number[] | undefined, now: number, cost: number) {
  const L = p[0]!;
  const W = p[1]!;
  let start = now;
  let count = 0;
  if (s && now < s[0]! + W) {
    start = s[0]!;
    count = s[1]!;
  }
  const reset = start + W - now;
  if (cost > L) return tooCostly(L - count, reset);
  if (count + cost <= L) {
    count += cost;
    return admitted(pair(s, start, count), L - count, reset, reset);
  }
  return rejected(L - count, reset, reset);
}
