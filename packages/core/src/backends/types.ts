import type { AlgorithmStep, StepOutcome } from '../algorithms/types.js';

/**
 * Stores state and runs algorithm steps atomically. A backend never names an algorithm: it runs whatever
 * steps it is given, one per key, and writes their states only if every step allowed the request.
 */
export interface Backend {
  /**
   * Runs `members[i]` on `keys[i]` for every i as one atomic unit and returns their outcomes in order.
   * If all allow and `peek` is false, stores every new state with its TTL; otherwise writes nothing.
   */
  evaluate(
    keys: readonly string[],
    members: readonly AlgorithmStep[],
    cost: number,
    peek: boolean,
  ): readonly StepOutcome[] | Promise<readonly StepOutcome[]>;
  /** Forgets the given keys. */
  delete(keys: readonly string[]): void | Promise<void>;
  /** Releases what the backend owns (it never closes a client it was handed). */
  close(): Promise<void>;
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
