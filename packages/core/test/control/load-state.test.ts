import { randomUUID } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { AuditLog, type AuditRecord } from '../../src/control/audit.js';
import { LoadMonitor } from '../../src/control/load-monitor.js';
import type { LoadSignals } from '../../src/control/load-signals.js';
import { LoadState, type LoadStateOptions, type LoadStateView } from '../../src/control/load-state.js';
import { MemoryControlStore } from '../../src/control/memory-store.js';
import { RedisControlStore } from '../../src/control/redis-store.js';
import type { ControlStore } from '../../src/control/store.js';
import { BackendTimeoutError, ClosedError, InvalidOptionError } from '../../src/errors.js';
import { type RedisInstance, redisUrlForTests, reportFigure, startRedis } from '../support/testkit.js';
import { until } from '../../../testkit/src/index.js';

// The load state (issue 13) on the memory store and on a real Redis: the operator's setting (set, clear,
// expiry on an injected clock), its precedence over the automatic state, the audit, and, on a Redis of
// this file's own, two instances following each other by pub/sub and, with the announcement lost, by
// polling, and a store that stops answering.

const closers: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => undefined);
});

function redis(url: string, options: RedisOptions = {}): Redis {
  const client = new Redis(url, options);
  client.on('error', () => undefined);
  closers.push(async () => client.disconnect());
  return client;
}

const shared = redis(redisUrlForTests());
const prefix = () => `ls${randomUUID().slice(0, 8)}`;

/** An audit sink that keeps what it is given. */
function auditTrail() {
  const events: { type: string; state: string; by?: string; reason?: string }[] = [];
  return { events, record: (e: (typeof events)[number]) => void events.push(e) };
}

const stores: [string, () => ControlStore][] = [
  ['memory', () => new MemoryControlStore()],
  ['redis', () => new RedisControlStore(shared)],
];

