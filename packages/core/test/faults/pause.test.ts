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

// Issue 10: CLIENT PAUSE holds every command on the server; when it lifts, Redis runs what was queued.
// Calls must be answered by their deadline without Redis, and none of what they asked for may be charged
// when the server resumes: the counts equal what Redis answered as allowed. Without a breaker every call
// of the pause reaches the server's queue, so a late charge would show by the hundred.

let faulty: FaultyRedis;
beforeAll(async () => {
  faulty = await startFaultyRedis({ persist: false });
});
afterAll(async () => {
  await faulty?.close();
});
failOnStrayOutput();

const TIMEOUT_MS = 300;
const PAUSE_MS = 1500;

const VARIANTS = [
  { mode: 'allow', name: 'a breaker open for 500 ms', options: { breaker: { openMs: 500 } } },
  { mode: 'local', name: 'no breaker', options: { breaker: false } },
] as const;

describe.each(CLIENT_KINDS)(
  `CLIENT PAUSE ${PAUSE_MS} ALL under load, timeoutMs ${TIMEOUT_MS} (%s)`,
  (kind) => {
    it.each(VARIANTS)(
      'onBackendError $mode, $name: answered without Redis during the pause, nothing charged when it lifts',
      async ({ mode, name, options }) => {
        const tag = `pause-${kind === 'url' ? 'url' : 'own'}-${mode}-${name === 'no breaker' ? 'nb' : 'b'}`;
        const s = subject(kind, faulty.url, tag, mode, { timeoutMs: TIMEOUT_MS, ...options });
        const load = startLoad({
          limiter: s.limiter,
          keys: keysOf('k', 8),
          concurrency: CONCURRENCY,
          deadlineMs: TIMEOUT_MS,
        });
        try {
          expect(await until(() => load.totals().redisAllowed >= 300, 10_000)).toBe(true);

          await faulty.clientPause(PAUSE_MS);
          // The server has answered OK: every command sent from now on waits for the pause to lift.
          const pausedAt = performance.now();
          // Ordering, not timing: a call asked during the pause is answered before the pause lifts.
          const during = await load.waitFor(
            (a) => a.source !== 'redis' && a.startedAt >= pausedAt,
            PAUSE_MS - 300,
          );
          expect(during, 'a call asked during the pause was answered before it lifted').toBeDefined();
          expect(during!.source).toBe(mode);

          const after = await load.waitFor(
            (a) => a.source === 'redis' && a.startedAt >= pausedAt + PAUSE_MS,
            15_000,
          );
          expect(after, 'Redis decides again after the pause').toBeDefined();
          const before = load.totals().redisAllowed;
          expect(await until(() => load.totals().redisAllowed >= before + 300, 10_000)).toBe(true);
          const totals = await load.stop();

          expect(await settle(s, TIMEOUT_MS), 'Redis decides again with the breaker closed').toBe(true);
          const health = s.backend.health();
          const check = await checkCounts(faulty, s, load);
          // Only a call sent before the pause took hold may have run and yet be answered without Redis.
          const inFlightAtPause = load.count((a) => a.source !== 'redis' && a.startedAt < pausedAt);
          report(`client-pause ${kind} ${mode} ${name}`, s, totals, check, {
            backOnRedisMs: Math.round(after!.answeredAt - (pausedAt + PAUSE_MS)),
            answeredWithoutRedisFromBeforeThePause: inFlightAtPause,
          });

          expect(totals.rejected, `rejections reached the caller: ${JSON.stringify(totals.rejectedBy)}`).toBe(
            0,
          );
          expect(health.state).toBe('closed');
          expectCounts(check, health, {
            count: inFlightAtPause,
            what: 'calls sent before the pause and answered without Redis',
          });
        } finally {
          await load.stop();
          await s.close();
        }
      },
    );
  },
);
