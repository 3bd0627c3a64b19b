import { EventEmitter } from 'node:events';
import type { StepOutcome } from '../algorithms/types.js';
import { Deadlines } from '../deadlines.js';
import {
  BackendError,
  BackendTimeoutError,
  CircuitOpenError,
  ClosedError,
  DistLimiterError,
  InvalidOptionError,
} from '../errors.js';
import { keysOf, knownKeys } from '../policy/known-keys.js';
import { positiveInteger, positiveIntegerOr } from '../policy/validate.js';
import { type Backend, type BackendHealth, type Clock, isBackend, type Keyspace } from './types.js';

/** Options of a CircuitBreaker. */
export interface CircuitBreakerOptions {
  /** The backend to guard, e.g. a RedisBackend; closed by the breaker's close(). */
  backend: Backend;
  /** Consecutive failures (rejections, or timeouts when `timeoutMs` is set) that open the breaker (default 5). */
  failureThreshold?: number;
  /** How long the breaker stays open before it lets probes through, in ms (default 5000). */
  openMs?: number;
  /** Most probe calls in flight at once while half-open (default 1). */
  halfOpenProbes?: number;
  /** Successful probes that close a half-open breaker (default 1). */
  successThreshold?: number;
  /**
   * A call not answered within this many ms counts as a failure (default: none, only rejections count).
   * Set it at or below the limiter's timeoutMs, or a hanging backend never trips the breaker.
   */
  timeoutMs?: number;
  /**
   * Also open while closed when at least this share (0 < r <= 1) of the calls completed in the last
   * `windowMs` failed, once `minimumCalls` completed there (default: off, only consecutive failures count).
   */
  failureRatio?: number;
  /** The window `failureRatio` looks at, in ms, kept in tenths (default 10000). */
  windowMs?: number;
  /** Fewest calls completed in the window before `failureRatio` can open the breaker (default 20). */
  minimumCalls?: number;
  /** Time source in ms for openMs, `since` and `at` (default `Date.now`); inject one in tests. */
  clock?: Clock;
}

/** Every key CircuitBreakerOptions accepts. */
export const CIRCUIT_BREAKER_OPTION_KEYS = keysOf<CircuitBreakerOptions>()([
  'backend',
  'failureThreshold',
  'openMs',
  'halfOpenProbes',
  'successThreshold',
  'timeoutMs',
  'failureRatio',
  'windowMs',
  'minimumCalls',
  'clock',
]);

/** The breaker's state: calls go through (closed), are refused (open), or a few probe (halfOpen). */
export type CircuitState = BackendHealth['state'];

/** Events of CircuitBreaker, by name, with their arguments. */
export interface CircuitBreakerEvents {
  /** Closed or half-open to open, with the failure that opened it. */
  open: [error: Error];
  /** Open to half-open (openMs passed), with the failure that opened it. */
  halfOpen: [lastError: Error];
  /** Half-open to closed: enough probes succeeded. */
  close: [];
}

/** What `health()` reports: the breaker's state, the last failure and recent latency of the wrapped backend. */
export type CircuitBreakerHealth = BackendHealth;

// Latency samples kept: enough for a stable p99 over the last moments, cheap to sort on health().
const LATENCY_SAMPLES = 128;
// The failure-ratio window is kept in this many buckets: O(1) per call, and a call ages out at most a
// tenth of windowMs early.
const WINDOW_BUCKETS = 10;

/**
 * A Backend that guards another: after `failureThreshold` failures in a row (or, with `failureRatio`, once
 * that share of the calls of the last `windowMs` failed) it opens and refuses every call at once with CircuitOpenError (no call to the wrapped backend, no waiting); after `openMs` it half-opens
 * and lets up to `halfOpenProbes` calls through at a time; `successThreshold` successes close it, a failure
 * opens it again. Opt-in: wrap any backend and hand the breaker to a RateLimiter or HttpLimiter.
 *
 * Events: `open` (error), `halfOpen` (lastError), `close` (). The move to half-open happens on the first
 * call (or `health()`) after openMs, so no timer runs. A synchronous backend (memory) stays synchronous.
 */
export class CircuitBreaker extends EventEmitter<CircuitBreakerEvents> implements Backend {
  /** The wrapped backend. */
  readonly backend: Backend;
  /** Failures in a row that open the breaker. */
  readonly failureThreshold: number;
  /** Time spent open before probing, in ms. */
  readonly openMs: number;
  /** Most probes in flight at once while half-open. */
  readonly halfOpenProbes: number;
  /** Probe successes that close the breaker. */
  readonly successThreshold: number;
  /** Per-call timeout counted as a failure, if set. */
  readonly timeoutMs: number | undefined;
  /** Failed share of the window's calls that opens the breaker, if set. */
  readonly failureRatio: number | undefined;
  /** The window failureRatio looks at, in ms. */
  readonly windowMs: number;
  /** Calls the window must hold before failureRatio applies. */
  readonly minimumCalls: number;
  private readonly clock: Clock;
  private readonly deadlines: Deadlines | undefined;
  private state: CircuitState = 'closed';
  private since: number;
  // Bumped on every transition: a call settling after one (started in an older state) must not move the new one.
  private generation = 0;
  private failures = 0;
  private probes = 0;
  private probeSuccesses = 0;
  private lastError: Error | undefined;
  private lastErrorAt = 0;
  private readonly latencies = new Float64Array(LATENCY_SAMPLES);
  private latencyCount = 0;
  private closed = false;
  // The failure-ratio window: slot = floor(time / (windowMs/10)); slot s counts in bucket s mod 10, and
  // windowHead is the newest slot, so the buckets hold slots windowHead-9 .. windowHead.
  private readonly windowCalls = new Uint32Array(WINDOW_BUCKETS);
  private readonly windowFailures = new Uint32Array(WINDOW_BUCKETS);
  private windowHead = -Infinity;
  private windowCallTotal = 0;
  private windowFailureTotal = 0;

