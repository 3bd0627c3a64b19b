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

/**
 * What `decisionOf` gives an admitted outcome, built from its numbers (a step's `decide` twin has no outcome
 * object): the same fields in the same order, so every Decision keeps one shape.
 */
export function admittedDecision(limit: number, remaining: number, resetAfterMs: number): Decision {
  return { allowed: true, limit, remaining, resetAfterMs, retryAfterMs: 0, binding: 0 };
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
  const allowed = allAllow(outcomes);
  // The longest retry a refusing member needs; an allowing member's is 0 and never counts.
  let retry = 0;
  for (let i = 0; i < outcomes.length; i++) {
    const o = outcomes[i]!;
    if (!o.allowed) retry = Math.max(retry, retryOf(o));
  }
  const bind = bindingOf(members, outcomes, allowed);
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

/**
 * `combine` of members that each answered as their own Decision (`decisionOf` of their outcome, as a step's
 * `decide` does): the binding member's Decision, which already carries the longest retry when refused (the
 * binding refusal has it), with its index as `binding`. Allocates nothing when the first member binds.
 */
export function combineDecisions(
  members: readonly AlgorithmStep[],
  decisions: readonly Decision[],
): Decision {
  const bind = bindingOf(members, decisions, allAllow(decisions));
  const d = decisions[bind]!;
  if (d.binding === bind) return d;
  return {
    allowed: d.allowed,
    limit: d.limit,
    remaining: d.remaining,
    resetAfterMs: d.resetAfterMs,
    retryAfterMs: d.retryAfterMs,
    binding: bind,
  };
}

// Whether every outcome allows.
function allAllow(outcomes: readonly StepOutcome[]): boolean {
  for (let i = 0; i < outcomes.length; i++) if (!outcomes[i]!.allowed) return false;
  return true;
}

/**
 * The binding member of several outcomes (see Decision.binding); `allowed` says whether all allow. A Decision
 * is an outcome here too: its retry of Infinity reads like a step's -1 (see retryOf).
 */
export function bindingOf(
  members: readonly AlgorithmStep[],
  outcomes: readonly StepOutcome[],
  allowed: boolean,
): number {
  let bind = -1;
  for (let i = 0; i < outcomes.length; i++) {
    // A refused request charges nothing, yet a member that would have allowed it reports what would remain
    // after charging it; only the members that refused describe the key as it is.
    if (!allowed && outcomes[i]!.allowed) continue;
    if (bind === -1 || binds(members, outcomes, i, bind, allowed)) bind = i;
  }
  return bind;
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
