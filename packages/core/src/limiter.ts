import type { Algorithm, AlgorithmStep, StepOutcome } from './algorithms/types.js';
import { MemoryBackend } from './backends/memory.js';
import { type Backend, isBackend, type Keyspace } from './backends/types.js';
import { Deadlines } from './deadlines.js';
import { LimiterKeyspace } from './keyspace.js';
import type { Decision } from './decision.js';
import { InvalidCostError, InvalidKeyError, InvalidOptionError, RateLimitExceeded } from './errors.js';
import { plainObject } from './policy/validate.js';

/** Options of a RateLimiter. */
export interface RateLimiterOptions {
  /** The algorithm, e.g. `slidingWindow('100/minute')`, or `hybrid(...)` of several. */
  algorithm: Algorithm;
  /** Where state lives (default: a new MemoryBackend). */
  backend?: Backend;
  /** Namespace for keys, so several limiters can share one backend (default "dl"). */
  prefix?: string;
  /** Longest wait for the backend before a call fails with BackendTimeoutError (default 1000 ms). */
  timeoutMs?: number;
}

/** Options of one call. */
export interface LimitOptions {
  /** What the request costs, a positive integer (default 1). */
  cost?: number;
}

/** Longest key accepted, in UTF-8 bytes; longer keys are usually a bug (a whole header or body). */
export const MAX_KEY_BYTES = 1024;
const PREFIX = /^[A-Za-z0-9_.:-]{1,64}$/;

/** Combines algorithm steps with a backend and a key prefix, and answers limit/consume/peek/reset. */
export class RateLimiter {
  /** The algorithm this limiter enforces. */
  readonly algorithm: Algorithm;
  /** The backend holding state. */
  readonly backend: Backend;
  /** Namespace of this limiter's keys. */
  readonly prefix: string;
  /** Backend timeout in ms. */
  readonly timeoutMs: number;
  private readonly deadlines: Deadlines;
  /** Where this limiter's state lives: its steps, namespaces and key names, handed to the backend. */
  readonly keyspace: Keyspace;
  private readonly members: readonly AlgorithmStep[];

  constructor(options: RateLimiterOptions) {
    const o = plainObject(options, 'RateLimiter options');
    const algorithm = o.algorithm as Algorithm | undefined;
    if (
      !algorithm ||
      typeof algorithm !== 'object' ||
      !Array.isArray(algorithm.members) ||
      !algorithm.members.length
    ) {
      throw new InvalidOptionError(
        'algorithm',
        o.algorithm,
        'an algorithm such as slidingWindow("100/minute")',
      );
    }
    if (o.backend !== undefined && !isBackend(o.backend)) {
      throw new InvalidOptionError(
        'backend',
        o.backend,
        'a backend such as new MemoryBackend() or new RedisBackend(...)',
      );
    }
    const prefix = o.prefix ?? 'dl';
    if (typeof prefix !== 'string' || !PREFIX.test(prefix)) {
      throw new InvalidOptionError(
        'prefix',
        prefix,
        '1-64 characters of letters, digits, "_", ".", ":" or "-"',
      );
    }
    const timeoutMs = o.timeoutMs ?? 1000;
    if (typeof timeoutMs !== 'number' || !Number.isSafeInteger(timeoutMs) || timeoutMs <= 0) {
      throw new InvalidOptionError('timeoutMs', timeoutMs, 'a positive integer number of milliseconds');
    }
    this.algorithm = algorithm;
    this.backend = (o.backend as Backend | undefined) ?? new MemoryBackend();
    this.prefix = prefix;
    this.timeoutMs = timeoutMs;
    this.members = algorithm.members;
    this.keyspace = new LimiterKeyspace(prefix, algorithm.members);
    this.deadlines = new Deadlines(timeoutMs);
  }

  /** Decides one request for `key`, charging `cost` if allowed. Never throws for being over the limit. */
  limit(key: string, options?: LimitOptions): Promise<Decision> {
    let decision: Decision | Promise<Decision>;
    try {
      decision = this.decideNow(key, costOf(options), false);
    } catch (error) {
      // Bad input rejects the promise like every other failure instead of throwing on the spot.
      return Promise.reject(error);
    }
    // A synchronous backend (memory) costs one settled promise, not the ticks of an async function.
    return decision instanceof Promise ? decision : Promise.resolve(decision);
  }

