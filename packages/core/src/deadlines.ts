import { DistLimiterError, BackendError, BackendTimeoutError } from './errors.js';

interface Pending {
  readonly deadline: number;
  readonly reject: (error: Error) => void;
}

/**
 * Bounds backend calls by a timeout with one shared, unreferenced timer instead of a setTimeout per call:
 * arming and clearing a timer for every decision costs more than the Redis round trip it guards.
 * A call is failed between `timeoutMs` and 1.5 x `timeoutMs` after it started.
 */
export class Deadlines {
  private readonly pending = new Set<Pending>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly timeoutMs: number) {}

  /** Resolves like `work`, or rejects with BackendTimeoutError once the deadline has passed. */
  bound<T>(work: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const entry: Pending = { deadline: performance.now() + this.timeoutMs, reject };
      this.pending.add(entry);
      if (this.timer === undefined) this.arm();
      work.then(
        (value) => {
          this.pending.delete(entry);
          resolve(value);
        },
        (error: unknown) => {
          this.pending.delete(entry);
          // BackendError as is, and ClosedError too: using a closed backend is a bug, not an outage.
          reject(
            error instanceof DistLimiterError
              ? error
              : new BackendError(`Backend call failed: ${String(error)}`, { cause: error }),
          );
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
        entry.reject(new BackendTimeoutError(this.timeoutMs));
      }
    }
    if (this.pending.size > 0) this.arm();
  }
}
