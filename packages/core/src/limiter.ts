import type { Algorithm, AlgorithmStep, StepOutcome } from './algorithms/types.js';
import { localFallbackOf } from './backends/local-fallback.js';
import { MemoryBackend } from './backends/memory.js';
import { type Backend, type BackendHealth, isBackend, type Keyspace } from './backends/types.js';
import { Deadlines } from './deadlines.js';
import { combine, type Decision } from './decision.js';
import {
  BackendError,
  InvalidCostError,
  InvalidKeyError,
  InvalidOptionError,
  RateLimitExceeded,
} from './errors.js';
import { checkScope, LimiterKeyspace } from './key-names.js';
import { keysOf, knownKeys } from './policy/known-keys.js';
import { checkWellFormedKey } from './well-formed.js';

export { combine } from './decision.js';

/** Options of a RateLimiter. */
export interface RateLimiterOptions {
  /** The algorithm, e.g. `slidingWindow('100/minute')`, or `hybrid(...)` of several. */
  algorithm: Algorithm;
  /** Where state lives (default: a new MemoryBackend). */
  backend?: Backend;
  /** Namespace for keys, so several limiters can share one backend (default "dl"). */
  prefix?: string;
  /**
   * Longest wait for the backend before a call fails with BackendTimeoutError (default 1000 ms). A backend
   * with a deadline of its own (RedisBackend's `timeoutMs`, shared by every limiter on it) sets it instead:
   * then this may only be left unset or be at least the backend's.
   */
  timeoutMs?: number;
  /**
   * What a call gets when the backend fails, times out or its breaker is open: `'throw'` rejects with the
   * BackendError (default); `'allow'` answers allowed, `'deny'` refused (retry after a second), and
   * `'local'` decides in this process's memory on this instance's share of each limit (the limit divided
   * by the backend's `instanceCount()`). Such decisions carry `fallback`. `peek` and `reset` follow it too.
   */
  onBackendError?: BackendErrorPolicy;
}

/** What a limiter does when its backend fails: see RateLimiterOptions.onBackendError. */
export type BackendErrorPolicy = 'throw' | 'allow' | 'deny' | 'local';

/** Every key RateLimiterOptions accepts. */
export const RATE_LIMITER_OPTION_KEYS = keysOf<RateLimiterOptions>()([
  'algorithm',
  'backend',
  'prefix',
  'timeoutMs',
  'onBackendError',
]);

const POLICIES: readonly BackendErrorPolicy[] = ['throw', 'allow', 'deny', 'local'];
// How long a 'deny' fallback tells a caller to wait: about when the breaker, if any, tries again.
const DENY_RETRY_MS = 1000;

/** Options of one call. */
export interface LimitOptions {
  /** What the request costs, a positive integer (default 1). */
  cost?: number;
  /**
   * Counts under this scope instead of the limiter's app-wide count, e.g. a route ("POST /login"): the
   * same key in two scopes has two counts. Scopes are names, so every process counts a scope alike.
   */
  scope?: string;
}

