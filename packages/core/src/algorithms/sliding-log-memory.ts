import { retryAfterExcess } from './sliding-log-retry.js';
import { admitted, rejected, type StepResult, tooCostly } from './types.js';

// The sliding log as the memory backend keeps it: the same outcomes as the step in sliding-log.ts, on a
// state that costs O(1) per decision instead of a rebuild of the whole log. A busy key's log holds one pair
// per distinct millisecond of its window, so rebuilding it made a decision cost grow with the key's traffic.
//
// State [windowMs, count, head, stampMs, units, stampMs, units, ...]: the window the log was written under,
// the units of the pairs from `head` on, and the index of the oldest pair still counted. Pairs before
// `head` have slid out and wait to be compacted away. Stamps never go backwards, so the pairs that slide
// out are always a prefix: dropping them moves `head` and subtracts from `count`, and nothing is summed.

// Index of the first pair of a fresh log.
const FIRST = 3;

/** The sliding log's step on the memory backend's state (see above); `p` is [limit, windowMs]. */
export function slidingLogMemoryStep(
  p: readonly number[],
  s: number[] | undefined,
  now: number,
  cost: number,
): StepResult {
  const L = p[0]!;
  const W = p[1]!;
  const w = s !== undefined && s[0]! < W ? s[0]! : W;
  const end = s === undefined ? FIRST : s.length;
  let head = FIRST;
  let count = 0;
  if (s !== undefined) {
    head = s[2]!;
    count = s[1]!;
    // Nothing is written yet: a refusal (or a peek) must leave the log as it was.
    while (head < end && s[head]! + w <= now) {
      count -= s[head + 1]!;
      head += 2;
    }
  }
  const newest = head < end ? s![end - 2]! : 0;
  let reset = head < end ? newest + w - now : 0;
  if (cost > L) return tooCostly(Math.max(0, L - count), reset);
  if (count + cost <= L) {
    const stamp = Math.max(newest, now);
    const log = s === undefined ? [W, 0, FIRST] : compacted(s, head, end);
    log[0] = W;
    log[1] = count + cost;
    const last = log.length - 2;
    if (last >= log[2]! && log[last] === stamp) log[last + 1]! += cost;
    else log.push(stamp, cost);
    reset = stamp + W - now;
    return admitted(log, L - count - cost, reset, reset);
  }
  return rejected(Math.max(0, L - count), reset, retryAfterExcess(s!, head, end, count + cost - L, w, now));
}

// `s` with its counted pairs starting at `head`; the slid-out prefix is moved away only once it is longer
// than what is still counted, so each pair is copied O(1) times over its life.
function compacted(s: number[], head: number, end: number): number[] {
  if (head - FIRST > end - head) {
    s.copyWithin(FIRST, head, end);
    s.length = FIRST + end - head;
    head = FIRST;
  }
  s[2] = head;
  return s;
}
