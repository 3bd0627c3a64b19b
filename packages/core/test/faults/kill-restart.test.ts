import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type FaultyRedis,
  reportFigure,
  startFaultyRedis,
  startLoad,
  until,
} from '../../../testkit/src/index.js';
import {
  CLIENT_KINDS,
  checkCounts,
  CONCURRENCY,
  expectCounts,
  failOnStrayOutput,
  keysOf,
  report,
  settle,
  subject,
} from './support.js';

// Issue 10: redis-server stopped and started again under load. The server keeps its data in an
// append-only file, so every charge Redis answered before the stop is still counted after it and the
// counts compare over the whole run.

let faulty: FaultyRedis;
beforeAll(async () => {
  faulty = await startFaultyRedis();
});
afterAll(async () => {
  await faulty?.close();
});
failOnStrayOutput();

const TIMEOUT_MS = 1000; // RedisBackend's default

describe.each(CLIENT_KINDS)('kill and restart under load (%s)', (kind) => {
  it.each(['allow', 'local'] as const)(
    "onBackendError '%s': no rejection, exact counts, the breaker opens and closes, Redis decides again",
    async (mode) => {
      const tag = `kr-${kind === 'url' ? 'url' : 'own'}-${mode}`;
      const s = subject(kind, faulty.url, tag, mode);
      const load = startLoad({ limiter: s.limiter, keys: keysOf('k', 8), concurrency: CONCURRENCY });
      try {
        expect(await until(() => load.totals().redisAllowed >= 300, 10_000)).toBe(true);

        await faulty.kill();
        const outage = await until(
          () => s.backend.health().state === 'open' && load.totals().fallback >= 50,
          10_000,
        );
        expect(outage, 'the breaker opened and the fallback answered while Redis was down').toBe(true);
        const modeWhileDown = s.backend.health().mode;

        await faulty.restart();
        const restartedAt = performance.now();
        const first = await load.waitFor((a) => a.source === 'redis' && a.startedAt >= restartedAt, 15_000);
        expect(first, 'a decision asked after the restart was answered by Redis').toBeDefined();
        const backOnRedisMs = Math.round(first!.answeredAt - restartedAt);
        const before = load.totals().redisAllowed;
        expect(await until(() => load.totals().redisAllowed >= before + 300, 10_000)).toBe(true);
        const totals = await load.stop();

        expect(await settle(s, TIMEOUT_MS), 'Redis decides again with the breaker closed').toBe(true);
        const health = s.backend.health();
        const check = await checkCounts(faulty, s, load);
        report(`kill-restart ${kind} ${mode}`, s, totals, check, { backOnRedisMs, modeWhileDown });
        reportFigure('time back on Redis after restart', { kind, mode, ms: backOnRedisMs });

        expect(totals.rejected, `rejections reached the caller: ${JSON.stringify(totals.rejectedBy)}`).toBe(
          0,
        );
        expect(Object.keys(totals.fallbackBy).every((k) => k.startsWith(`${mode}:`))).toBe(true);
        expect(health).toMatchObject({ state: 'closed', mode: 'redis' });
        const breakerEvents = s.events.filter((e) => e !== 'connectionError');
        expect(breakerEvents[0]).toBe('open');
        expect(breakerEvents.at(-1)).toBe('close');
        // Redis stays down longer than any deadline, so no re-send can get the reply the stop lost: the batches
        // in flight then may have run, and all the backend can do is report them (read back once it is up).
        expectCounts(check, health);
      } finally {
        await load.stop();
        await s.close();
      }
    },
  );
});
