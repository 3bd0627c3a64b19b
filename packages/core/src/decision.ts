import type { AlgorithmStep, StepOutcome } from './algorithms/types.js';

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

/**
 * Folds member outcomes into one Decision: allowed only if all allow; retry is the longest any member needs
 * (Infinity if one never can). Limit, remaining and reset come from the binding member: when refused, the
 * refusing member with the longest retry (so a client told to wait is shown the limit that makes it wait);
 * when allowed, the member with the least remaining. Ties go to the smaller limit, then the earlier member.
 */
export function combine(members: readonly AlgorithmStep[], outcomes: readonly StepOutcome[]): Decision {
  if (outcomes.length === 1) return decisionOf(members[0]!.limit, outcomes[0]!);
  let allowed = true;
  for (let i = 0; i < outcomes.length; i++) if (!outcomes[i]!.allowed) allowed = false;
  let bind = -1;
  let retry = 0;
  for (let i = 0; i < outcomes.length; i++) {
    const o = outcomes[i]!;
    // A refused request charges nothing, yet a member that would have allowed it reports what would remain
    // after charging it; only the members that refused describe the key as it is.
    if (!allowed && o.allowed) continue;
    const r = retryOf(o);
    if (r > retry) retry = r;
    if (bind === -1 || binds(members, outcomes, i, bind, allowed)) bind = i;
  }
  const b = outcomes[bind]!;
  return {
    allowed,
    limit: members[bind]!.limit,
    remaining: b.remaining,
    resetAfterMs: b.resetAfterMs,
    retryAfterMs: allowed ? 0 : retry,
    binding: bind,
  };
}

// Whether member i binds the decision more than the current choice b.
function binds(
  members: readonly AlgorithmStep[],
  outcomes: readonly StepOutcome[],
  i: number,
  b: number,
  allowed: boolean,
): boolean {
  const o = outcomes[i]!;
  const c = outcomes[b]!;
  if (!allowed) {
    const ro = retryOf(o);
    const rc = retryOf(c);
    if (ro !== rc) return ro > rc;
  }
  if (o.remaining !== c.remaining) return o.remaining < c.remaining;
  return members[i]!.limit < members[b]!.limit;
}
