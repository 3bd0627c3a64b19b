// Child process for multiprocess.test.ts: connects, says "ready", waits for "go" on stdin, then fires
// `calls` concurrent limit() calls for one shared key per algorithm and prints how many were allowed.
import { Redis } from 'ioredis';
import { RedisBackend, RateLimiter } from '../../src/index.js';
import { exactAlgorithms } from './exact-algorithms.js';

const { url, db, calls } = JSON.parse(process.argv[2]!) as { url: string; db: number; calls: number };
const client = new Redis(url, { db });
// No clock: time comes from Redis TIME, as in production.
// The timeout is generous because thousands of calls queue on one Redis at once; exactness is the point.
const backend = new RedisBackend({ client, timeoutMs: 60_000 });
const limiters = Object.entries(exactAlgorithms()).map(
  ([name, algorithm]) =>
    // A prefix per algorithm: the hybrid's members must not share keys with the same rules used alone.
    [name, new RateLimiter({ algorithm, backend, prefix: `mp-${name}` })] as const,
);
await client.ping();
process.stdout.write('ready\n');
await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
const counts: Record<string, { allowed: number; refused: number }> = {};
await Promise.all(
  limiters.map(async ([name, limiter]) => {
    const decisions = await Promise.all(Array.from({ length: calls }, () => limiter.limit('shared')));
    const allowed = decisions.filter((d) => d.allowed).length;
    counts[name] = { allowed, refused: decisions.length - allowed };
  }),
);
process.stdout.write(`${JSON.stringify(counts)}\n`);
await client.quit();
process.stdin.destroy();
