import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FaultyRedis, startFaultyRedis, startLoad, until } from '../../../testkit/src/index.js';
import {
  CLIENT_KINDS,
  CONCURRENCY,
  checkCounts,
  expectCounts,
  failOnStrayOutput,
  keysOf,
  report,
  settle,
  subject,
} from './support.js';

// Issue 10: DEBUG SLEEP blocks the whole server (redis-server started with --enable-debug-command local);
// the commands sent meanwhile wait in its socket buffers and run when it wakes. As with CLIENT PAUSE, the
// calls are answered without Redis by their deadline and none of them is charged when it wakes. Scripts
// that ran in the same turn as DEBUG SLEEP have their replies held until it wakes: those charges are
// permitted, and the backend must report them as late replies.

let faulty: FaultyRedis;
beforeAll(async () => {
  faulty = await startFaultyRedis({ persist: false });
});
afterAll(async () => {
  await faulty?.close();
});
failOnStrayOutput();

const TIMEOUT_MS = 300;
// A command sent this long after DEBUG SLEEP reaches the server after it (the server reads the admin's
// socket within one turn of its event loop, well under a millisecond here): only calls asked before may
// have run before the sleep. Generous on purpose; it only widens what is permitted.
const ORDER_MARGIN_MS = 50;

const VARIANTS = [
  { mode: 'local', name: 'a breaker open for 500 ms', options: { breaker: { openMs: 500 } } },
  { mode: 'allow', name: 'no breaker', options: { breaker: false } },
] as const;

describe.each(CLIENT_KINDS)(`DEBUG SLEEP 1 under load, timeoutMs ${TIMEOUT_MS} (%s)`, (kind) => {
  it.each(VARIANTS)(
    'onBackendError $mode, $name: answered without Redis while it sleeps, nothing charged when it wakes',
    async ({ mode, name, options }) => {
      const tag = `sleep-${kind === 'url' ? 'url' : 'own'}-${mode}-${name === 'no breaker' ? 'nb' : 'b'}`;
      const s = subject(kind, faulty.url, tag, mode, { timeoutMs: TIMEOUT_MS, ...options });
      const load = startLoad({
        limiter: s.limiter,
        keys: keysOf('k', 8),
        concurrency: CONCURRENCY,
        deadlineMs: TIMEOUT_MS,
      });
      try {
        expect(await until(() => load.totals().redisAllowed >= 300, 10_000)).toBe(true);

        const sleptAt = performance.now();
        const sleeping = faulty.debugSleep(1);
        // Ordering, not timing: a call asked while the server sleeps is answered before it wakes.
        const during = await load.waitFor((a) => a.source !== 'redis' && a.startedAt >= sleptAt, 800);
        await sleeping;
        const wokeAt = performance.now();
        expect(during, 'a call asked while the server slept was answered before it woke').toBeDefined();
        expect(during!.source).toBe(mode);

        const after = await load.waitFor((a) => a.source === 'redis' && a.startedAt >= wokeAt, 15_000);
        expect(after, 'Redis decides again after the sleep').toBeDefined();
        const before = load.totals().redisAllowed;
        expect(await until(() => load.totals().redisAllowed >= before + 300, 10_000)).toBe(true);
        const totals = await load.stop();

        expect(await settle(s, TIMEOUT_MS), 'Redis decides again with the breaker closed').toBe(true);
        const health = s.backend.health();
        const check = await checkCounts(faulty, s, load);
        const inFlightAtSleep = load.count(
          (a) => a.source !== 'redis' && a.startedAt < sleptAt + ORDER_MARGIN_MS,
        );
        report(`debug-sleep ${kind} ${mode} ${name}`, s, totals, check, {
          backOnRedisMs: Math.round(after!.answeredAt - wokeAt),
          answeredWithoutRedisFromBeforeTheSleep: inFlightAtSleep,
        });

        expect(totals.rejected, `rejections reached the caller: ${JSON.stringify(totals.rejectedBy)}`).toBe(
          0,
        );
        expect(health.state).toBe('closed');
        expectCounts(check, health, {
          count: inFlightAtSleep,
          what: 'calls sent before the sleep and answered without Redis',
        });
      } finally {
        await load.stop();
        await s.close();
      }
    },
  );
});