describe.each(stores)('LoadState on the %s store', (_, makeStore) => {
  /** A store, a clock and a factory of LoadStates on them, all under a fresh prefix. */
  function setup() {
    const store = makeStore();
    closers.push(() => store.close());
    const now = { ms: 1_700_000_000_000 };
    const p = prefix();
    const make = (options: Partial<LoadStateOptions> = {}) => {
      const audit = auditTrail();
      const state = new LoadState({ store, prefix: p, clock: () => now.ms, audit, ...options });
      closers.push(() => state.close());
      const changes: [LoadStateView, LoadStateView][] = [];
      state.on('changed', (view, previous) => changes.push([view, previous]));
      return { state, audit, changes };
    };
    return { store, now, prefix: p, make };
  }

  test('NORMAL by default; set() puts DEGRADED in force at once, stored, evented and audited', async () => {
    const { store, now, prefix: p, make } = setup();
    const { state, audit, changes } = make();
    const born = now.ms;
    expect(state.status()).toBe('NORMAL');
    expect(state.view()).toEqual({ status: 'NORMAL', since: born, source: 'default', stale: false });
    now.ms += 5;
    const view = await state.set('DEGRADED', { by: 'ops', reason: 'incident 42' });
    expect(state.status()).toBe('DEGRADED');
    const operator = { status: 'DEGRADED', since: now.ms, by: 'ops', reason: 'incident 42' };
    expect(view).toEqual({
      status: 'DEGRADED',
      since: now.ms,
      source: 'operator',
      by: 'ops',
      reason: 'incident 42',
      stale: false,
      operator,
    });
    expect(JSON.parse((await store.get(`${p}:load`))!)).toEqual(operator);
    expect(changes).toHaveLength(1);
    expect(changes[0]![0]).toEqual(view);
    expect(changes[0]![1]).toEqual({ status: 'NORMAL', since: born, source: 'default', stale: false });
    expect(audit.events).toEqual([
      { type: 'loadState', state: 'DEGRADED', by: 'ops', reason: 'incident 42' },
    ]);
  });

  test('clear() brings NORMAL back, removes the setting, and is audited with who', async () => {
    const { store, prefix: p, make } = setup();
    const { state, audit, changes } = make();
    await state.set('DEGRADED');
    const view = await state.clear('alice');
    expect(view).toMatchObject({ status: 'NORMAL', source: 'default' });
    expect(view.operator).toBeUndefined();
    expect(await store.get(`${p}:load`)).toBeUndefined();
    expect(changes.map(([v, prev]) => [prev.status, v.status])).toEqual([
      ['NORMAL', 'DEGRADED'],
      ['DEGRADED', 'NORMAL'],
    ]);
    expect(audit.events).toEqual([
      { type: 'loadState', state: 'DEGRADED' },
      { type: 'loadState', state: 'NORMAL', by: 'alice', reason: 'operator setting cleared' },
    ]);
  });

  test('a setting with an expiry lapses on the clock: event and audit, without any store read', async () => {
    const { now, make } = setup();
    const { state, audit, changes } = make();
    const set = now.ms;
    const view = await state.set('DEGRADED', { expiresInMs: 60_000, by: 'ops' });
    expect(view.expiresAt).toBe(set + 60_000);
    now.ms = set + 59_999;
    expect(state.status()).toBe('DEGRADED');
    now.ms = set + 60_000;
    expect(state.status()).toBe('NORMAL');
    expect(state.view()).toMatchObject({ status: 'NORMAL', source: 'default', since: set + 60_000 });
    expect(state.view().operator).toBeUndefined();
    expect(changes.map(([v]) => v.status)).toEqual(['DEGRADED', 'NORMAL']);
    expect(audit.events.at(-1)).toEqual({
      type: 'loadState',
      state: 'NORMAL',
      reason: 'operator setting expired',
    });
    // A read of the store (its own TTL runs on real time) does not bring the lapsed setting back.
    await state.refresh();
    expect(state.status()).toBe('NORMAL');
    expect(audit.events).toHaveLength(2);
  });

  test("an operator's setting wins over the automatic state; the automatic one applies again after it", async () => {
    const { now, make } = setup();
    let signals: LoadSignals = { inFlight: 0 };
    const monitor = new LoadMonitor({ signals: () => signals, clock: () => now.ms });
    const { state, audit, changes } = make({ monitor });
    expect(state.view()).toMatchObject({ status: 'NORMAL', source: 'automatic', by: 'automatic' });
    signals = { inFlight: 5000 };
    monitor.sample();
    expect(state.status()).toBe('DEGRADED');
    expect(state.view()).toMatchObject({
      source: 'automatic',
      by: 'automatic',
      reason: 'inFlight 5000 >= 1000',
      automatic: { status: 'DEGRADED', since: now.ms, signals: { inFlight: 5000 } },
    });
    // The operator says NORMAL for a minute: it wins while the monitor still says DEGRADED.
    await state.set('NORMAL', { expiresInMs: 60_000, by: 'ops', reason: 'false alarm' });
    expect(state.status()).toBe('NORMAL');
    now.ms += 30_000;
    monitor.sample();
    expect(state.status()).toBe('NORMAL');
    expect(state.view()).toMatchObject({ source: 'operator', automatic: { status: 'DEGRADED' } });
    // It lapses: the automatic state is in force again.
    now.ms += 30_000;
    expect(state.status()).toBe('DEGRADED');
    expect(state.view().source).toBe('automatic');
    // Calm: the automatic state leaves after its dwell time, and the operator's DEGRADED wins over that.
    signals = { inFlight: 0 };
    for (let i = 0; i <= 20; i++) {
      now.ms += 500;
      monitor.sample();
    }
    expect(state.status()).toBe('NORMAL');
    await state.set('DEGRADED', { by: 'ops' });
    expect(state.status()).toBe('DEGRADED');
    await state.clear('ops');
    expect(state.view()).toMatchObject({ status: 'NORMAL', source: 'automatic' });
    expect(changes.map(([v, prev]) => `${prev.status}->${v.status} ${v.source}`)).toEqual([
      'NORMAL->DEGRADED automatic',
      'DEGRADED->NORMAL operator',
      'NORMAL->DEGRADED automatic',
      'DEGRADED->NORMAL automatic',
      'NORMAL->DEGRADED operator',
      'DEGRADED->NORMAL automatic',
    ]);
    expect(audit.events).toEqual([
      { type: 'loadState', state: 'DEGRADED', by: 'automatic', reason: 'inFlight 5000 >= 1000' },
      { type: 'loadState', state: 'NORMAL', by: 'ops', reason: 'false alarm' },
      { type: 'loadState', state: 'DEGRADED', reason: 'operator setting expired' },
      {
        type: 'loadState',
        state: 'NORMAL',
        by: 'automatic',
        reason: 'every signal at or below its exit threshold for 10000 ms',
      },
      { type: 'loadState', state: 'DEGRADED', by: 'ops' },
      { type: 'loadState', state: 'NORMAL', by: 'ops', reason: 'operator setting cleared' },
    ]);
  });

  test('monitor options build a monitor on the same clock, which close() stops', async () => {
    const { now, make } = setup();
    const { state } = make({ monitor: { signals: () => ({ eventLoopDelayMs: 500 }) } });
    expect(state.monitor).toBeInstanceOf(LoadMonitor);
    state.monitor!.sample();
    expect(state.view().automatic).toEqual({
      status: 'DEGRADED',
      since: now.ms,
      signals: { eventLoopDelayMs: 500 },
      reason: 'eventLoopDelayMs 500 >= 200',
    });
    expect(make({ monitor: { enabled: false } }).state.monitor).toBeUndefined();
    expect(make({ monitor: false }).state.view().source).toBe('default');
  });

  test('a set() that changes nothing in force is still audited once; listeners that throw change nothing', async () => {
    const { make } = setup();
    const { state, audit, changes } = make();
    state.on('changed', () => {
      throw new Error('listener');
    });
    await state.set('NORMAL', { by: 'ops', reason: 'pin' });
    expect(changes).toEqual([]);
    expect(state.view()).toMatchObject({ status: 'NORMAL', source: 'operator', by: 'ops' });
    expect(audit.events).toEqual([{ type: 'loadState', state: 'NORMAL', by: 'ops', reason: 'pin' }]);
    await state.set('DEGRADED');
    expect(state.status()).toBe('DEGRADED');
  });

  test('another instance on the same store takes the setting on its next read, and audits its own transition', async () => {
    const { now, make } = setup();
    const a = make();
    const b = make();
    await a.state.set('DEGRADED', { by: 'ops', reason: 'r', expiresInMs: 10_000 });
    await b.state.refresh();
    expect(b.state.view()).toMatchObject({
      status: 'DEGRADED',
      source: 'operator',
      by: 'ops',
      reason: 'r',
      expiresAt: now.ms + 10_000,
    });
    expect(b.audit.events).toEqual([{ type: 'loadState', state: 'DEGRADED', by: 'ops', reason: 'r' }]);
    await a.state.clear('ops');
    await b.state.refresh();
    expect(b.state.status()).toBe('NORMAL');
    expect(b.audit.events.at(-1)).toEqual({
      type: 'loadState',
      state: 'NORMAL',
      reason: 'operator setting cleared',
    });
    expect(b.changes.map(([v]) => v.status)).toEqual(['DEGRADED', 'NORMAL']);
  });

  test('records into an AuditLog', async () => {
    const { make } = setup();
    const log = new AuditLog({ prefix: prefix(), instance: 'i1' });
    const records: AuditRecord[] = [];
    log.on('event', (r) => records.push(r));
    const { state } = make({ audit: log });
    await state.set('DEGRADED', { by: 'ops', reason: 'why' });
    expect(records).toMatchObject([
      { type: 'loadState', state: 'DEGRADED', by: 'ops', reason: 'why', instance: 'i1' },
    ]);
    await log.close();
  });

  test('bad input is a typed error naming the field; a closed LoadState refuses writes', async () => {
    const { store, make } = setup();
    const { state } = make();
    const fieldOf = async (work: () => Promise<unknown>) => {
      try {
        await work();
      } catch (e) {
        expect(e).toBeInstanceOf(InvalidOptionError);
        return (e as InvalidOptionError).field;
      }
    };
    expect(await fieldOf(() => state.set('degraded' as never))).toBe('status');
    expect(await fieldOf(() => state.set('DEGRADED', { expiresInMs: 0 }))).toBe('expiresInMs');
    expect(await fieldOf(() => state.set('DEGRADED', { reason: 5 as never }))).toBe('reason');
    expect(await fieldOf(() => state.set('DEGRADED', { expiresIn: 5 } as never))).toBe('expiresIn');
    expect(state.status()).toBe('NORMAL');
    expect(() => new LoadState({ store, prefix: '' })).toThrow(InvalidOptionError);
    expect(() => new LoadState({ store: {} as never, prefix: 'x' })).toThrow(InvalidOptionError);
    expect(() => new LoadState({ store, prefix: 'x', pollMs: 0 })).toThrow(InvalidOptionError);
    expect(() => new LoadState({ store, prefix: 'x', monitor: 5 as never })).toThrow(InvalidOptionError);
    expect(() => new LoadState({ store, prefix: 'x', pollMS: 5 } as never)).toThrow(/did you mean "pollMs"/);
    await state.close();
    await expect(state.set('DEGRADED')).rejects.toBeInstanceOf(ClosedError);
    expect(state.status()).toBe('NORMAL');
  });
});

