// Child process for memory.test.ts: uses a MemoryBackend and never closes it. If the backend kept a timer
// alive, this process would never exit and the parent's hang guard would kill it.
import { fixedWindow, hybrid, MemoryBackend, RateLimiter, tokenBucket } from '../../src/index.js';

const backend = new MemoryBackend({ maxKeys: 100 });
const limiter = new RateLimiter({
  algorithm: hybrid(tokenBucket('10/s'), fixedWindow('100/minute')),
  backend,
});
let decisions = 0;
for (let i = 0; i < 500; i++) {
  await limiter.limit(`k${i % 7}`);
  decisions++;
}
await limiter.peek('k1');
await limiter.reset('k2');
process.stdout.write(`${JSON.stringify({ decisions, size: backend.size })}\n`);
