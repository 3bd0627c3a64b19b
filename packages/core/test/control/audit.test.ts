import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, test } from 'vitest';
import { freePort } from '../../../testkit/src/redis-server.js';
import { AuditLog, type AuditOptions, type AuditRecord, keyHint } from '../../src/control/audit.js';
import { auditPath } from '../../src/control/audit-events.js';
import { MemoryControlStore } from '../../src/control/memory-store.js';
import { RedisControlStore } from '../../src/control/redis-store.js';
import type { ControlStore } from '../../src/control/store.js';
import { InvalidOptionError } from '../../src/errors.js';
import { redisUrlForTests, reportFigure } from '../support/testkit.js';

// One behaviour over every stream sink: a memory store, a real Redis (a fresh prefix per test), and no
// store at all (the in-memory ring). Nothing here waits on time but the ms that separates two stream ids.

const client = new Redis(redisUrlForTests());
const opened: (ControlStore | AuditLog)[] = [];
afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
  await client.quit();
});

const sinks: [string, (() => ControlStore) | undefined][] = [
  ['memory store', () => new MemoryControlStore()],
  ['redis store', () => new RedisControlStore(client)],
  ['no store (ring)', undefined],
];

/** An AuditLog under a fresh prefix on the sink, with its logger's lines and its events collected. */
function auditOn(makeStore: (() => ControlStore) | undefined, more: Partial<AuditOptions> = {}) {
  const store = makeStore?.();
  if (store) opened.push(store);
  const lines: string[] = [];
  const events: AuditRecord[] = [];
  const log = new AuditLog({
    store,
    prefix: `t${randomUUID().slice(0, 8)}`,
    instance: 'test-1',
    logger: (line) => lines.push(line),
    ...more,
  });
  opened.push(log);
  log.on('event', (r) => events.push(r));
  return { log, lines, events, store };
}

const msOf = (id: string | undefined) => Number(id!.split('-')[0]);
const nextMs = async () => {
  const t = Date.now();
  while (Date.now() <= t + 1) await new Promise((r) => setTimeout(r, 1));
};

