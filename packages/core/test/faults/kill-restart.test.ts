import { describe, expect, it } from 'vitest';
import { reportFigure, until } from '../../../testkit/src/index.js';
import { expectNoRejections, runUnderFault, useFaultyRedis } from './scenario.js';
import { CLIENT_KINDS, expectCounts } from './support.js';

// Issue 10: redis-server stopped and started again under load. The server keeps its data in an
// append-only file, so every charge Redis answered before the stop is still counted after it and the
// counts compare over the whole run.

const faulty = useFaultyRedis();

describe.each(CLIENT_KINDS)('kill and restart under load (%s)', (kind) => {
  it.each(['allow', 'local'] as const)(
    "onBackendError '%s': no rejection, exact counts, the breaker opens and closes, Redis decides again",
    async (mode) => {
      // RedisBackend's default timeoutMs (1000): the outage outlasts it.
      const outcome = await runUnderFault(faulty(), {
        name: `kill-restart ${kind} ${mode}`,
        kind,
        onBackendError: mode,
        async inject({ faulty, subject, load }) {
          await faulty.kill();
          const outage = await until(
            () => subject.backend.health().state === 'open' && load.totals().fallback >= 50,
            10_000,
          );
          expect(outage, 'the breaker opened and the fallback answered while Redis was down').toBe(true);
          const modeWhileDown = subject.backend.health().mode;

          await faulty.restart();
          const restartedAt = performance.now();
          const first = await load.waitFor((a) => a.source === 'redis' && a.startedAt >= restartedAt, 15_000);
          expect(first, 'a decision asked after the restart was answered by Redis').toBeDefined();
          return { backOnRedisMs: Math.round(first!.answeredAt - restartedAt), modeWhileDown };
        },
        figures: (injected) => injected,
      });
      reportFigure('time back on Redis after restart', { kind, mode, ms: outcome.figures.backOnRedisMs });

      expectNoRejections(outcome.totals);
      expect(Object.keys(outcome.totals.fallbackBy).every((k) => k.startsWith(`${mode}:`))).toBe(true);
      expect(outcome.health).toMatchObject({ state: 'closed', mode: 'redis' });
      const breakerEvents = outcome.events.filter((e) => e !== 'connectionError');
      expect(breakerEvents[0]).toBe('open');
      expect(breakerEvents.at(-1)).toBe('close');
      // Redis stays down longer than any deadline, so no re-send can get the reply the stop lost: the batches
      // in flight then may have run, and all the backend can do is report them (read back once it is up).
      expectCounts(outcome.check, outcome.health);
    },
  );
});
