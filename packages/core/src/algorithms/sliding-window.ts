import { assertExactProduct } from '../policy/validate.js';
import { defineStep } from './define.js';
import { windowShare } from './share.js';
import { type WindowOptions, windowRate } from './options.js';
import { type Algorithm, type AlgorithmStep, admitted, quad, rejected, tooCostly } from './types.js';

// State [windowStartMs, current, previous, windowMs]. The estimate is previous * (w - elapsed) / w + current;
// it is compared multiplied by w, so every quantity stays an integer. Retry times solve the same inequality.
// resetAfterMs is the end of the current window (what clients read as "when the window resets"); the
// state itself is kept one window longer, while it still weighs as the previous window.
//
// The window length is stored because key names do not carry parameters: after a change of window (a
// reload, a load state) the state keeps rolling and weighing on its own windows, which is what its TTL
// assumes, until the key's next admitted request. That request starts windows of the new length there,
// carrying what the old ones still counted (rounded up) as the previous window's count, so it slides out
// over the new window. The counts say nothing of when in a window they were spent, so re-reading them on
// a shorter grid would hand a key that spent them a moment ago a fresh allowance. The current limit
// applies at once, each count read as at most the limit: a count above it would weigh as more than a full
// window and keep the key refused for most of the next one too; read as exactly full, it is refused until
// it slides out, like a key that used the whole limit. Counts a key writes under one limit never exceed it.
const LUA = `function(s, now, cost, p)
  local L, W = p[1], p[2]
  local start, cur, prev, w = now, 0, 0, W
  if s then
    start, cur, prev, w = s[1], s[2], s[3], s[4]
    if now >= start + w then
      if now < start + 2 * w then prev = cur; start = start + w else prev = 0; start = now; w = W end
      cur = 0
    end
    if cur > L then cur = L end
    if prev > L then prev = L end
  end
  local e = now - start
  if e < 0 then e = 0 end
  local LW = L * w
  local used = prev * (w - e) + cur * w
  local reset = start + w - now
  if cost > L then return nil, 0, math.max(0, L - math.ceil(used / w)), reset, -1, 0 end
  local after = used + cost * w
  if after <= LW then
    local remaining = math.max(0, L - math.ceil(after / w))
    if w ~= W then return {now, cost, math.ceil(used / w), W}, 1, remaining, W, 0, 2 * W end
    return {start, cur + cost, prev, w}, 1, remaining, reset, 0, start + 2 * w - now, s ~= nil and start == s[1]
  end
  local retry
  if cur + cost <= L then
    retry = math.ceil((after - LW) / prev)
  else
    retry = (w - e) + math.ceil(w * (cur + cost - L) / cur)
  end
  return nil, 0, math.max(0, L - math.ceil(used / w)), reset, retry, 0
end`;

/**
 * Sliding window counter: counts the current and the previous window and weighs the previous one by how
 * much of it still overlaps the sliding window. O(1) state. Approximate: it assumes the previous window's
 * requests were spread evenly, so bursty traffic at a window's end can be over- or under-estimated; the
 * first window is exact, and no span of one window ever admits more than 2x `limit`.
 *
 * `resetAfterMs`: until the current window ends; the previous window's count still weighs after it, so a
 * refusal's retry may come later (up to one more window). A change of limit applies at once to the
 * counts (each read as at most the new limit); a change of window at the key's next admitted request,
 * which starts windows of the new length with the count so far carried as the previous window's.
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
    share: windowShare,
  });
}

function step(p: readonly number[], s: number[] | undefined, now: number, cost: number) {
  const L = p[0]!;
  const W = p[1]!;
  let start = now;
  let cur = 0;
  let prev = 0;
  let w = W;
  if (s) {
    start = s[0]!;
    cur = s[1]!;
    prev = s[2]!;
    w = s[3]!;
    if (now >= start + w) {
      // Two windows on, nothing counted matters: start afresh at now, exactly like a key never seen (which
      // is what the backend holds once the state's TTL has run out), not on the old window grid.
      if (now < start + 2 * w) {
        prev = cur;
        start += w;
      } else {
        prev = 0;
        start = now;
        w = W;
      }
      cur = 0;
    }
    if (cur > L) cur = L;
    if (prev > L) prev = L;
  }
  let e = now - start;
  if (e < 0) e = 0;
  const LW = L * w;
  const used = prev * (w - e) + cur * w;
  const reset = start + w - now;
  if (cost > L) return tooCostly(Math.max(0, L - Math.ceil(used / w)), reset);
  const after = used + cost * w;
  if (after <= LW) {
    const remaining = Math.max(0, L - Math.ceil(after / w));
    // Windows of another length: new ones start here, the old count carried as the previous window's.
    if (w !== W) return admitted(quad(s, now, cost, Math.ceil(used / w), W), remaining, W, 2 * W);
    // The state matters until the current window has also aged out as the previous one.
    return admitted(quad(s, start, cur + cost, prev, w), remaining, reset, start + 2 * w - now);
  }
  const retry =
    cur + cost <= L ? Math.ceil((after - LW) / prev) : w - e + Math.ceil((w * (cur + cost - L)) / cur);
  return rejected(Math.max(0, L - Math.ceil(used / w)), reset, retry);
}
