import { retryAfterExcess } from './sliding-log-retry.js';
import { admitted, rejected, type StepResult, tooCostly } from './types.js';

// The sliding log as the memory backend keeps it: the same outcomes as the step in sliding-log.ts, on a
// state that costs O(1) per decision instead of a rebuild of the whole log. A busy key's log holds one pair
// per distinct millisecond of its window, so rebuilding it made a decision cost grow with the key's traffic.
//
// State [windowMs, count, head, end, stampMs, units, stampMs, units, ...]: the window the log was written
// under, the units of the pairs in [head, end), and where those pairs start and stop. Pairs before `head`
// have slid out and wait to be compacted away; values from `end` on are left over from before a compaction
// and mean nothing. Stamps never go backwards, so the pairs that slide out are always a prefix: dropping
// them moves `head` and subtracts from `count`, and nothing is summed.
//
// The array never shrinks: a compaction moves the counted pairs to the front and moves `end`, and later
// pairs are written over what lies past it. Shrinking it (setting its length) made V8 trim its backing
// store, so the pushes that followed reallocated and copied it again, each time: a busy key's log, hundreds
// of pairs, was copied twice per compaction and every copy survived into the old generation, which cost
// the process most of its time in GC.

// Index of the first pair of a fresh log.
const FIRST = 4;

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
  let head = FIRST;
  let end = FIRST;
  let count = 0;
  if (s !== undefined) {
    head = s[2]!;
    end = s[3]!;
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
    const log = s === undefined ? [W, 0, FIRST, FIRST] : compacted(s, head, end);
    log[0] = W;
    log[1] = count + cost;
    const last = log[3]! - 2;
    if (last >= log[2]! && log[last] === stamp) log[last + 1]! += cost;
    else append(log, stamp, cost);
    reset = stamp + W - now;
    return admitted(log, L - count - cost, reset, reset);
  }
  return rejected(Math.max(0, L - count), reset, retryAfterExcess(s!, head, end, count + cost - L, w, now));
}

// `s` with its counted pairs [head, end); the slid-out prefix is moved away only once it is longer than what
// is still counted, so each pair is copied O(1) times over its life.
function compacted(s: number[], head: number, end: number): number[] {
  if (head - FIRST > end - head) {
    s.copyWithin(FIRST, head, end);
    end = FIRST + end - head;
    head = FIRST;
  }
  s[2] = head;
  s[3] = end;
  return s;
}

// Adds the pair [stamp, units] at the log's end: over a left-over value when there is one, else grown.
function append(log: number[], stamp: number, units: number): void {
  const end = log[3]!;
  if (end < log.length) {
    log[end] = stamp;
    log[end + 1] = units;
  } else log.push(stamp, units);
  log[3] = end + 2;
}
