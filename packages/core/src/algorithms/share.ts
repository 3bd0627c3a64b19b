import type { AlgorithmStep } from './types.js';

/** One instance's parameters out of `n` (same layout as `params`), with the limit and window they report. */
export interface Share {
  params: number[];
  limit: number;
  windowMs: number;
}

/** How an algorithm cuts its parameters to one instance's share of `n` (n >= 2). */
export type ShareFn = (params: readonly number[], n: number) => Share;

/**
 * One instance's share of a limit when `instances` instances decide apart (the local fallback). Each
 * algorithm says how it divides (its `share`); shares are rounded down, so the fleet's rate never exceeds
 * the limit, and a share is never below one request, since a share of zero would refuse everyone.
 *
 * - Windows (fixed, sliding, sliding log), `L` per `W`: with `L >= n`, `floor(L / n)` per `W` (the fleet gets
 *   at most `L` per window); with `L < n`, 1 per `ceil(W * n / L)`: 3/minute over 4 instances is 1 per 80 s
 *   on each, 3 per minute across the fleet on average (in the first minute of an outage all 4 may each
 *   let their one through).
 * - Buckets (token, leaky), capacity `C` refilled at `r` per `w`: capacity `max(1, floor(C / n))`, refilled
 *   at `r` per `w * n` (the rate divides exactly; only the capacity rounds down, to at least one).
 * - GCRA, `L` per `P` with bursts of `B`: `L` per `P * n` (exact), burst `max(1, floor(B / n))`.
 *
 * With one instance, or a step that cannot be shared, the step is returned as it is.
 */
export function shareOf(step: AlgorithmStep, instances: number): AlgorithmStep {
  if (instances <= 1 || step.share === undefined) return step;
  return step.share(instances);
}

/** The share of the window algorithms, whose parameters are `[limit, windowMs]` (see `shareOf`). */
export const windowShare: ShareFn = ([limit, windowMs], n) => {
  if (limit! >= n) {
    const share = Math.floor(limit! / n);
    return { params: [share, windowMs!], limit: share, windowMs: windowMs! };
  }
  const longer = Math.ceil((windowMs! * n) / limit!);
  return { params: [1, longer], limit: 1, windowMs: longer };
};
