// Child process: our limiter on one algorithm vs rate-limiter-flexible, memory backend, alternating.
import { MemoryBackend, RateLimiter } from '@distlimiter/core';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { type Contender, alternate } from '../alternate.js';
import { childMain } from '../child-main.js';
import { algorithmNamed, PEER_DURATION_S, PEER_POINTS } from './algorithms.js';
import { makeKeys } from './keys.js';
import { oursLoop, type Tally, theirsLoop } from './loops.js';

/** What the child reports: decisions/s per round for each side, and refusals (must be 0). */
export interface MemoryChildResult {
  ours: number[];
  theirs: number[];
  refused: number;
}

childMain<MemoryChildResult>(async () => {
  const [name, warmupMs, rounds, roundMs, keyCount] = process.argv.slice(2);
  const keys = makeKeys(Number(keyCount));
  const ours = new RateLimiter({ algorithm: algorithmNamed(name!).make(), backend: new MemoryBackend() });
  const theirs = new RateLimiterMemory({ points: PEER_POINTS, duration: PEER_DURATION_S });
  const tally: Tally = { refused: 0 };
  const contenders: Contender[] = [
    { name: 'ours', run: (ms) => oursLoop(ours, keys, ms, tally) },
    { name: 'theirs', run: (ms) => theirsLoop(theirs, keys, ms, tally) },
  ];
  const samples = await alternate(contenders, {
    warmupMs: Number(warmupMs),
    rounds: Number(rounds),
    roundMs: Number(roundMs),
  });
  return { ours: samples.ours!, theirs: samples.theirs!, refused: tally.refused };
});
