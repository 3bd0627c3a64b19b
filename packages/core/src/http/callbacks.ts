import { Deadlines } from '../deadlines.js';
import { CallbackTimeoutError, InvalidCostError } from '../errors.js';
import type { HttpSettings } from './options.js';
import { isPositiveInteger } from './options.js';
import type { HttpRequest } from './types.js';

/** Reports a user callback that misbehaved on a request; the request goes on with the documented fallback. */
export type ReportConfigError = (callback: string, error: Error, request: HttpRequest) => void;

/**
 * Runs the user's skip and cost callbacks (and bounds any async callback) with their documented fallbacks,
 * so a bug in one is reported instead of failing or hanging the request.
 */
export class Callbacks {
  // Bounds async callbacks (keyBy, skip, cost, message) by the limiter's timeoutMs, so a hung lookup in one
  // of them cannot hang the request.
  private readonly deadlines: Deadlines;

  constructor(
    private readonly settings: HttpSettings,
    private readonly timeoutMs: number,
    private readonly report: ReportConfigError,
  ) {
    this.deadlines = new Deadlines(timeoutMs);
  }

  /** A callback's promise, rejected with CallbackTimeoutError if it has not settled within timeoutMs. */
  bounded<T>(callback: string, work: PromiseLike<T>): Promise<T> {
    return this.deadlines.race(work, () => new CallbackTimeoutError(callback, this.timeoutMs));
  }

  /** Reports `cause` as a misbehaving `callback`. */
  failed(callback: string, cause: unknown, request: HttpRequest): void {
    this.report(callback, toError(cause), request);
  }

  /** Whether to skip; a skip() that throws or rejects counts the request (failing open would let a bug disable limiting). */
  shouldSkip(request: HttpRequest): boolean | Promise<boolean> {
    let skip: unknown;
    try {
      skip = this.settings.skip!(request);
    } catch (error) {
      this.failed('skip', error, request);
      return false;
    }
    if (!isPromiseLike(skip)) return Boolean(skip);
    return this.bounded('skip', skip).then(Boolean, (error: unknown) => {
      this.failed('skip', error, request);
      return false;
    });
  }

  /** What the request costs; a bad value or a throw charges 1 and is reported. */
  cost(request: HttpRequest): number | Promise<number> {
    const cost = this.settings.cost;
    if (typeof cost === 'number') return cost;
    let value: unknown;
    try {
      value = cost(request);
    } catch (error) {
      this.failed('cost', error, request);
      return 1;
    }
    if (isPromiseLike(value)) {
      return this.bounded('cost', value).then(
        (v) => this.checkCost(v, request),
        (error: unknown) => {
          this.failed('cost', error, request);
          return 1;
        },
      );
    }
    return this.checkCost(value, request);
  }

  // A bad cost is a bug in the app, not in the request: the request is charged the default cost 1 (so it
  // is still limited) and the bug is reported rather than failing the request.
  private checkCost(value: unknown, request: HttpRequest): number {
    if (isPositiveInteger(value)) return value;
    this.failed('cost', new InvalidCostError(value), request);
    return 1;
  }
}

/** Whether `value` is a promise or another thenable. */
export function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    value instanceof Promise ||
    (typeof value === 'object' &&
      value !== null &&
      typeof (value as PromiseLike<unknown>).then === 'function')
  );
}

/** `value` as an Error, wrapping anything else that was thrown. */
export function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