describe('LoadState across instances on a Redis of its own', () => {
  // Its own server: CLIENT KILL TYPE pubsub and a paused server must not touch other files' clients.
  let server: RedisInstance;
  let admin: Redis;
  beforeAll(async () => {
    server = await startRedis();
    admin = redis(server.url);
    closers.push(() => server.stop());
  });

  /** One "process": its own connection, store and LoadState under `p`, started. */
  function instance(p: string, options: Partial<LoadStateOptions> = {}, timeoutMs = 1000) {
    const client = redis(server.url);
    const store = new RedisControlStore(client, timeoutMs);
    const audit = auditTrail();
    const state = new LoadState({ store, prefix: p, audit, ...options });
    closers.push(async () => {
      await state.close();
      await store.close();
    });
    state.start();
    return { state, audit, store, client };
  }

  const subscribers = async (channel: string) =>
    Number(((await admin.call('PUBSUB', 'NUMSUB', channel)) as [string, number])[1]);

  /** Waits (up to a bound) until `check` holds; the time it took, in ms. */
  async function delayUntil(check: () => boolean, t0: number): Promise<number> {
    expect(await until(check, 5000, 1)).toBe(true);
    return performance.now() - t0;
  }

  test('a status set on one instance governs the other within 2 s, by pub/sub', async () => {
    const p = prefix();
    const a = instance(p);
    // A long poll: only the announcement can bring the change this fast.
    const b = instance(p, { pollMs: 60_000 });
    expect(await until(async () => (await subscribers(`${p}:load`)) === 2, 5000)).toBe(true);
    const delays: number[] = [];
    for (const status of ['DEGRADED', 'NORMAL', 'DEGRADED', 'NORMAL', 'DEGRADED'] as const) {
      const t0 = performance.now();
      await a.state.set(status, { by: 'ops' });
      delays.push(await delayUntil(() => b.state.status() === status, t0));
      expect(b.state.view()).toMatchObject({ status, source: 'operator', by: 'ops' });
    }
    await a.state.clear('ops');
    await until(() => b.state.view().source === 'default', 5000);
    expect(b.state.view().source).toBe('default');
    reportFigure('load-state-two-instances-pubsub', {
      trials: delays.length,
      maxMs: Math.round(Math.max(...delays) * 10) / 10,
      delaysMs: delays.map((d) => Math.round(d * 10) / 10),
      withinMs: 2000,
      met: Math.max(...delays) <= 2000,
    });
    expect(b.audit.events.map((e) => e.state)).toEqual([
      'DEGRADED',
      'NORMAL',
      'DEGRADED',
      'NORMAL',
      'DEGRADED',
      'NORMAL',
    ]);
  });

  test('with the announcement lost, the poll (default 1 s) brings the change within 2 s', async () => {
    const p = prefix();
    const a = instance(p);
    const b = instance(p);
    expect(b.state.pollMs).toBe(1000);
    expect(await until(async () => (await subscribers(`${p}:load`)) === 2, 5000)).toBe(true);
    const delays: number[] = [];
    for (const status of ['DEGRADED', 'NORMAL', 'DEGRADED'] as const) {
      // The subscribers are cut, and the setting is written without PUBLISH: only the poll can see it.
      expect(Number(await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub'))).toBeGreaterThan(0);
      const t0 = performance.now();
      await admin.set(`${p}:load`, JSON.stringify({ status, since: Date.now(), by: 'script' }));
      delays.push(await delayUntil(() => b.state.status() === status && a.state.status() === status, t0));
    }
    // And set() through an instance right after its subscribers were cut: the message is most likely lost.
    expect(Number(await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub'))).toBeGreaterThan(0);
    const t0 = performance.now();
    await a.state.set('NORMAL', { by: 'ops' });
    delays.push(await delayUntil(() => b.state.status() === 'NORMAL', t0));
    reportFigure('load-state-two-instances-poll', {
      pollMs: 1000,
      trials: delays.length,
      maxMs: Math.round(Math.max(...delays)),
      delaysMs: delays.map(Math.round),
      withinMs: 2000,
      met: Math.max(...delays) <= 2000,
    });
    expect(b.state.view()).toMatchObject({ status: 'NORMAL', source: 'operator', by: 'ops' });
    // The subscribers come back by themselves.
    expect(await until(async () => (await subscribers(`${p}:load`)) === 2, 5000)).toBe(true);
  });

  test('store down: status() keeps answering the last known state, the view says stale, set() and clear() reject', async () => {
    const p = prefix();
    const a = instance(p, {}, 200);
    await a.state.set('DEGRADED', { by: 'ops' });
    await a.state.refresh();
    expect(a.state.view().stale).toBe(false);
    server.pause();
    try {
      await a.state.refresh();
      expect(a.state.view()).toMatchObject({ status: 'DEGRADED', source: 'operator', stale: true });
      for (let i = 0; i < 1000; i++) expect(a.state.status()).toBe('DEGRADED');
      await expect(a.state.set('NORMAL')).rejects.toBeInstanceOf(BackendTimeoutError);
      await expect(a.state.clear()).rejects.toBeInstanceOf(BackendTimeoutError);
      expect(a.state.status()).toBe('DEGRADED');
    } finally {
      server.resume();
    }
    // A timeout is no proof a write did not happen: the two queued writes land once the server runs
    // again (SET NORMAL, then DEL), and the next read shows what the store holds.
    const fresh = async () => {
      await a.state.refresh();
      return !a.state.view().stale;
    };
    expect(await until(fresh, 5000)).toBe(true);
    expect(await admin.get(`${p}:load`)).toBeNull();
    expect(a.state.view()).toMatchObject({ status: 'NORMAL', source: 'default', stale: false });
    expect(a.audit.events).toEqual([
      { type: 'loadState', state: 'DEGRADED', by: 'ops' },
      { type: 'loadState', state: 'NORMAL', reason: 'operator setting cleared' },
    ]);
  });
});
