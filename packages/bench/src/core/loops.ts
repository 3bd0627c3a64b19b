import type { RateLimiter } from '@distlimiter/core';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';

// Decisions between two clock reads: large enough that reading the clock costs nothing measurable.
const BATCH = 1000;

/** Counts refusals, which a throughput run must never see: a refused call can be cheaper than an allowed one. */
export interface Tally {
  refused: number;
}

// The two loops are deliberately separate functions with identical bodies: a shared loop would make its
// call site polymorphic, and the second contender would pay for the first one's presence.

/** Decisions per second of our limiter, one decision in flight, cycling through `keys`. */
export async function oursLoop(
  limiter: RateLimiter,
  keys: readonly string[],
  ms: number,
  tally: Tally,
): Promise<number> {
  const start = performance.now();
  const end = start + ms;
  let now = start;
  let n = 0;
  let i = 0;
  do {
    for (let j = 0; j < BATCH; j++) {
      const d = await limiter.limit(keys[i]!);
      if (!d.allowed) tally.refused++;
      if (++i === keys.length) i = 0;
    }
    n += BATCH;
    now = performance.now();
  } while (now < end);
  return n / ((now - start) / 1000);
}

/** Decisions per second of rate-limiter-flexible, one decision in flight, cycling through `keys`. */
export async function theirsLoop(
  limiter: RateLimiterAbstract,
  keys: readonly string[],
  ms: number,
  _tally: Tally,
): Promise<number> {
  const start = performance.now();
  const end = start + ms;
  let now = start;
  let n = 0;
  let i = 0;
  do {
    for (let j = 0; j < BATCH; j++) {
      // consume() rejects when refused, which would end the run: refusals cannot go unnoticed here.
      await limiter.consume(keys[i]!);
      if (++i === keys.length) i = 0;
    }
    n += BATCH;
    now = performance.now();
  } while (now < end);
  return n / ((now - start) / 1000);
}

/**
 * Decisions per second with `inFlight` decisions outstanding at all times from this one process: that
 * many workers, each starting its next call as soon as its last one settles.
 */
export async function concurrentLoop(
  call: (key: string) => Promise<unknown>,
  keys: readonly string[],
  ms: number,
  inFlight: number,
): Promise<number> {
  const start = performance.now();
  const end = start + ms;
  let n = 0;
  let i = 0;
  const worker = async () => {
    while (performance.now() < end) {
      const key = keys[i]!;
      if (++i === keys.length) i = 0;
      await call(key);
      n++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return n / ((performance.now() - start) / 1000);
}
