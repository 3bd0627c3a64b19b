import type { Clock } from '../../src/index.js';

/** Any fixed instant works; a realistic epoch value keeps timestamps the size production sees. */
export const T0 = 1_700_000_000_000;

/** A clock the test moves by hand, so every decision is exact and nothing waits for real time. */
export class FakeClock {
  /** The current time in ms. */
  now: number;
  /** Where the clock started; `at` counts from here. */
  readonly start: number;
  /** Pass this to a backend's `clock` option. */
  readonly read: Clock = () => this.now;

  constructor(start = T0) {
    this.start = start;
    this.now = start;
  }

  /** Moves time forward by `ms`. */
  advance(ms: number): void {
    this.now += ms;
  }

  /** Sets time to `start + offset`, for scripts written as offsets from the first request. */
  at(offset: number): void {
    this.now = this.start + offset;
  }
}