  constructor(options: CircuitBreakerOptions) {
    super();
    const o = knownKeys(options, CIRCUIT_BREAKER_OPTION_KEYS, 'CircuitBreaker options');
    if (!isBackend(o.backend)) {
      throw new InvalidOptionError('backend', o.backend, 'a backend such as new RedisBackend(...)');
    }
    this.backend = o.backend;
    this.failureThreshold = positiveIntegerOr(o.failureThreshold, 'failureThreshold', 5);
    this.openMs = positiveIntegerOr(o.openMs, 'openMs', 5000);
    this.halfOpenProbes = positiveIntegerOr(o.halfOpenProbes, 'halfOpenProbes', 1);
    this.successThreshold = positiveIntegerOr(o.successThreshold, 'successThreshold', 1);
    this.timeoutMs = o.timeoutMs === undefined ? undefined : positiveInteger(o.timeoutMs, 'timeoutMs');
    if (
      o.failureRatio !== undefined &&
      !(typeof o.failureRatio === 'number' && o.failureRatio > 0 && o.failureRatio <= 1)
    ) {
      throw new InvalidOptionError(
        'failureRatio',
        o.failureRatio,
        'a number above 0 and at most 1, e.g. 0.5',
      );
    }
    this.failureRatio = o.failureRatio as number | undefined;
    this.windowMs = positiveIntegerOr(o.windowMs, 'windowMs', 10_000);
    this.minimumCalls = positiveIntegerOr(o.minimumCalls, 'minimumCalls', 20);
    if (o.clock !== undefined && typeof o.clock !== 'function') {
      throw new InvalidOptionError('clock', o.clock, 'a function returning milliseconds');
    }
    this.clock = (o.clock as Clock | undefined) ?? Date.now;
    this.deadlines = this.timeoutMs === undefined ? undefined : new Deadlines(this.timeoutMs);
    this.since = this.clock();
  }

  evaluate(
    space: Keyspace,
    key: string,
    cost: number,
    peek: boolean,
  ): readonly StepOutcome[] | Promise<readonly StepOutcome[]> {
    return this.call(() => this.backend.evaluate(space, key, cost, peek));
  }

  delete(space: Keyspace, key: string): void | Promise<void> {
    return this.call(() => this.backend.delete(space, key));
  }

  /** Closes the wrapped backend; later calls throw ClosedError. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.backend.close();
  }

  /** The breaker's state, failures and recent latency of the wrapped backend. */
  health(): CircuitBreakerHealth {
    this.refresh();
    const sorted = Array.from(this.latencies.subarray(0, Math.min(this.latencyCount, LATENCY_SAMPLES)));
    sorted.sort((a, b) => a - b);
    const at = (q: number) => (sorted.length ? sorted[Math.ceil(q * sorted.length) - 1]! : 0);
    const health: CircuitBreakerHealth = {
      state: this.state,
      since: this.since,
      consecutiveFailures: this.failures,
      latencyMs: { p50: at(0.5), p99: at(0.99), samples: sorted.length },
    };
    if (this.lastError) health.lastError = { message: this.lastError.message, at: this.lastErrorAt };
    return health;
  }

  /**
   * Lets probes through now rather than after openMs, when something else knows the backend is likely back
   * (a RedisBackend calls it when its connection is ready again); a no-op unless open.
   */
  probeNow(): void {
    if (!this.closed && this.state === 'open') this.moveTo('halfOpen');
  }

  // Refuses, or runs `work` and records how it went; synchronous results stay synchronous.
  /**
   * Admits one call or throws CircuitOpenError (ClosedError once closed), and returns the token `record`
   * takes. For a backend that runs the breaker inline (RedisBackend records each call where it settles,
   * without wrapping it in another promise); every admitted call must be recorded exactly once.
   */
  admit(): number {
    if (this.closed) throw new ClosedError('CircuitBreaker');
    this.refresh();
    // Thrown rather than returned as a rejected promise: refusing costs nothing, and RateLimiter and the
    // HTTP layer turn a synchronous throw into the same backend failure.
    if (this.state === 'open') throw new CircuitOpenError(this.lastError);
    if (this.state === 'halfOpen') {
      if (this.probes >= this.halfOpenProbes) throw new CircuitOpenError(this.lastError);
      this.probes++;
    }
    return this.generation;
  }