/** Options of `peek`, `reset` and `keysFor`. */
export type ScopeOptions = Pick<LimitOptions, 'scope'>;

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
  /** Backend timeout in ms (the backend's own, when it has one). */
  readonly timeoutMs: number;
  /** What a call gets when the backend fails. */
  readonly onBackendError: BackendErrorPolicy;
  // Undefined when the backend bounds its own calls.
  private readonly deadlines: Deadlines | undefined;
  /** Where this limiter's state lives: its steps, namespaces and key names, handed to the backend. */
  readonly keyspace: Keyspace;
  private readonly members: readonly AlgorithmStep[];
  // A plain MemoryBackend: `limit` and `decide` ask it for the Decision itself.
  private readonly memory: MemoryBackend | undefined;
  // One keyspace per scope used so far; scopes are routes, so there are few of them.
  private readonly scopes = new Map<string, Keyspace>();
  private lastScope: string | undefined;
  private lastScoped: Keyspace | undefined;

  constructor(options: RateLimiterOptions) {
    const o = knownKeys(options, RATE_LIMITER_OPTION_KEYS, 'RateLimiter options');
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
    const backend: Backend = (o.backend as Backend | undefined) ?? new MemoryBackend();
    const own = backend.timeoutMs;
    const timeoutMs = o.timeoutMs ?? own ?? 1000;
    if (typeof timeoutMs !== 'number' || !Number.isSafeInteger(timeoutMs) || timeoutMs <= 0) {
      throw new InvalidOptionError('timeoutMs', timeoutMs, 'a positive integer number of milliseconds');
    }
    // Answering before the backend's deadline would leave a call free to charge after its answer.
    if (own !== undefined && timeoutMs < own) {
      throw new InvalidOptionError(
        'timeoutMs',
        timeoutMs,
        `unset here: the backend bounds its own calls by ${own} ms for every limiter sharing it (set timeoutMs on the backend)`,
      );
    }
    const policy = o.onBackendError ?? 'throw';
    if (!POLICIES.includes(policy as BackendErrorPolicy)) {
      throw new InvalidOptionError('onBackendError', policy, '"throw", "allow", "deny" or "local"');
    }
    this.onBackendError = policy as BackendErrorPolicy;
    this.algorithm = algorithm;
    this.backend = backend;
    this.prefix = prefix;
    this.timeoutMs = own ?? timeoutMs;
    this.members = algorithm.members;
    this.keyspace = new LimiterKeyspace(prefix, algorithm.members);
    this.deadlines = own === undefined ? new Deadlines(timeoutMs) : undefined;
    // A subclass may override evaluate, so only the class itself qualifies.
    const plain = Object.getPrototypeOf(backend) === MemoryBackend.prototype;
    this.memory = plain ? (backend as MemoryBackend) : undefined;
    if (this.onBackendError === 'local') backend.watchInstances?.(prefix);
  }

  /** Decides one request for `key`, charging `cost` if allowed. Never throws for being over the limit. */
  limit(key: string, options?: LimitOptions): Promise<Decision> {
    let decision: Decision | Promise<Decision>;
    try {
      if (options === undefined && this.memory !== undefined) {
        // The memory backend checks well-formedness itself, and only for a key it does not hold yet.
        checkKeyShape(key);
        return Promise.resolve(this.memory.decide(this.keyspace, key, 1));
      }
      decision = this.decideNow(key, costOf(options), false, options?.scope);
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
    if (options === undefined && this.memory !== undefined) {
      checkKeyShape(key);
      return this.memory.decide(this.keyspace, key, 1);
    }
    return this.decideNow(key, costOf(options), false, options?.scope);
  }

  /**
   * Like `decide`, in a keyspace the caller built (e.g. a tier and its rules, or another rate's steps) on
   * this limiter's backend, deadline and `onBackendError`; the Decision's `binding` indexes `space.members`.
   */
  decideIn(space: Keyspace, key: string, cost = 1, peek = false): Decision | Promise<Decision> {
    return this.decideInSpace(space, key, costOf({ cost }), peek);
  }

  /** Like `limit`, but rejects with RateLimitExceeded (carrying the Decision) when not allowed. */
  async consume(key: string, options?: LimitOptions): Promise<Decision> {
    const d = await this.decideNow(key, costOf(options), false, options?.scope);
    if (!d.allowed) throw new RateLimitExceeded(d);
    return d;
  }

  /** The Decision a cost-1 request would get now, spending nothing. */
  async peek(key: string, options?: ScopeOptions): Promise<Decision> {
    return this.decideNow(key, 1, true, options?.scope);
  }

  /**
   * Forgets everything counted for `key` (in `options.scope`, or the app-wide count). When the backend
   * fails: with 'local', the local count is forgotten and the backend's is left; with 'allow' nothing is
   * done; with 'throw' or 'deny' the call rejects.
   */
  async reset(key: string, options?: ScopeOptions): Promise<void> {
    checkKey(key);
    const space = this.space(options?.scope);
    try {
      await this.guard(this.backend.delete(space, key));
    } catch (error) {
      const policy = this.onBackendError;
      if (!(error instanceof BackendError) || policy === 'throw' || policy === 'deny') throw error;
      if (policy === 'local') localFallbackOf(this.backend).delete(space, key);
    }
  }

  /**
   * Decides in this process's memory on this instance's share of each limit (the limit divided by the
   * backend's `instanceCount()`, see `shareOf`), as `onBackendError: 'local'` does while the backend fails.
   */
  decideLocally(key: string, options?: LimitOptions, peek = false): Decision {
    return this.decideLocallyIn(this.space(options?.scope), key, costOf(options), peek);
  }

  /** `decideLocally` in a keyspace the caller built (see `decideIn`). */
  decideLocallyIn(space: Keyspace, key: string, cost = 1, peek = false): Decision {
    checkKey(key);
    const n = this.backend.instanceCount?.() ?? 1;
    const { members, outcomes } = localFallbackOf(this.backend).evaluate(space, key, cost, peek, n);
    return { ...combine(members, outcomes), fallback: 'local' };
  }

  /** The backend's `health()` (a CircuitBreaker's state, failures and latency), or undefined if it has none. */
  health(): BackendHealth | undefined {
    return this.backend.health?.();
  }

  /** The backend keys that hold `key`'s state, one per algorithm member. */
  keysFor(key: string, options?: ScopeOptions): string[] {
    checkKey(key);
    return this.space(options?.scope).keys(key);
  }

  /** The keyspace of one scope (the app-wide one when `scope` is undefined), built once per scope. */
  space(scope: string | undefined): Keyspace {
    if (scope === undefined) return this.keyspace;
    if (scope === this.lastScope) return this.lastScoped!;
    let space = this.scopes.get(scope);
    if (space === undefined) {
      // Checked once per scope, when its keyspace is built.
      space = new LimiterKeyspace(this.prefix, this.members, checkScope(scope));
      this.scopes.set(scope, space);
    }
    this.lastScope = scope;
    this.lastScoped = space;
    return space;
  }

  // The one path every decision takes: synchronous when the backend answers synchronously.
  private decideNow(
    key: string,
    cost: number,
    peek: boolean,
    scope: string | undefined,
  ): Decision | Promise<Decision> {
    return this.decideInSpace(this.space(scope), key, cost, peek);
  }

  private decideInSpace(
    space: Keyspace,
    key: string,
    cost: number,
    peek: boolean,
  ): Decision | Promise<Decision> {
    checkKey(key);
    const members = space.members;
    let result: readonly StepOutcome[] | Promise<readonly StepOutcome[]>;
    try {
      result = this.backend.evaluate(space, key, cost, peek);
    } catch (error) {
      // A breaker refuses synchronously; bugs (ClosedError, bad input) still throw.
      if (this.onBackendError === 'throw' || !(error instanceof BackendError)) throw error;
      return this.fallback(space, key, cost, peek);
    }
    if (Array.isArray(result)) return combine(members, result);
    // Promise.resolve returns a native promise as is, and still adopts a custom backend's thenable.
    const answered = Promise.resolve(this.guard(result));
    const decide = (outcomes: readonly StepOutcome[]) => combine(members, outcomes);
    if (this.onBackendError === 'throw') return answered.then(decide);
    // One `then` with both handlers, not `then` and `catch`: a promise less per decision. combine() never
    // throws a BackendError, so the fallback still answers exactly the backend's failures.
    return answered.then(decide, (error: unknown) => {
      if (!(error instanceof BackendError)) throw error;
      return this.fallback(space, key, cost, peek);
    });
  }

  // The decision onBackendError gives when the backend failed.
  private fallback(space: Keyspace, key: string, cost: number, peek: boolean): Decision {
    const policy = this.onBackendError;
    if (policy === 'local') return this.decideLocallyIn(space, key, cost, peek);
    const limit = space.members[0]!.limit;
    if (policy === 'allow') {
      return {
        allowed: true,
        limit,
        remaining: limit,
        resetAfterMs: 0,
        retryAfterMs: 0,
        binding: 0,
        fallback: 'allow',
      };
    }
    return {
      allowed: false,
      limit,
      remaining: 0,
      resetAfterMs: DENY_RETRY_MS,
      retryAfterMs: DENY_RETRY_MS,
      binding: 0,
      fallback: 'deny',
    };
  }

  // Bounds every backend call by timeoutMs, unless the backend bounds its own; synchronous backends skip it.
  private guard<T>(result: T | Promise<T>): Promise<T> | T {
    if (!(result instanceof Promise) || this.deadlines === undefined) return result;
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
  checkKeyShape(key);
  // Lone surrogates all encode to U+FFFD in a stored key name, so distinct keys would share one bucket.
  checkWellFormedKey(key);
}

// checkKey but for well-formedness, which the memory backend checks on a key it does not hold yet: the
// keys it holds were all checked, so the lookup it does anyway spares a scan of every key on every request.
function checkKeyShape(key: unknown): asserts key is string {
  if (typeof key !== 'string') throw new InvalidKeyError(key, 'a non-empty string');
  if (key.length === 0) throw new InvalidKeyError(key, 'a non-empty string');
  if (key.length > MAX_KEY_BYTES / 3 && Buffer.byteLength(key) > MAX_KEY_BYTES) {
    throw new InvalidKeyError(key, `at most ${MAX_KEY_BYTES} bytes (hash long identifiers first)`);
  }
}
