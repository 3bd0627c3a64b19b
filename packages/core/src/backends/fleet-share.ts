import type { AlgorithmStep } from '../algorithms/types.js';

/**
 * One instance's share of a limit when `instances` instances decide apart (the local fallback). Shares are
 * rounded down, so the fleet's rate never exceeds the limit; a share is never below one request, since a
 * share of zero would refuse everyone.
 *
 * - Windows (fixed, sliding, sliding log), `L` per `W`: with `L >= n`, `floor(L / n)` per `W` (the fleet gets
 *   at most `L` per window); with `L < n`, 1 per `ceil(W * n / L)`: 3/minute over 4 instances is 1 per 80 s
 *   on each, 3 per minute across the fleet on average (in the first minute of an outage all 4 may each
 *   let their one through).
 * - Buckets (token, leaky), capacity `C` refilled at `r` per `w`: capacity `max(1, floor(C / n))`, refilled
 *   at `r` per `w * n` (the rate divides exactly; only the capacity rounds down, to at least one).
 * - GCRA, `L` per `P` with bursts of `B`: `L` per `P * n` (exact), burst `max(1, floor(B / n))`.
 *
 * With one instance, or a step this does not know, the step is returned as it is.
 */
export function shareOf(step: AlgorithmStep, instances: number): AlgorithmStep {
  const n = instances;
  if (n <= 1 || step.withParams === undefined) return step;
  const p = step.params;
  switch (step.id) {
    case 'fw':
    case 'sw':
    case 'sl': {
      const [limit, windowMs] = [p[0]!, p[1]!];
      if (limit >= n) {
        const share = Math.floor(limit / n);
        return step.withParams([share, windowMs], share, windowMs);
      }
      const longer = Math.ceil((windowMs * n) / limit);
      return step.withParams([1, longer], 1, longer);
    }
    case 'tb':
    case 'lb': {
      const [capacity, rate, per] = [p[0]!, p[1]!, p[2]!];
      const share = Math.max(1, Math.floor(capacity / n));
      const slower = per * n;
      return step.withParams([share, rate, slower], share, Math.ceil((share * slower) / rate));
    }
    case 'gc': {
      const [limit, period, burst] = [p[0]!, p[1]!, p[2]!];
      const share = Math.max(1, Math.floor(burst / n));
      const slower = period * n;
      return step.withParams([limit, slower, share], share, Math.ceil((share * slower) / limit));
    }
    default:
      return step;
  }
}
