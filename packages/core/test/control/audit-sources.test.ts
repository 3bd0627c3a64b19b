import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { AuditLog, type AuditRecord, auditSources } from '../../src/control/audit.js';
import { MemoryControlStore } from '../../src/control/memory-store.js';
import { fixedWindow, MemoryBackend, RateLimiter, RedisBackend } from '../../src/index.js';
import { createConfigSource } from '../../src/policy/source/config-source.js';
import { BOUND_MS, replaceFile, tempDir } from '../support/config-source-events.js';
import { issueDocument } from '../support/config-document.js';
import { type RedisInstance, startRedis } from '../support/testkit.js';

// Real sources only: a RedisBackend whose breaker opens because this file's own redis-server stops, and
// a ConfigSource watching a file that is rewritten. Waits are polls with a generous bound, never asserted.

let server: RedisInstance;
const temp = tempDir();
beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  server.resume();
  await server.stop();
  temp.remove();
});

/** An audit log in memory, with every record it emits. */
function audit() {
  const log = new AuditLog({ prefix: 'dl', store: new MemoryControlStore(), instance: 'i1' });
  const records: AuditRecord[] = [];
  log.on('event', (r) => records.push(r));
  return { log, records, types: () => records.map((r) => r.type) };
}

const poll = (check: () => boolean | Promise<boolean>) =>
  expect.poll(check, { timeout: BOUND_MS, interval: 20 }).toBe(true);

describe('auditSources', () => {
  test("a RedisBackend's breaker opening and closing becomes breakerOpened and breakerClosed", async () => {
    const backend = new RedisBackend({
      client: server.url,
      timeoutMs: 300,
      breaker: { failureThreshold: 2, openMs: 200 },
    });
    const limiter = new RateLimiter({ algorithm: fixedWindow('100/minute'), backend });
    const { log, records, types } = audit();
    const stop = auditSources(log, { backend });
    const attempt = () =>
      limiter.limit('u1').then(
        () => true,
        () => false,
      );
    try {
      expect(await attempt()).toBe(true);
      await server.stop();
      await poll(async () => {
        await attempt();
        return types().includes('breakerOpened');
      });
      expect(records.find((r) => r.type === 'breakerOpened')).toMatchObject({
        instance: 'i1',
        error: expect.any(String),
      });

      await server.restart();
      // The backend probes once its connection is ready again; a decision is the probe that closes it.
      await poll(async () => (await attempt()) && types().includes('breakerClosed'));
      expect(types().filter((t) => t.startsWith('breaker'))).toEqual(['breakerOpened', 'breakerClosed']);
      await log.flush();
      expect((await log.read(0)).map((r) => r.type)).toEqual(['breakerOpened', 'breakerClosed']);

      // Unwired: the next outage is not recorded.
      stop();
      backend.emit('open', new Error('later'));
      expect(types()).toEqual(['breakerOpened', 'breakerClosed']);
    } finally {
      stop();
      await backend.close();
      await log.close();
    }
  });

  test("a ConfigSource's reload and rejection of a rewritten file become configReloaded and configRejected", async () => {
    const file = path.join(temp.dir, 'distlimiter.json');
    const RAW = 'sk_live_rawkey_in_config_0123';
    const doc = issueDocument();
    replaceFile(file, JSON.stringify(doc));
    const source = createConfigSource({ file });
    const { log, records, types } = audit();
    const stop = auditSources(log, { config: source, backend: new MemoryBackend() });
    try {
      const changed = { ...doc, tiers: { ...doc.tiers, free: { rate: '11/minute' } } };
      replaceFile(file, JSON.stringify(changed));
      await poll(() => types().includes('configReloaded'));
      expect(records[0]).toEqual({
        type: 'configReloaded',
        version: source.current().version,
        at: expect.any(Number),
        instance: 'i1',
      });

      // Invalid: a key mapped to a tier that does not exist, and a bad rate.
      const broken = {
        ...doc,
        keys: { ...doc.keys, [RAW]: 'platinum' },
        tiers: { ...doc.tiers, pro: { rate: '10/minnute' } },
      };
      replaceFile(file, JSON.stringify(broken));
      await poll(() => types().includes('configRejected'));
      const rejected = records.find((r) => r.type === 'configRejected');
      expect(rejected?.type === 'configRejected' && rejected.problems.map((p) => p.path)).toEqual(
        expect.arrayContaining(['tiers.pro.rate']),
      );
      expect(rejected?.type === 'configRejected' && rejected.problems.length).toBeGreaterThanOrEqual(2);
      await log.flush();
      // The problem about the key names it masked, as the config's own errors do.
      expect(JSON.stringify(await log.read(0))).not.toContain(RAW);
      expect(JSON.stringify(records)).not.toContain(RAW);
    } finally {
      stop();
      await source.close();
      await log.close();
    }
  });
});