describe.each(sinks)('AuditLog with %s', (_, makeStore) => {
  test('record emits at once, logs one JSON line and reads back, oldest first', async () => {
    const { log, lines, events } = auditOn(makeStore);
    log.record({ type: 'invalidKey', keyHint: keyHint('sk_live_abcdefgh') }, '203.0.113.7');
    log.record({
      type: 'ipBlocked',
      ip: '203.0.113.7',
      untilMs: 1_900_000_000_000,
      offence: 2,
      reason: 'invalid-keys',
    });
    log.record(
      { type: 'adminWrite', token: 'ops', method: 'POST', path: '/admin/rules', status: 201 },
      '10.0.0.1',
    );
    log.record({ type: 'configReloaded', version: 'abc123' });

    // Emitted synchronously, stamped; nothing logged yet: sinks run in the background.
    expect(events.map((e) => e.type)).toEqual(['invalidKey', 'ipBlocked', 'adminWrite', 'configReloaded']);
    expect(lines).toEqual([]);
    expect(events[0]).toMatchObject({
      instance: 'test-1',
      ip: '203.0.113.7',
      keyHint: expect.stringMatching(/^sk_l…[0-9a-f]{8}$/),
    });
    expect(events[0]!.at).toBeTypeOf('number');
    expect(events[2]).toMatchObject({ ip: '10.0.0.1', token: 'ops', status: 201 });
    expect(events[3]!.ip).toBeUndefined();

    await log.flush();
    expect(lines).toHaveLength(4);
    for (const [i, line] of lines.entries()) {
      expect(line).not.toContain('\n');
      expect(JSON.parse(line)).toEqual(events[i]);
    }
    const back = await log.read(0);
    expect(back.map(({ id, ...r }) => r)).toEqual(events);
    expect(back.every((r) => /^\d+-\d+$/.test(r.id!))).toBe(true);
    expect(log.dropped).toBe(0);
  });

  test('read filters by time written and caps the count', async () => {
    const { log } = auditOn(makeStore, { maxQueue: 2000, streamMaxLen: 5000 });
    for (let i = 0; i < 3; i++) log.record({ type: 'loadState', state: `s${i}` });
    await log.flush();
    await nextMs();
    log.record({ type: 'loadState', state: 'later' });
    await log.flush();
    const all = await log.read(0);
    expect(all.map((r) => (r.type === 'loadState' ? r.state : ''))).toEqual(['s0', 's1', 's2', 'later']);
    const since = msOf(all[3]!.id);
    expect(since).toBeGreaterThan(msOf(all[2]!.id));
    expect((await log.read(since)).map((r) => r.id)).toEqual([all[3]!.id]);
    expect(await log.read(since + 60_000)).toEqual([]);
    expect((await log.read(0, 2)).map((r) => r.id)).toEqual([all[0]!.id, all[1]!.id]);

    for (let i = 0; i < 1005; i++) log.record({ type: 'breakerClosed' });
    await log.flush();
    expect(await log.read(0, 5000)).toHaveLength(1000);
    expect(await log.read(0)).toHaveLength(100);
    expect(await log.read(Number.NaN, Number.NaN)).toHaveLength(100);
  });

  test('the stream is capped at about streamMaxLen, keeping the newest', async () => {
    const { log, store } = auditOn(makeStore, { streamMaxLen: 100, maxQueue: 1000, logger: false });
    for (let i = 0; i < 1000; i++) log.record({ type: 'loadState', state: String(i) });
    await log.flush();
    const kept = await log.read(0, 1000);
    // XADD MAXLEN ~ trims whole nodes of the stream (100 entries each by default): about, never fewer.
    expect(kept.length).toBeGreaterThanOrEqual(100);
    expect(kept.length).toBeLessThan(300);
    if (store?.kind !== 'redis') expect(kept).toHaveLength(100);
    expect(kept.at(-1)).toMatchObject({ type: 'loadState', state: '999' });
    expect(log.dropped).toBe(0);
  });

  test('a burst past the queue drops and counts, and record() stays synchronous', async () => {
    const { log, lines, events } = auditOn(makeStore, { maxQueue: 100 });
    const started = performance.now();
    for (let i = 0; i < 100_000; i++)
      log.record({ type: 'invalidKey', keyHint: keyHint(`key-${i}`) }, '198.51.100.1');
    reportFigure('audit record() burst', { records: 100_000, ms: Math.round(performance.now() - started) });
    // Nothing was delivered during the loop: the sinks never ran inside record().
    expect(events).toHaveLength(100_000);
    expect(lines).toHaveLength(0);
    const sinkCount = makeStore === undefined ? 1 : 2;
    expect(log.pending).toBe(100 * sinkCount);
    expect(log.dropped).toBe(99_900 * sinkCount);
    expect(log.dropCounts).toMatchObject({ loggerQueueFull: 99_900, loggerFailed: 0, streamFailed: 0 });
    await log.flush();
    expect(log.pending).toBe(0);
    expect(lines).toHaveLength(100);
    expect(await log.read(0, 1000)).toHaveLength(makeStore === undefined ? 1000 : 100);
  });
});

describe('AuditLog failures are contained', () => {
  test('a store on a Redis that is not there: stream writes dropped and counted, nothing thrown', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    const dead = new Redis(`redis://127.0.0.1:${await freePort()}`, {
      lazyConnect: true,
      maxRetriesPerRequest: 1,
    });
    dead.on('error', () => undefined);
    try {
      const { log, lines } = auditOn(() => new RedisControlStore(dead, 200));
      for (let i = 0; i < 10; i++) log.record({ type: 'breakerOpened', error: 'ECONNREFUSED' });
      await log.flush();
      expect(log.dropCounts.streamFailed).toBe(10);
      expect(log.dropped).toBe(10);
      // The logger is a sink of its own: the stream's failure costs it nothing.
      expect(lines).toHaveLength(10);
      // While failing, records wait for a probe; a flush gives them up, counted.
      log.record({ type: 'breakerClosed' });
      await log.flush();
      expect(log.dropCounts.streamFailed).toBe(11);
      await expect(log.read(0)).rejects.toThrow();
      await log.close();
      log.record({ type: 'breakerClosed' });
      expect(log.dropCounts.refused).toBe(1);
    } finally {
      dead.disconnect();
    }
    await new Promise((r) => setTimeout(r, 50));
    process.off('unhandledRejection', onUnhandled);
    expect(unhandled).toEqual([]);
  });

  test('a throwing logger, a throwing listener and a rejecting listener are contained', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    const log = new AuditLog({
      prefix: 'x',
      store: new MemoryControlStore(),
      logger: () => {
        throw new Error('logger down');
      },
    });
    const heard: string[] = [];
    log.on('event', () => {
      throw new Error('listener bug');
    });
    log.on('event', async () => {
      throw new Error('async listener bug');
    });
    log.on('event', (r) => heard.push(r.type));
    log.record({ type: 'breakerClosed' });
    log.record({ type: 'nonsense' } as never);
    expect(heard).toEqual(['breakerClosed']);
    await log.flush();
    expect(log.dropCounts).toMatchObject({ loggerFailed: 1, refused: 1, streamFailed: 0 });
    expect(await log.read(0)).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 20));
    process.off('unhandledRejection', onUnhandled);
    expect(unhandled).toEqual([]);
    await log.close();
  });

  test('bad options throw InvalidOptionError naming the option', () => {
    expect(() => new AuditLog({ prefix: '' })).toThrow(InvalidOptionError);
    expect(() => new AuditLog({ prefix: 'p', maxQueue: 0 })).toThrow(/maxQueue/);
    expect(() => new AuditLog({ prefix: 'p', store: {} as never })).toThrow(/store/);
    expect(() => new AuditLog({ prefix: 'p', logger: 'console' as never })).toThrow(/logger/);
    expect(() => new AuditLog({ prefix: 'p', streamMaxlen: 5 } as never)).toThrow(/streamMaxLen/);
    expect(new AuditLog({ prefix: 'p' }).instance).toMatch(/:\d+$/);
  });
});

