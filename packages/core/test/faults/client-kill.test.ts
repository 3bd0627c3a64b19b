import { describe, expect, it } from 'vitest';
import { repeatFault, sleep } from '../../../testkit/src/index.js';
import { expectNoRejections, runUnderFault, useFaultyRedis } from './scenario.js';
import { CLIENT_KINDS, expectCounts } from './support.js';

// Issue 10: CLIENT KILL every few ms with commands in flight. A command whose connection drops may or
// may not have run; the backend may send it again, and Redis must never charge it twice. The only
// over-count allowed is a reply lost after the script ran and after the caller's deadline, which the
// backend reports as late replies.

const faulty = useFaultyRedis({ persist: false });

const KILL_EVERY_MS = 7;
const KILLING_MS = 1500;

const VARIANTS = [
  { mode: 'allow', name: 'the default breaker', options: {} },
  { mode: 'allow', name: 'no breaker', options: { breaker: false } },
  { mode: 'throw', name: 'no breaker', options: { breaker: false } },
] as const;

describe.each(CLIENT_KINDS)(`CLIENT KILL every ${KILL_EVERY_MS} ms with commands in flight (%s)`, (kind) => {
  it.each(VARIANTS)('onBackendError $mode, $name: nothing charged twice', async ({ mode, name, options }) => {
    const outcome = await runUnderFault(faulty(), {
      name: `client-kill ${kind} ${mode} ${name}`,
      kind,
      onBackendError: mode,
      backendOptions: options,
      recoveryBoundMs: 15_000,
      async inject({ faulty }) {
        let dropped = 0;
        const killer = repeatFault(async () => {
          dropped += await faulty.clientKill();
        }, KILL_EVERY_MS);
        await sleep(KILLING_MS);
        const kills = await killer.stop();
        return { ...kills, dropped };
      },
      figures: (kills, _load, totals) => ({
        kills: kills.runs,
        connectionsDropped: kills.dropped,
        rejectedBeforeDeadline: totals.rejectedEarlyBy,
      }),
    });
    const { totals, injected } = outcome;

    expect(injected.failures).toBe(0);
    expect(injected.dropped, 'connections dropped by CLIENT KILL').toBeGreaterThan(0);
    if (mode === 'allow') {
      expectNoRejections(totals);
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
    expectCounts(outcome.check, outcome.health, {
      count: totals.atDeadline,
      what: 'calls answered without Redis at their deadline (a call answered sooner could still have been re-sent)',
    });
  });
});
