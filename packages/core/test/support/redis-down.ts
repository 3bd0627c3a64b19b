// Child process for redis-down.test.ts: a RedisBackend built from a URL to a port nobody listens on.
// `errors` makes a few decisions, lets ioredis retry for a while, closes and reports the events it saw;
// `close` only closes and prints when, so the parent can time how long the process lingers after.
import { fixedWindow, RateLimiter, RedisBackend } from '../../src/index.js';

const [mode, port] = process.argv.slice(2);
const backend = new RedisBackend({ client: `redis://127.0.0.1:${port}` });

if (mode === 'errors') {
  const events: string[] = [];
  // Guarded so this child still runs (and shows the stderr it gets) against a backend with no events.
  const emitter = backend as unknown as { on?: (name: string, fn: (e: Error) => void) => void };
  emitter.on?.('connectionError', (error) => events.push(error.message));
  const limiter = new RateLimiter({ algorithm: fixedWindow('10/s'), backend });
  const outcomes: string[] = [];
  for (let i = 0; i < 3; i++) {
    await limiter.limit(`k${i}`).then(
      () => outcomes.push('answered'),
      () => outcomes.push('rejected'),
    );
  }
  // Long enough for several reconnect attempts (ioredis waits 50, 100, 150 ms between them).
  await new Promise((resolve) => setTimeout(resolve, 300));
  await backend.close();
  process.stdout.write(`${JSON.stringify({ outcomes, events })}\n`);
} else {
  // Closes while ioredis waits to retry, as an app shutting down during a start-up outage would.
  await new Promise((resolve) => backend.client.once('reconnecting', resolve));
  const start = Date.now();
  await backend.close();
  const closed = Date.now();
  // What could still hold the process open once timers due now have run: a socket or a pending timer
  // (ioredis's 2 s disconnect timer was one). Read just after this timer's callback, once it is no longer live.
  const resources = await new Promise<string[]>((resolve) =>
    setTimeout(() => setImmediate(() => resolve(process.getActiveResourcesInfo())), 10),
  );
  // The only output: also when close() was called and when it resolved, on the clock the parent shares.
  process.stdout.write(`${JSON.stringify({ start, closed, resources })}\n`);
}