describe('no full API key in any record', () => {
  const RAW = 'sk_live_SUPERSECRET_0123456789abcdef';
  const HEX = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08';

  test('keyHint shows at most 4 characters, a quarter of a short key, and 8 hex digits of the hash', () => {
    expect(keyHint(RAW)).toMatch(/^sk_l…[0-9a-f]{8}$/);
    expect(keyHint('abcdefgh')).toMatch(/^ab…[0-9a-f]{8}$/);
    expect(keyHint('abc')).toMatch(/^…[0-9a-f]{8}$/);
    expect(keyHint(RAW)).not.toBe(keyHint(`${RAW}x`));
    expect(auditPath(`/admin/keys/${encodeURIComponent(RAW)}/reset?key=${RAW}`)).toBe(
      `/admin/keys/${keyHint(RAW)}/reset`,
    );
    expect(auditPath(`/admin/keys/sha256:${HEX}`)).toBe('/admin/keys/sha256:9f86d081…');
    expect(auditPath('/admin/tiers/free')).toBe('/admin/tiers/free');
  });

  test.each(sinks)('nothing emitted, logged or stored holds the key (%s)', async (_, makeStore) => {
    const { log, lines, events, store } = auditOn(makeStore);
    log.record({ type: 'invalidKey', ip: '203.0.113.9', keyHint: keyHint(RAW) });
    // Misuse the types can not stop from JavaScript: the key where its hint belongs, or in a field of its own.
    log.record({ type: 'invalidKey', keyHint: RAW });
    log.record({ type: 'invalidKey', keyHint: keyHint(RAW), key: RAW } as never);
    log.record({
      type: 'adminWrite',
      token: 'ops',
      method: 'POST',
      path: `/admin/keys/${RAW}/reset`,
      status: 200,
    });
    log.record({
      type: 'adminWrite',
      token: 'ops',
      method: 'PUT',
      path: `/admin/keys/sha256:${HEX}`,
      status: 200,
    });
    log.record({
      type: 'adminWrite',
      token: 'ops',
      method: 'PUT',
      path: `/keys/${encodeURIComponent(RAW)}`,
      status: 200,
    });
    await log.flush();

    const seen = [...events.map((e) => JSON.stringify(e)), ...lines, JSON.stringify(await log.read(0, 1000))];
    if (store?.kind === 'redis') seen.push(JSON.stringify(await client.xrange(`${log.streamKey}`, '-', '+')));
    expect(seen.length).toBeGreaterThan(6);
    for (const text of seen) {
      expect(text).not.toContain(RAW);
      expect(text).not.toContain(encodeURIComponent(RAW));
      expect(text).not.toContain(HEX);
    }
    expect(events.map((e) => (e.type === 'invalidKey' ? e.keyHint : undefined)).slice(0, 3)).toEqual([
      keyHint(RAW),
      keyHint(RAW),
      keyHint(RAW),
    ]);
    expect(events[2]).not.toHaveProperty('key');
  });
});
