import { InvalidOptionError } from '../errors.js';
import { defineStep } from './define.js';
import { windowShare } from './share.js';
import { slidingLogMemoryDecide, slidingLogMemoryStep } from './sliding-log-memory.js';
import { retryAfterExcess } from './sliding-log-retry.js';
import { type WindowOptions, windowRate } from './options.js';
import { type Algorithm, type AlgorithmStep, admitted, rejected, tooCostly } from './types.js';

/** Largest limit a sliding log accepts: its state grows with the limit, so it is kept bounded. */
export const SLIDING_LOG_MAX_LIMIT = 10_000;

// State [windowMs, stampMs, units, stampMs, units, ...]: the window the log was written under, then pairs
// oldest first. Requests in the same millisecond share one pair, and a stamp never goes backwards, so the
// log stays sorted even if clocks step back.
//
// The window is stored because key names do not carry parameters: after a change of window (a reload, a
// load state) a unit counts while it is inside both the window that logged it and the current one. The log
// knows when each unit was spent, so a shorter window is read exactly at once; a longer one cannot bring
// back units the old window has let go (nor keep the log past its TTL), and the key's next admitted request
// stores the log under the current window, its units then counting for all of it. The current limit
// applies at once: at or above it, refused until enough units slide out (remaining never below 0).
const LUA = `function(s, now, cost, p)
  local L, W = p[1], p[2]
  local w = W
  if s and s[1] < w then w = s[1] end
  local log, count, newest = {W}, 0, 0
  if s then
    for i = 2, #s, 2 do
      if s[i] + w > now then
        log[#log + 1] = s[i]; log[#log + 1] = s[i + 1]
        count = count + s[i + 1]
        newest = s[i]
      end
    end
  end
  local reset = 0
  if #log > 1 then reset = newest + w - now end
  if cost > L then return nil, 0, math.max(0, L - count), reset, -1, 0 end
  if count + cost <= L then
    local stamp = now
    if newest > stamp then stamp = newest end
    if #log > 1 and log[#log - 1] == stamp then
      log[#log] = log[#log] + cost
    else
      log[#log + 1] = stamp; log[#log + 1] = cost
    end
    reset = stamp + W - now
    return log, 1, L - count - cost, reset, 0, reset
  end
  local excess, acc, retry = count + cost - L, 0, 0
  for i = 2, #log, 2 do
    acc = acc + log[i + 1]
    if acc >= excess then retry = log[i] + w - now; break end
  end
  return nil, 0, math.max(0, L - count), reset, retry, 0
end`;

/**
 * Sliding log: remembers when each admitted unit was counted and admits a request only if fewer than
 * `limit` units fall in the last `window`. Exact at every instant; state grows with the limit (at most
 * 10,000), so prefer the sliding window counter for large limits.
 *
 * `resetAfterMs`: until the newest counted unit leaves the window and the log is empty (0 when it is). A
 * change of limit applies at once; after a change of window a unit counts while inside both the window
 * that logged it and the new one (exact for a shorter window; a longer one does not bring units back).
 */
export function slidingLog(options: string | WindowOptions): Algorithm & AlgorithmStep {
  const { limit, windowMs } = windowRate('slidingLog', options);
  if (limit > SLIDING_LOG_MAX_LIMIT) {
    throw new InvalidOptionError(
      'slidingLog.limit',
      limit,
      `at most ${SLIDING_LOG_MAX_LIMIT} (use slidingWindow)`,
    );
  }
  return defineStep({
    name: 'sliding-log',
    id: 'sl',
    limit,
    windowMs,
    params: [limit, windowMs],
    lua: LUA,
    fn: step,
    memoryFn: slidingLogMemoryStep,
    decideFn: slidingLogMemoryDecide,
    share: windowShare,
  });
}

function step(p: readonly number[], s: number[] | undefined, now: number, cost: number) {
  const L = p[0]!;
  const W = p[1]!;
  const w = s && s[0]! < W ? s[0]! : W;
  const log: number[] = [W];
  let count = 0;
  let newest = 0;
  if (s) {
    for (let i = 1; i < s.length; i += 2) {
      if (s[i]! + w > now) {
        log.push(s[i]!, s[i + 1]!);
        count += s[i + 1]!;
        newest = s[i]!;
      }
    }
  }
  let reset = log.length > 1 ? newest + w - now : 0;
  if (cost > L) return tooCostly(Math.max(0, L - count), reset);
  if (count + cost <= L) {
    const stamp = Math.max(newest, now);
    if (log.length > 1 && log[log.length - 2] === stamp) log[log.length - 1]! += cost;
    else log.push(stamp, cost);
    reset = stamp + W - now;
    return admitted(log, L - count - cost, reset, reset);
  }
  return rejected(
    Math.max(0, L - count),
    reset,
    retryAfterExcess(log, 1, log.length, count + cost - L, w, now),
  );
}
