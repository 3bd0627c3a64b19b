import { describe, expect, it } from 'vitest';
import { repeatFault, sleep } from '../../../testkit/src/index.js';
import { runUnderFault, useFaultyRedis } from './scenario.js';
import { CLIENT_KINDS } from './support.js';

// Issue 10: SCRIPT FLUSH every few ms under load. NOSCRIPT is the backend's to handle: no decision may
// fail or fall back (onBackendError 'throw' makes any failure a rejection), and the counts are exact.

const faulty = useFaultyRedis({ persist: false });

describe.each(CLIENT_KINDS)('SCRIPT FLUSH under load (%s)', (kind) => {
  it('fails no decision and counts exactly', async () => {
    const outcome = await runUnderFault(faulty(), {
      name: `script-flush ${kind}`,
      kind,
      onBackendError: 'throw',
      steady: 200,
      async inject({ faulty }) {
        const flusher = repeatFault(() => faulty.scriptFlush(), 10);
        await sleep(1000);
        return flusher.stop();
      },
      figures: (flushes) => ({ flushes: flushes.runs }),
    });

    expect(outcome.injected.failures).toBe(0);
    expect(outcome.totals.rejectedBy).toEqual({});
    expect(outcome.totals.fallbackBy).toEqual({});
    expect(outcome.check.under).toEqual([]);
    expect(outcome.check.overCount).toBe(0);
    expect(outcome.events).toEqual([]);
  });
});
