// Shared by the sliding log's step and its memory backend twin, which read the same [stamp, cost] pairs.

/**
 * How long until `excess` units of the log's [stamp, cost] pairs between `from` and `to` have slid out of a
 * window of `w` ms: the stamp at which the running sum reaches `excess`, plus `w`, minus `now`.
 */
export function retryAfterExcess(
  log: readonly number[],
  from: number,
  to: number,
  excess: number,
  w: number,
  now: number,
): number {
  let acc = 0;
  for (let i = from; i < to; i += 2) {
    acc += log[i + 1]!;
    if (acc >= excess) return log[i]! + w - now;
  }
  return 0;
}
