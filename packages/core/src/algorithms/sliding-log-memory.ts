import { retryAfterExcess } from './sliding-log-retry.js';
import { admittedDecision, decisionOf } from '../decision.js';
import type { DecideFn } from './define.js';
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
  const w = windowOf(s, W);
  const count = counted(s, w, now);
  const head = cursor.head;
  const end = s === undefined ? FIRST : s[3]!;
  const newest = head < end ? s![end - 2]! : 0;
  let reset = head < end ? newest + w - now : 0;
  if (cost > L) return tooCostly(Math.max(0, L - count), reset);
  if (count + cost <= L) {
    const stamp = Math.max(newest, now);
    const log = charged(s, head, end, count + cost, W, stamp, cost);
    reset = stamp + W - now;
    return admitted(log, L - count - cost, reset, reset);
  }
  return rejected(Math.max(0, L - count), reset, retryAfterExcess(s!, head, end, count + cost - L, w, now));
}

/**
 * `slidingLogMemoryStep` as a Decision (see AlgorithmStep.decide): the admission inline, refusals through
 * the step itself, so both answer alike.
 */
export const slidingLogMemoryDecide: DecideFn = (p, s, now, cost, out) => {
  const L = p[0]!;
  const W = p[1]!;
  const count = counted(s, windowOf(s, W), now);
  if (cost > L || count + cost > L) return decisionOf(L, slidingLogMemoryStep(p, s, now, cost));
  const head = cursor.head;
  const end = s === undefined ? FIRST : s[3]!;
  const stamp = head < end ? Math.max(s![end - 2]!, now) : now;
  out.state = charged(s, head, end, count + cost, W, stamp, cost);
  const reset = stamp + W - now;
  out.ttlMs = reset;
  return admittedDecision(L, L - count - cost, reset);
};

// The window a log is read under: the one it was written under when that is shorter (see sliding-log.ts).
function windowOf(s: number[] | undefined, W: number): number {
  return s !== undefined && s[0]! < W ? s[0]! : W;
}

// Where `counted` leaves the index of the oldest pair still counted: module scratch, so a decision
// allocates no object for a second return value (nothing runs between a call and its caller's read).
const cursor = { head: FIRST };

// The units of `s`'s pairs still inside a window of `w` at `now`, and (in `cursor`) where they start. Nothing
// is written: a refusal (or a peek) must leave the log as it was.
function counted(s: number[] | undefined, w: number, now: number): number {
  if (s === undefined) {
    cursor.head = FIRST;
    return 0;
  }
  let head = s[2]!;
  const end = s[3]!;
  let count = s[1]!;
  while (head < end && s[head]! + w <= now) {
    count -= s[head + 1]!;
    head += 2;
  }
  cursor.head = head;
  return count;
}

// The log with `cost` units charged at `stamp` (never before its newest pair), written into `s` when there
// is one: `total` units counted from `head` on, under the window W.
function charged(
  s: number[] | undefined,
  head: number,
  end: number,
  total: number,
  W: number,
  stamp: number,
  cost: number,
): number[] {
  const log = s === undefined ? [W, 0, FIRST, FIRST] : compacted(s, head, end);
  log[0] = W;
  log[1] = total;
  const last = log[3]! - 2;
  if (last >= log[2]! && log[last] === stamp) log[last + 1]! += cost;
  else append(log, stamp, cost);
  return log;
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
