import { DistLimiterError, BackendError, BackendTimeoutError } from './errors.js';

interface Pending {
  readonly deadline: number;
  readonly reject: (error: Error) => void;
  readonly late: () => Error;
}

// BackendError as is, and ClosedError too: using a closed backend is a bug, not an outage.
function backendFailure(error: unknown): Error {
  return error instanceof DistLimiterError
    ? error
    : new BackendError(`Backend call failed: ${String(error)}`, { cause: error });
}

/**
 * Bounds backend calls by a timeout with one shared, unreferenced timer instead of a setTimeout per call:
 * arming and clearing a timer for every decision costs more than the Redis round trip it guards.
 * A call is failed between `timeoutMs` and 1.5 x `timeoutMs` after it started.
 */
export class Deadlines {
  private readonly pending = new Set<Pending>();
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
      const entry: Pending = { deadline: performance.now() + this.timeoutMs, reject, late };
      this.pending.add(entry);
      if (this.timer === undefined) this.arm();
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

  private arm(): void {
    // Unreferenced: a pending deadline must never keep the process alive on its own.
    this.timer = setTimeout(() => this.sweep(), Math.max(1, Math.ceil(this.timeoutMs / 2))).unref();
  }

  private sweep(): void {
    this.timer = undefined;
    const now = performance.now();
    for (const entry of this.pending) {
      if (entry.deadline <= now) {
        this.pending.delete(entry);
        entry.reject(entry.late());
      }
    }
    if (this.pending.size > 0) this.arm();
  }
}
