import type { AlgorithmStep, StepOutcome } from '../algorithms/types.js';

/**
 * Where one limiter's state lives: its steps, one namespace per step, and how a client key maps to backend
 * key names. Built once per limiter, so backends can cache whatever they derive from it.
 */
export interface Keyspace {
  /** The steps to run together, one per namespace. */
  readonly members: readonly AlgorithmStep[];
  /** One namespace per member: the prefix and the algorithm with its parameters, e.g. "api:fw100.60000". */
  readonly names: readonly string[];
  /** Full key names for a client key, one per member, all in one Redis Cluster hash slot. */
  keys(key: string): string[];
}

/**
 * Stores state and runs algorithm steps atomically. A backend never names an algorithm: it runs whatever
 * steps the keyspace holds, one per key, and writes their states only if every step allowed the request.
 */
export interface Backend {
  /**
   * Runs every member of `space` on `key` as one atomic unit and returns their outcomes in order.
   * If all allow and `peek` is false, stores every new state with its TTL; otherwise writes nothing.
   */
  evaluate(
    space: Keyspace,
    key: string,
    cost: number,
    peek: boolean,
  ): readonly StepOutcome[] | Promise<readonly StepOutcome[]>;
  /** Forgets `key` in every namespace of `space`. */
  delete(space: Keyspace, key: string): void | Promise<void>;
  /** Releases what the backend owns (it never closes a client it was handed). */
  close(): Promise<void>;
  /** How the backend is doing, for backends that watch themselves (a CircuitBreaker); optional. */
  health?(): BackendHealth;
  /**
   * The deadline this backend bounds its own calls by, shared by every limiter on it (RedisBackend); a
   * limiter then adds no deadline of its own. Optional.
   */
  readonly timeoutMs?: number;
  /** Instances sharing this backend's state, which the local fallback divides limits by; optional (1). */
  instanceCount?(): number;
  /** Asks the backend to learn `instanceCount()` (a limiter with the local fallback, and its prefix); optional. */
  watchInstances?(prefix: string): void;
}

/** What a backend's `health()` reports: its breaker state, the last failure and recent latency. */
export interface BackendHealth {
  /** Calls go through (closed), are refused at once (open), or a few probe the backend (halfOpen). */
  state: 'closed' | 'open' | 'halfOpen';
  /** When this state began (clock ms; construction time while it has never moved). */
  since: number;
  /** Failures in a row, not broken by a success. */
  consecutiveFailures: number;
  /** The last failure of the backend, if any. */
  lastError?: { message: string; at: number };
  /** Latency of recent calls to the backend, failures included; 0 while there are no samples. */
  latencyMs: { p50: number; p99: number; samples: number };
}

/** A clock returning the current time in whole milliseconds; injected in tests to make time exact. */
export type Clock = () => number;

/** Whether `value` looks like a Backend, for validating options. */
export function isBackend(value: unknown): value is Backend {
  const b = value as Partial<Backend> | null;
  return (
    typeof b === 'object' &&
    b !== null &&
    typeof b.evaluate === 'function' &&
    typeof b.delete === 'function' &&
    typeof b.close === 'function'
  );
}
