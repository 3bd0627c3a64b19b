import { assertExactProduct } from '../policy/validate.js';
import { defineStep } from './define.js';
import { type WindowOptions, windowRate } from './options.js';
import { type Algorithm, type AlgorithmStep, admitted, triple, rejected, tooCostly } from './types.js';

// State [windowStartMs, current, previous]. The estimate is previous * (W - elapsed) / W + current; it is
// compared multiplied by W, so every quantity stays an integer. Retry times solve the same inequality.
// resetAfterMs is the end of the current window (what clients read as "when the window resets"); the
// state itself is kept one window longer, while it still weighs as the previous window.
const LUA = `function(s, now, cost, p)
  local L, W = p[1], p[2]
  local start, cur, prev = now, 0, 0
  if s then
    start, cur, prev = s[1], s[2], s[3]
    if now >= start + W then
      if now < start + 2 * W then prev = cur; start = start + W else prev = 0; start = now end
      cur = 0
    end
  end
  local e = now - start
  if e < 0 then e = 0 end
  local LW = L * W
  local used = prev * (W - e) + cur * W
  local reset = start + W - now
  if cost > L then return nil, 0, math.max(0, L - math.ceil(used / W)), reset, -1, 0 end
  local after = used + cost * W
  if after <= LW then
    cur = cur + cost
    return {start, cur, prev}, 1, math.max(0, L - math.ceil(after / W)), reset, 0, start + 2 * W - now
  end
  local retry
  if cur + cost <= L then
    retry = math.ceil((after - LW) / prev)
  else
    retry = (W - e) + math.ceil(W * (cur + cost - L) / cur)
  end
  return nil, 0, math.max(0, L - math.ceil(used / W)), reset, retry, 0
end`;

/**
 * Sliding window counter: counts the current and the previous window and weighs the previous one by how
 * much of it still overlaps the sliding window. O(1) state. Approximate: it assumes the previous window's
 * requests were spread evenly, so bursty traffic at a window's end can be over- or under-estimated; the
 * first window is exact, and no span of one window ever admits more than 2x `limit`.
 */
export function slidingWindow(options: string | WindowOptions): Algorithm & AlgorithmStep {
  const { limit, windowMs } = windowRate('slidingWindow', options);
  assertExactProduct('slidingWindow.limit', limit, limit, windowMs, 4);
  return defineStep({
    name: 'sliding-window',
    id: 'sw',
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
  let cur = 0;
  let prev = 0;
  if (s) {
    start = s[0]!;
    cur = s[1]!;
    prev = s[2]!;
    if (now >= start + W) {
      // Two windows on, nothing counted matters: start afresh at now, exactly like a key never seen (which
      // is what the backend holds once the state's TTL has run out), not on the old window grid.
      if (now < start + 2 * W) {
        prev = cur;
        start += W;
      } else {
        prev = 0;
        start = now;
      }
      cur = 0;
    }
  }
  let e = now - start;
  if (e < 0) e = 0;
  const LW = L * W;
  const used = prev * (W - e) + cur * W;
  const reset = start + W - now;
  if (cost > L) return tooCostly(Math.max(0, L - Math.ceil(used / W)), reset);
  const after = used + cost * W;
  if (after <= LW) {
    // The state matters until the current window has also aged out as the previous one.
    return admitted(
      triple(s, start, cur + cost, prev),
      Math.max(0, L - Math.ceil(after / W)),
      reset,
      start + 2 * W - now,
    );
  }
  const retry =
    cur + cost <= L ? Math.ceil((after - LW) / prev) : W - e + Math.ceil((W * (cur + cost - L)) / cur);
  return rejected(Math.max(0, L - Math.ceil(used / W)), reset, retry);
}
