// Child process: JS heap bytes per key held in memory, for one side, with a forced GC before each reading.
import { MemoryBackend, RateLimiter } from '@distlimiter/core';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { childMain } from '../child-main.js';
import { algorithmNamed, PEER_DURATION_S, PEER_POINTS } from './algorithms.js';
import { makeKeys } from './keys.js';

const gc = (globalThis as { gc?: () => void }).gc;

function settledHeap(): number {
  // Twice: the first pass may only schedule finalisation work that the second one reclaims.
  gc!();
  gc!();
  return process.memoryUsage().heapUsed;
}

/** Bytes per key for each round. */
export type HeapChildResult = number[];

childMain<HeapChildResult>(async () => {
  if (!gc) throw new Error('heap per key needs node --expose-gc (see packages/bench/package.json)');
  const [side, keyCount, rounds] = process.argv.slice(2);
  const n = Number(keyCount);
  const samples: number[] = [];
  for (let r = 0; r < Number(rounds); r++) {
    // Fresh key strings each round, so the count includes the key each side keeps.
    let keys: string[] | undefined = makeKeys(n, `heap${r}`);
    const before = settledHeap();
    let held: unknown;
    if (side === 'peer') {
      const rlf = new RateLimiterMemory({ points: PEER_POINTS, duration: PEER_DURATION_S });
      for (const k of keys) await rlf.consume(k);
      held = rlf;
    } else {
      const limiter = new RateLimiter({
        algorithm: algorithmNamed(side!).make(),
        backend: new MemoryBackend(),
      });
      for (const k of keys) await limiter.limit(k);
      held = limiter;
    }
    // The caller's key strings are the caller's; only what the limiter retains should count.
    keys = undefined;
    const after = settledHeap();
    samples.push((after - before) / n);
    if (!held) throw new Error('unreachable');
    held = undefined;
  }
  return samples;
});
