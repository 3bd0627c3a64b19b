import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type FaultyRedis,
  repeatFault,
  sleep,
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

// Issue 10: CLIENT KILL every few ms with commands in flight. A command whose connection drops may or
// may not have run; the backend may send it again, and Redis must never charge it twice. The only
// over-count allowed is a reply lost after the script ran and after the caller's deadline, which the
// backend reports as late replies.

let faulty: FaultyRedis;
beforeAll(async () => {
  faulty = await startFaultyRedis({ persist: false });
});
afterAll(async () => {
  await faulty?.close();
});
failOnStrayOutput();

const KILL_EVERY_MS = 7;
const KILLING_MS = 1500;

const VARIANTS = [
  { mode: 'allow', name: 'the default breaker', options: {} },
  { mode: 'allow', name: 'no breaker', options: { breaker: false } },
  { mode: 'throw', name: 'no breaker', options: { breaker: false } },
] as const;

describe.each(CLIENT_KINDS)(`CLIENT KILL every ${KILL_EVERY_MS} ms with commands in flight (%s)`, (kind) => {
  it.each(VARIANTS)('onBackendError $mode, $name: nothing charged twice', async ({ mode, name, options }) => {
    const tag = `kill-${kind === 'url' ? 'url' : 'own'}-${mode}-${name === 'no breaker' ? 'nb' : 'b'}`;
    const s = subject(kind, faulty.url, tag, mode, options);
    const load = startLoad({ limiter: s.limiter, keys: keysOf('k', 8), concurrency: CONCURRENCY });
    try {
      expect(await until(() => load.totals().redisAllowed >= 300, 10_000)).toBe(true);
      let dropped = 0;
      const killer = repeatFault(async () => {
        dropped += await faulty.clientKill();
      }, KILL_EVERY_MS);
      await sleep(KILLING_MS);
      const kills = await killer.stop();
      const before = load.totals().redisAllowed;
      expect(await until(() => load.totals().redisAllowed >= before + 300, 15_000)).toBe(true);
      const totals = await load.stop();

      expect(await settle(s, 1000), 'Redis decides again with the breaker closed').toBe(true);
      const health = s.backend.health();
      const check = await checkCounts(faulty, s, load);
      report(`client-kill ${kind} ${mode} ${name}`, s, totals, check, {
        kills: kills.runs,
        connectionsDropped: dropped,
        rejectedBeforeDeadline: totals.rejectedEarlyBy,
      });

      expect(kills.failures).toBe(0);
      expect(dropped, 'connections dropped by CLIENT KILL').toBeGreaterThan(0);
      if (mode === 'allow') {
        expect(totals.rejected, `rejections reached the caller: ${JSON.stringify(totals.rejectedBy)}`).toBe(
          0,
        );
      } else {
        // A call may fail before its deadline (its connection is known to be down), but not as a timeout:
        // BackendTimeoutError says the deadline passed.
        expect(
          totals.rejectedEarlyBy.BackendTimeoutError ?? 0,
          'calls rejected with BackendTimeoutError before their deadline',
        ).toBe(0);
      }
      // A dropped connection is back within a few ms, well before the deadline: a call whose reply was lost
      // is re-sent and answered by Redis with the answer it already gave. Only a call answered at its
      // deadline (no re-send got through in time) may have been charged without Redis's answer.
      expectCounts(check, health, {
        count: totals.atDeadline,
        what: 'calls answered without Redis at their deadline (a call answered sooner could still have been re-sent)',
      });
    } finally {
      await load.stop();
      await s.close();
    }
  });
});
