import { DistLimiterError, BackendError, BackendTimeoutError } from './errors.js';

// The longest delay setTimeout takes, 2^31 - 1 ms (about 24.8 days).
const MAX_DELAY = 2_147_483_647;

/** A call bounded by a Deadlines instance: `expire` runs once at `deadline` unless untracked before. */
export interface Bounded {
  /** performance.now() ms: when the call started plus the instance's timeoutMs. */
  readonly deadline: number;
  expire(): void;
}

// BackendError as is, and ClosedError too: using a closed backend is a bug, not an outage.
function backendFailure(error: unknown): Error {
  return error instanceof DistLimiterError
    ? error
    : new BackendError(`Backend call failed: ${String(error)}`, { cause: error });
}

/**
 * Bounds calls by a timeout: each call is given up (rejected) when `timeoutMs` has passed since it started,
 * to the millisecond granularity of Node's timers, never at a later timer tick; a call that settled first is
 * never rejected.
 *
 * One shared, unreferenced timer is armed for the earliest pending deadline instead of a setTimeout per call:
 * arming and clearing a timer for every decision costs more than the Redis round trip it guards. Every call
 * has the same timeoutMs and deadlines are read from a monotonic clock, so the pending set, kept in insertion
 * order, is also in deadline order: its first entry is the next deadline.
 */
export class Deadlines {
  private readonly pending = new Set<Bounded>();
  private timer: NodeJS.Timeout | undefined;

  private readonly backendLate = () => new BackendTimeoutError(this.timeoutMs);

  constructor(private readonly timeoutMs: number) {}

  /** Resolves like `work`, or rejects with BackendTimeoutError once the deadline has passed. */
  bound<T>(work: Promise<T>): Promise<T> {
    return this.race(work, this.backendLate, backendFailure);
  }

  /**
   * Settles like `work`, or rejects with `late()` once the deadline has passed; a rejection of `work` is
   * passed through `failed` (default: as is).
   */
  race<T>(
    work: PromiseLike<T>,
    late: () => Error,
    failed: (error: unknown) => unknown = (error) => error,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const entry: Bounded = { deadline: performance.now() + this.timeoutMs, expire: () => reject(late()) };
      this.track(entry);
      // Settling only drops the entry: the timer is left armed, as clearing and re-arming it on every answer
      // would cost a timer per call again; if it fires with nothing due, sweep re-arms or stops.
      work.then(
        (value) => {
          this.pending.delete(entry);
          resolve(value);
        },
        (error: unknown) => {
          this.pending.delete(entry);
          reject(failed(error));
        },
      );
    });
  }

  /**
   * Bounds a call without a promise of its own (for callers that settle their own): `entry.expire()` runs
   * at its deadline unless `untrack` came first. Its deadline must be now + timeoutMs.
   */
  track(entry: Bounded): void {
    this.pending.add(entry);
    // A timer already armed is due no later than this deadline (it serves an earlier call), and sweep
    // re-arms it for whatever is pending then, so only an idle instance arms here.
    if (this.timer === undefined) this.arm(entry.deadline);
  }

  /** The call settled: its deadline no longer applies. */
  untrack(entry: Bounded): void {
    this.pending.delete(entry);
  }

  private arm(deadline: number): void {
    // Rounded up so that the timer does not fire just before the deadline and need a second, 1 ms tick.
    // Unreferenced: a pending deadline must never keep the process alive on its own.
    // Capped: Node fires a longer delay after 1 ms instead (with a warning); sweep re-arms for the rest.
    const delay = Math.min(MAX_DELAY, Math.max(1, Math.ceil(deadline - performance.now())));
    this.timer = setTimeout(() => this.sweep(), delay).unref();
  }

  private sweep(): void {
    this.timer = undefined;
    const now = performance.now();
    // In deadline order: stop at the first call still within its time.
    for (const entry of this.pending) {
      if (entry.deadline > now) {
        this.arm(entry.deadline);
        return;
      }
      this.pending.delete(entry);
      entry.expire();
    }
  }
}
