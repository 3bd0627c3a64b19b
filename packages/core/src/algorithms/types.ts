import type { Decision } from '../decision.js';

/** What one algorithm says about one key; durations in whole milliseconds, `retryAfterMs` -1 means never. */
export interface StepOutcome {
  readonly allowed: boolean;
  readonly remaining: number;
  readonly resetAfterMs: number;
  readonly retryAfterMs: number;
}

/** The result of one pure step: the outcome, plus the state to store (allowed requests only) and its TTL. */
export interface StepResult extends StepOutcome {
  /** New state to store when allowed; `null` when nothing may be written. Integers only. */
  readonly state: number[] | null;
  /** How long the new state matters; after it, a fresh key would give the same answers. */
  readonly ttlMs: number;
}

/**
 * One limit rule a backend can run: validated integer parameters, a pure TypeScript step and its Lua twin.
 * Backends run `step` (memory) or `lua` (Redis) without knowing which algorithm they hold.
 */
export interface AlgorithmStep {
  /** Human name, e.g. "token-bucket". */
  readonly name: string;
  /** Short id: the Lua function's name and the key suffix that keeps state formats apart. */
  readonly id: string;
  /** Headline limit reported in decisions and headers. */
  readonly limit: number;
  /** The window the limit applies to, in ms (for buckets: the time to refill from empty). */
  readonly windowMs: number;
  /** Integer parameters handed to both `step` and the Lua twin, in the same order. */
  readonly params: readonly number[];
  /**
   * Lua source of `function(s, now, cost, p)` returning `state, allowed(0|1), remaining, reset, retry, ttl`
   * and optionally `kept`: true when the stored state's expiry already is `now + ttl` (a fixed window's
   * end), so the script leaves the key's TTL as it is rather than writing it again.
   */
  readonly lua: string;
  /**
   * The step: the state read for the key (undefined when absent), the time in ms, and the cost. Pure but
   * for one licence: when it admits, it may write the new state into `state` and return that array, so
   * the memory backend allocates nothing per decision. Callers that must keep the old state pass a copy.
   *
   * Key names do not carry parameters, so the state may have been written by this algorithm under other
   * parameters (a reload, a load state). Every step reads such a state by one rule: the current limit
   * applies at once to the amount used, so nothing is handed out fresh, while the state keeps the timing
   * its own parameters gave it (refill rate, window end, window length) until the key's next admitted
   * request stores it under the current ones; only the sliding log, which knows when each unit was spent,
   * applies a shorter window at once. A refusal writes nothing and a state's TTL is what its own
   * parameters gave it, so this is the reading under which a state past its TTL reads exactly like no
   * state, whatever the parameters: a key never gains or loses anything by being dropped on time.
   */
  step(state: number[] | undefined, now: number, cost: number): StepResult;
  /**
   * The step the memory backend runs, when it keeps a state of its own that `step` and Lua never see (the
   * sliding log keeps a running count): exactly `step`'s outcomes. Absent: the memory backend runs `step`.
   */
  memoryStep?(state: number[] | undefined, now: number, cost: number): StepResult;
  /**
   * `memoryStep` answered as this step's own Decision, exactly `decisionOf(limit, memoryStep(...))`, for
   * the memory backend's single-algorithm path: an admission leaves its state and TTL in `out` instead of
   * in an outcome object, so a decision allocates nothing but its Decision. Absent: the backend folds
   * `memoryStep`. Same licence as `step` to write an admitted state into `state`.
   */
  decide?(state: number[] | undefined, now: number, cost: number, out: Admission): Decision;
  /** This step cut to one instance's share of `instances` (the local fallback; see `shareOf`). */
  share?(instances: number): AlgorithmStep;
}

/** Where `AlgorithmStep.decide` leaves what an admission stores: the state and how long it matters. */
export interface Admission {
  state: number[] | null;
  ttlMs: number;
}

/** An algorithm as the limiter sees it: one or more steps that must all allow a request. */
export interface Algorithm {
  /** Human name, e.g. "sliding-window" or "hybrid". */
  readonly name: string;
  /** The steps to run together, atomically; a single algorithm has exactly one. */
  readonly members: readonly AlgorithmStep[];
}

/** Builds the outcome of a request that can never pass because its cost exceeds the capacity. */
export function tooCostly(remaining: number, resetAfterMs: number): StepResult {
  return { state: null, allowed: false, remaining, resetAfterMs, retryAfterMs: -1, ttlMs: 0 };
}

/** Builds a rejection: nothing is written. */
export function rejected(remaining: number, resetAfterMs: number, retryAfterMs: number): StepResult {
  return { state: null, allowed: false, remaining, resetAfterMs, retryAfterMs, ttlMs: 0 };
}

/** Builds an admission that stores `state` for `ttlMs`. */
export function admitted(
  state: number[],
  remaining: number,
  resetAfterMs: number,
  ttlMs: number,
): StepResult {
  return { state, allowed: true, remaining, resetAfterMs, retryAfterMs: 0, ttlMs };
}

/** A two-integer state, written into `s` when there is one (see AlgorithmStep.step). */
export function pair(s: number[] | undefined, a: number, b: number): number[] {
  if (s === undefined || s.length !== 2) return [a, b];
  s[0] = a;
  s[1] = b;
  return s;
}

/** A four-integer state, written into `s` when there is one (see AlgorithmStep.step). */
export function quad(s: number[] | undefined, a: number, b: number, c: number, d: number): number[] {
  if (s === undefined || s.length !== 4) return [a, b, c, d];
  s[0] = a;
  s[1] = b;
  s[2] = c;
  s[3] = d;
  return s;
}