  /**
   * Like `limit`, but answers synchronously when the backend does (the memory backend always does), so a
   * hot path can skip a promise; a Promise otherwise. Invalid input throws here instead of rejecting.
   */
  decide(key: string, options?: LimitOptions): Decision | Promise<Decision> {
    return this.decideNow(key, costOf(options), false);
  }

  /** Like `limit`, but rejects with RateLimitExceeded (carrying the Decision) when not allowed. */
  async consume(key: string, options?: LimitOptions): Promise<Decision> {
    const d = await this.decideNow(key, costOf(options), false);
    if (!d.allowed) throw new RateLimitExceeded(d);
    return d;
  }

  /** The Decision a cost-1 request would get now, spending nothing. */
  async peek(key: string): Promise<Decision> {
    return this.decideNow(key, 1, true);
  }

  /** Forgets everything counted for `key`. */
  async reset(key: string): Promise<void> {
    checkKey(key);
    await this.guard(this.backend.delete(this.keyspace, key));
  }

  /** The backend keys that hold `key`'s state, one per algorithm member. */
  keysFor(key: string): string[] {
    checkKey(key);
    return this.keyspace.keys(key);
  }

  // The one path every decision takes: synchronous when the backend answers synchronously.
  private decideNow(key: string, cost: number, peek: boolean): Decision | Promise<Decision> {
    checkKey(key);
    const result = this.backend.evaluate(this.keyspace, key, cost, peek);
    if (Array.isArray(result)) return combine(this.members, result);
    // Promise.resolve returns a native promise as is, and still adopts a custom backend's thenable.
    return Promise.resolve(this.guard(result)).then((outcomes) => combine(this.members, outcomes));
  }

  // Bounds every backend call by timeoutMs; synchronous backends skip it entirely.
  private guard<T>(result: T | Promise<T>): Promise<T> | T {
    if (!(result instanceof Promise)) return result;
    return this.deadlines.bound(result);
  }
}

function costOf(options: LimitOptions | undefined): number {
  if (options === undefined || options.cost === undefined) return 1;
  const cost = options.cost;
  if (typeof cost !== 'number' || !Number.isSafeInteger(cost) || cost <= 0) throw new InvalidCostError(cost);
  return cost;
}

function checkKey(key: unknown): asserts key is string {
  if (typeof key !== 'string') throw new InvalidKeyError(key, 'a non-empty string');
  if (key.length === 0) throw new InvalidKeyError(key, 'a non-empty string');
  if (key.length > MAX_KEY_BYTES / 3 && Buffer.byteLength(key) > MAX_KEY_BYTES) {
    throw new InvalidKeyError(key, `at most ${MAX_KEY_BYTES} bytes (hash long identifiers first)`);
  }
}

/**
 * Folds member outcomes into one Decision: allowed only if all allow; limit, remaining and reset come from
 * the member with the least remaining (among the members that refused, when refused); retry is the longest
 * any member needs (Infinity if one never can).
 */
export function combine(members: readonly AlgorithmStep[], outcomes: readonly StepOutcome[]): Decision {
  if (outcomes.length === 1) {
    const o = outcomes[0]!;
    return {
      allowed: o.allowed,
      limit: members[0]!.limit,
      remaining: o.remaining,
      resetAfterMs: o.resetAfterMs,
      retryAfterMs: o.allowed ? 0 : o.retryAfterMs < 0 ? Number.POSITIVE_INFINITY : o.retryAfterMs,
    };
  }
  const allowed = outcomes.every((o) => o.allowed);
  let bind = -1;
  let retry = 0;
  for (let i = 0; i < outcomes.length; i++) {
    const o = outcomes[i]!;
    if (o.retryAfterMs < 0) retry = Number.POSITIVE_INFINITY;
    else if (o.retryAfterMs > retry) retry = o.retryAfterMs;
    // A refused request charges nothing, yet a member that would have allowed it reports what would remain
    // after charging it; only the members that refused describe the key as it is.
    if (!allowed && o.allowed) continue;
    const b = outcomes[bind];
    if (
      b === undefined ||
      o.remaining < b.remaining ||
      (o.remaining === b.remaining && members[i]!.limit < members[bind]!.limit)
    )
      bind = i;
  }
  const b = outcomes[bind]!;
  return {
    allowed,
    limit: members[bind]!.limit,
    remaining: b.remaining,
    resetAfterMs: b.resetAfterMs,
    retryAfterMs: allowed ? 0 : retry,
  };
}
