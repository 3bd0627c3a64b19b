import type { StepOutcome } from './algorithms/types.js';

/** The answer for one request. All durations are whole milliseconds. */
export interface Decision {
  /** Whether the request may proceed (and was charged). */
  readonly allowed: boolean;
  /** The limit of the member that binds this decision (see `binding`). */
  readonly limit: number;
  /** Requests (cost units) still available right after this decision. */
  readonly remaining: number;
  /** Milliseconds until the binding member's window resets (windows: its end; buckets and GCRA: full again). */
  readonly resetAfterMs: number;
  /** 0 when allowed; otherwise milliseconds until the same request would pass, `Infinity` if it never can. */
  readonly retryAfterMs: number;
  /**
   * Index in `algorithm.members` of the member this decision describes (always 0 for a single algorithm):
   * when refused, the refusing member with the longest retry, so its reset and the retry agree; when
   * allowed, the member with the least remaining.
   */
  readonly binding: number;
  /**
   * Set when the backend failed and the limiter's `onBackendError` decided instead: `'local'` (in this
   * process's memory, on its share of the limit), `'allow'` or `'deny'`. Absent when the backend decided.
   */
  readonly fallback?: 'local' | 'allow' | 'deny';
}

/** The Decision of a single algorithm's outcome: its limit, binding 0, and a retry of Infinity for "never". */
export function decisionOf(limit: number, o: StepOutcome): Decision {
  const allowed = o.allowed;
  return {
    allowed,
    limit,
    remaining: o.remaining,
    resetAfterMs: o.resetAfterMs,
    retryAfterMs: allowed ? 0 : retryOf(o),
    binding: 0,
  };
}

/** How long an outcome's refusal lasts: its retry, or Infinity where the step says never (-1). */
export function retryOf(o: StepOutcome): number {
  return o.retryAfterMs < 0 ? Number.POSITIVE_INFINITY : o.retryAfterMs;
}