  /** Records how an admitted call went: `token` from `admit`, `started` its performance.now(). */
  record(token: number, started: number, ok: boolean, error: unknown): void {
    this.settled(token, started, ok, error);
  }

  private call<T>(work: () => T | Promise<T>): T | Promise<T> {
    const generation = this.admit();
    const started = performance.now();
    let result: T | Promise<T>;
    try {
      result = work();
    } catch (error) {
      this.settled(generation, started, false, error);
      throw error;
    }
    if (!(result instanceof Promise)) {
      this.settled(generation, started, true, undefined);
      return result;
    }
    const bounded = this.deadlines
      ? this.deadlines.race(result, () => new BackendTimeoutError(this.timeoutMs!))
      : result;
    return bounded.then(
      (value) => {
        this.settled(generation, started, true, undefined);
        return value;
      },
      (error: unknown) => {
        this.settled(generation, started, false, error);
        throw error;
      },
    );
  }

  // Records one call's latency and outcome.
  private settled(generation: number, started: number, ok: boolean, error: unknown): void {
    this.latencies[this.latencyCount++ % LATENCY_SAMPLES] = performance.now() - started;
    const failed = !ok && isOutage(error);
    if (failed) {
      this.lastError = error instanceof Error ? error : new Error(String(error));
      this.lastErrorAt = this.clock();
      this.failures++;
    } else if (ok) {
      this.failures = 0;
    }
    // A call begun before the last transition says nothing about the current state.
    if (generation !== this.generation) return;
    // Bugs (neither ok nor an outage) are left out of the ratio, as they are out of the failure count.
    if (this.state === 'closed' && this.failureRatio !== undefined && (ok || failed)) {
      this.countInWindow(failed);
      if (
        failed &&
        this.windowCallTotal >= this.minimumCalls &&
        // Divided rather than multiplied: 3 / 10 >= 0.3 holds, 3 >= 0.3 * 10 does not in floating point.
        this.windowFailureTotal / this.windowCallTotal >= this.failureRatio
      ) {
        this.moveTo('open');
        return;
      }
    }
    if (this.state === 'halfOpen') {
      this.probes--;
      if (failed) this.moveTo('open');
      else if (ok && ++this.probeSuccesses >= this.successThreshold) this.moveTo('closed');
    } else if (this.state === 'closed' && failed && this.failures >= this.failureThreshold) {
      this.moveTo('open');
    }
  }

  // Adds one completed call to the window, first emptying the buckets of slots that left it (at most all ten).
  private countInWindow(failed: boolean): void {
    const slot = Math.floor((this.clock() * WINDOW_BUCKETS) / this.windowMs);
    // A clock that steps back counts into the newest bucket rather than reopening an old one.
    if (slot > this.windowHead) {
      const from = Math.max(this.windowHead + 1, slot - WINDOW_BUCKETS + 1);
      for (let s = from; s <= slot; s++) {
        const i = bucketOf(s);
        this.windowCallTotal -= this.windowCalls[i]!;
        this.windowFailureTotal -= this.windowFailures[i]!;
        this.windowCalls[i] = 0;
        this.windowFailures[i] = 0;
      }
      this.windowHead = slot;
    }
    const i = bucketOf(this.windowHead);
    this.windowCalls[i]!++;
    this.windowCallTotal++;
    if (failed) {
      this.windowFailures[i]!++;
      this.windowFailureTotal++;
    }
  }

  // Open becomes half-open once openMs has passed, checked lazily so that no timer runs.
  private refresh(): void {
    if (this.state === 'open' && this.clock() - this.since >= this.openMs) this.moveTo('halfOpen');
  }

  private clearWindow(): void {
    this.windowCalls.fill(0);
    this.windowFailures.fill(0);
    this.windowHead = -Infinity;
    this.windowCallTotal = 0;
    this.windowFailureTotal = 0;
  }

  private moveTo(state: CircuitState): void {
    this.state = state;
    this.since = this.clock();
    this.generation++;
    this.probes = 0;
    this.probeSuccesses = 0;
    // A closed breaker starts a fresh window: the failures that opened it must not reopen it at once.
    if (state === 'closed') this.clearWindow();
    // State is settled before listeners run, so a listener that calls health() or the backend sees it.
    if (state === 'open') this.emit('open', this.lastError!);
    else if (state === 'halfOpen') this.emit('halfOpen', this.lastError!);
    else this.emit('close');
  }
}

// An outage is any failure but a DistLimiterError that is not a BackendError: using a closed backend or
// passing bad input is a bug, and opening the breaker would hide it behind CircuitOpenError.
function isOutage(error: unknown): boolean {
  return !(error instanceof DistLimiterError) || error instanceof BackendError;
}

// Non-negative even for a clock before 1970, where % alone would give a negative index.
function bucketOf(slot: number): number {
  return ((slot % WINDOW_BUCKETS) + WINDOW_BUCKETS) % WINDOW_BUCKETS;
}

/** The backend under any CircuitBreakers wrapped around it: where the state actually lives. */
export function innermostBackend(backend: Backend): Backend {
  let b = backend;
  while (b instanceof CircuitBreaker) b = b.backend;
  return b;
}
