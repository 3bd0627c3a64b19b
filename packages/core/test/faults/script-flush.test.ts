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
  CONCURRENCY,
  checkCounts,
  failOnStrayOutput,
  keysOf,
  report,
  settle,
  subject,
} from './support.js';

// Issue 10: SCRIPT FLUSH every few ms under load. NOSCRIPT is the backend's to handle: no decision may
// fail or fall back (onBackendError 'throw' makes any failure a rejection), and the counts are exact.

let faulty: FaultyRedis;
beforeAll(async () => {
  faulty = await startFaultyRedis({ persist: false });
});
afterAll(async () => {
  await faulty?.close();
});
failOnStrayOutput();

describe.each(CLIENT_KINDS)('SCRIPT FLUSH under load (%s)', (kind) => {
  it('fails no decision and counts exactly', async () => {
    const tag = `flush-${kind === 'url' ? 'url' : 'own'}`;
    const s = subject(kind, faulty.url, tag, 'throw');
    const load = startLoad({ limiter: s.limiter, keys: keysOf('k', 8), concurrency: CONCURRENCY });
    try {
      expect(await until(() => load.totals().redisAllowed >= 200, 10_000)).toBe(true);
      const flusher = repeatFault(() => faulty.scriptFlush(), 10);
      await sleep(1000);
      const flushes = await flusher.stop();
      const before = load.totals().redisAllowed;
      expect(await until(() => load.totals().redisAllowed >= before + 200, 10_000)).toBe(true);
      const totals = await load.stop();

      expect(await settle(s, 1000)).toBe(true);
      const check = await checkCounts(faulty, s, load);
      report(`script-flush ${kind}`, s, totals, check, { flushes: flushes.runs });

      expect(flushes.failures).toBe(0);
      expect(totals.rejectedBy).toEqual({});
      expect(totals.fallbackBy).toEqual({});
      expect(check.under).toEqual([]);
      expect(check.overCount).toBe(0);
      expect(s.events).toEqual([]);
    } finally {
      await load.stop();
      await s.close();
    }
  });
});
