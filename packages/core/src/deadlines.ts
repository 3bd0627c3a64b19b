import { DistLimiterError, BackendError, BackendTimeoutError } from './errors.js';

// The longest delay setTimeout takes, 2^31 - 1 ms (about 24.8 days).
const MAX_DELAY = 2_147_483_647;

/** A call bounded by a Deadlines instance: `expire` runs once at `deadline` unless untracked before. */
export interface Bounded {
  /** performance.now() ms: when the call started plus the instance's timeoutMs. */
  readonly deadline: number;
  /** Set by `track`: the call's place among the instance's pending calls. */
  seq?: number;
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
 * has the same timeoutMs and deadlines are read from a monotonic clock, so calls in the order they were
 * tracked are also in deadline order: the first one pending is the next deadline.
 *
 * The pending calls are a ring buffer in that order, not a Set: a settled call's slot is cleared and the
 * head moves past cleared slots. A Set added to and deleted from on every call replaces its hash table
 * every few hundred calls, and V8 leaves each replaced table pointing to its successor (for iterators still
 * on it). Once one such table has reached the old generation (any full GC promotes the one in use), every
 * successor, and every call it held, survives the young-generation collections until the next full GC:
 * at 100 decisions in flight on Redis that kept about 2.5 MB alive per collection and spent a third of the
 * process's time in GC. A cleared array slot holds nothing.
 */
export class Deadlines {
  // Pending calls at index `seq & mask`, for seq from head (the oldest not yet passed) to tail (exclusive).
  private slots: (Bounded | undefined)[] = new Array<Bounded | undefined>(64).fill(undefined);
  private mask = 63;
  private head = 0;
  private tail = 0;
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
          this.untrack(entry);
          resolve(value);
        },
        (error: unknown) => {
          this.untrack(entry);
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
    if (this.tail - this.head > this.mask) this.grow();
    entry.seq = this.tail;
    this.slots[this.tail & this.mask] = entry;
    this.tail++;
    // A timer already armed is due no later than this deadline (it serves an earlier call), and sweep
    // re-arms it for whatever is pending then, so only an idle instance arms here.
    if (this.timer === undefined) this.arm(entry.deadline);
  }

  /** The call settled: its deadline no longer applies. */
  untrack(entry: Bounded): void {
    const seq = entry.seq;
    // Passed already (expired, or settled and passed): its slot may hold a later call by now. From the
    // head on, a call's slot holds it or, once settled, nothing.
    if (seq === undefined || seq < this.head) return;
    this.slots[seq & this.mask] = undefined;
    // Calls mostly settle in the order they started, so the head rarely waits long on one.
    while (this.head < this.tail && this.slots[this.head & this.mask] === undefined) this.head++;
  }

  // Doubles the buffer, each pending call at its seq's index under the new mask.
  private grow(): void {
    const size = (this.mask + 1) * 2;
    const slots = new Array<Bounded | undefined>(size).fill(undefined);
    for (let seq = this.head; seq < this.tail; seq++) slots[seq & (size - 1)] = this.slots[seq & this.mask];
    this.slots = slots;
    this.mask = size - 1;
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
    while (this.head < this.tail) {
      const i = this.head & this.mask;
      const entry = this.slots[i];
      if (entry !== undefined) {
        if (entry.deadline > now) {
          this.arm(entry.deadline);
          return;
        }
        this.slots[i] = undefined;
      }
      this.head++;
      entry?.expire();
    }
  }
}
