import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../testkit/src/redis-server.js';
import { InvalidConfigError } from '../src/index.js';
import { type ConfigSource, createConfigSource } from '../src/policy/source/config-source.js';
import type { ConfigSourceOptions } from '../src/policy/source/options.js';
import { type Doc, issueDocument } from './support/config-document.js';
import { BOUND_MS, nextEvent, recordEvents, replaceFile, tempDir } from './support/config-source-events.js';
import { runTs } from './support/spawn.js';
import { type RedisInstance, reportFigure, startRedis } from './support/testkit.js';

// A redis-server of this file's own: CLIENT KILL TYPE pubsub below must not cut other files' subscribers.
let redis: RedisInstance;
let admin: Redis;
const temp = tempDir();
beforeAll(async () => {
  redis = await startRedis();
  admin = new Redis(redis.url);
});
afterAll(async () => {
  await admin.quit();
  await redis.stop();
  temp.remove();
});
const open: ConfigSource[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

let prefixes = 0;
/** A prefix of its own for each test, so no test sees another's overlay. */
const newPrefix = () => `t${++prefixes}`;

/** A source on the test Redis under `prefix` (closed after the test), once it has read the overlay. */
async function sourceOn(
  prefix: string,
  more: Partial<ConfigSourceOptions> & { pollMs?: number } = {},
): Promise<ConfigSource> {
  const { pollMs, ...rest } = more;
  const base = rest.file === undefined ? { document: issueDocument() as never } : {};
  const s = createConfigSource({ ...base, ...rest, redis: { client: redis.url, prefix, pollMs } });
  open.push(s);
  await s.ready();
  return s;
}

const freeLimit = (s: ConfigSource) => s.current().tiers.get('free')!.algorithm.members[0]!.limit;

describe('the Redis overlay', () => {
  it('applies a change published on one source on another, by pub/sub', async () => {
    const prefix = newPrefix();
    const a = await sourceOn(prefix);
    // A long poll interval: only the announcement can bring the change within it.
    const b = await sourceOn(prefix, { pollMs: 60_000 });
    const base = b.current();
    const delays: number[] = [];
    for (let i = 1; i <= 5; i++) {
      let t0 = 0;
      const reloaded = nextEvent(b, 'reloaded', () => t0);
      t0 = performance.now();
      const published = await a.publish({ tiers: { free: { rate: `${30 + i}/minute` } } });
      const { arg, ms } = await reloaded;
      delays.push(ms);
      expect(published.origins.overlayVersion).toBe(i);
      expect(a.current()).toBe(published);
      expect(arg.origins.overlayVersion).toBe(i);
      expect(arg.version).toBe(published.version);
      expect(freeLimit(b)).toBe(30 + i);
    }
    reportFigure('config-source-redis-pubsub', {
      trials: delays.length,
      maxMs: Math.round(Math.max(...delays)),
      delaysMs: delays.map(Math.round),
    });
    expect(base.origins.tiers.get('free')).toBe('base');
    expect(b.current().origins.tiers.get('free')).toBe('redis');
    expect(b.current().origins.tiers.get('pro')).toBe('base');
    expect(await admin.hgetall(`{${prefix}:config}:overlay`)).toEqual({
      'tiers.free': JSON.stringify({ rate: '35/minute' }),
    });
    expect(await admin.get(`{${prefix}:config}:version`)).toBe('5');
  });

  it('overrides by tier name, rule id (in place) and key, appends new rules, and removes with null', async () => {
    const prefix = newPrefix();
    const a = await sourceOn(prefix);
    const base = a.current();
    const s = await a.publish({
      tiers: { gold: { rate: '500/minute' } },
      rules: {
        login: { id: 'login', match: { path: '/api/login' }, rate: '1/minute' },
        export: { id: 'export', match: { path: '/api/export' }, rate: '2/hour', keyBy: 'ip' },
      },
      keys: { gold_key_1: 'gold', demo_free_key_123: 'pro' },
    });
    expect([...s.tiers.keys()]).toEqual(['anonymous', 'free', 'pro', 'enterprise', 'gold']);
    expect(s.rules.map((r) => r.id)).toEqual(['login', 'search', 'export']);
    expect(s.rules[0]!.methods('GET')).toBe(true);
    expect(s.origins.rules).toEqual(
      new Map([
        ['login', 'redis'],
        ['search', 'base'],
        ['export', 'redis'],
      ]),
    );
    expect(s.tierOfKey('gold_key_1')?.tier).toBe('gold');
    expect(s.tierOfKey('demo_free_key_123')?.tier).toBe('pro');

    const restored = await a.publish({
      tiers: { gold: null },
      rules: { login: null, export: null },
      keys: { gold_key_1: null, demo_free_key_123: null },
    });
    // The base again, as compiled from the same document: the same digest.
    expect(restored.version).toBe(base.version);
    expect(restored.rules.map((r) => r.id)).toEqual(['login', 'search']);
    expect(restored.tierOfKey('demo_free_key_123')?.tier).toBe('free');
    expect([...restored.origins.tiers.values()].every((o) => o === 'base')).toBe(true);
    expect(restored.origins.overlayVersion).toBe(2);
    expect(await admin.hlen(`{${prefix}:config}:overlay`)).toBe(0);
  });

  it('restores the base on another source when an override is removed', async () => {
    const prefix = newPrefix();
    const a = await sourceOn(prefix);
    const b = await sourceOn(prefix);
    const base = b.current();
    let reloaded = nextEvent(b, 'reloaded', () => 0);
    await a.publish({ tiers: { free: { rate: '6/minute' } } });
    await reloaded;
    expect(freeLimit(b)).toBe(6);
    reloaded = nextEvent(b, 'reloaded', () => 0);
    await a.publish({ tiers: { free: null } });
    await reloaded;
    expect(freeLimit(b)).toBe(20);
    expect(b.current().version).toBe(base.version);
    expect(b.current().origins.tiers.get('free')).toBe('base');
  });

  it('refuses an invalid change with every problem and writes nothing', async () => {
    const prefix = newPrefix();
    const a = await sourceOn(prefix);
    const events = recordEvents(a);
    const before = a.current();
    const error = await a
      .publish({
        tiers: { free: { rate: '10/minnute' } },
        rules: {
          export: { id: 'export', match: { path: '/x' }, rate: '1/s', tiers: { gold: { rate: '2/s' } } },
        },
        keys: { some_key: 'platinum' },
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect((error as InvalidConfigError).problems).toEqual([
      {
        path: 'tiers.free.rate',
        message: expect.stringMatching(/\(from the Redis overlay's tiers\.free\)$/),
      },
      {
        path: 'keys["so…"]',
        message: expect.stringMatching(
          /^"platinum" is not a tier of this document.*\(from the Redis overlay's keys\["so…"\]\)$/,
        ),
      },
      {
        path: 'rules[2].tiers.gold',
        message: expect.stringMatching(/\(from the Redis overlay's rules\.export\)$/),
      },
    ]);
    // The shape of a change is checked before anything is read.
    const shape = await a
      .publish({ rules: { login: { id: 'logout', match: { path: '/x' }, rate: '1/s' } }, tier: {} } as never)
      .catch((e: unknown) => e);
    expect((shape as InvalidConfigError).problems.map((p) => p.path)).toEqual(['rules.login.id', 'tier']);
    expect((await a.publish({}).catch((e: unknown) => e)) as Error).toBeInstanceOf(InvalidConfigError);

    expect(await admin.exists(`{${prefix}:config}:overlay`, `{${prefix}:config}:version`)).toBe(0);
    expect(a.current()).toBe(before);
    expect(events).toEqual([]);
  });

  it('rejects an overlay written directly that makes the merge invalid, keeping the last good snapshot', async () => {
    const prefix = newPrefix();
    const b = await sourceOn(prefix, { pollMs: 100 });
    const good = b.current();
    const rejected = nextEvent(b, 'rejected', () => 0);
    await admin
      .multi()
      .hset(
        `{${prefix}:config}:overlay`,
        'tiers.free',
        '{"rate": "6/minute", "burst": "x"}',
        'rules.other',
        '{oops',
      )
      .incr(`{${prefix}:config}:version`)
      .exec();
    const { arg: error } = await rejected;
    expect(error.problems.map((p) => p.path)).toEqual(['rules.other']);
    expect(b.current()).toBe(good);

    const again = nextEvent(b, 'rejected', () => 0);
    await admin
      .multi()
      .hdel(`{${prefix}:config}:overlay`, 'rules.other')
      .incr(`{${prefix}:config}:version`)
      .exec();
    expect((await again).arg.problems.map((p) => p.path)).toEqual(['tiers.free.burst']);
    expect(b.current()).toBe(good);

    // A publish repairs what is stored: the change applies to the fields as they are.
    const reloaded = nextEvent(b, 'reloaded', () => 0);
    const a = await sourceOn(prefix);
    await a.publish({ tiers: { free: { rate: '8/minute' } } });
    expect((await reloaded).arg.origins.overlayVersion).toBe(3);
    expect(freeLimit(b)).toBe(8);
  });

  it('catches a change whose announcement was dropped, by polling the version', async () => {
    const prefix = newPrefix();
    // The default interval (500 ms): the figure below is what a deployment gets.
    const pollMs = 500;
    const b = await sourceOn(prefix);
    const delays: number[] = [];
    for (let i = 1; i <= 3; i++) {
      // The subscriber is cut, and the change written without PUBLISH: only the poll can see it.
      expect(Number(await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub'))).toBeGreaterThan(0);
      let t0 = 0;
      const reloaded = nextEvent(b, 'reloaded', () => t0);
      t0 = performance.now();
      await admin
        .multi()
        .hset(`{${prefix}:config}:overlay`, 'tiers.free', JSON.stringify({ rate: `${40 + i}/minute` }))
        .incr(`{${prefix}:config}:version`)
        .exec();
      const { arg, ms } = await reloaded;
      delays.push(ms);
      expect(arg.origins.overlayVersion).toBe(i);
      expect(freeLimit(b)).toBe(40 + i);
    }
    reportFigure('config-source-redis-poll', {
      pollMs,
      trials: delays.length,
      maxMs: Math.round(Math.max(...delays)),
      delaysMs: delays.map(Math.round),
    });
    // And the subscriber came back by itself: an announced change arrives without a poll.
    const c = await sourceOn(prefix);
    const quiet = await sourceOn(prefix, { pollMs: 60_000 });
    const reloaded = nextEvent(quiet, 'reloaded', () => 0);
    expect(Number(await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub'))).toBeGreaterThan(0);
    // Wait until the cut subscribers are subscribed again before announcing.
    const deadline = performance.now() + BOUND_MS;
    while (Number(((await admin.call('PUBSUB', 'NUMSUB', `${prefix}:config`)) as [string, number])[1]) < 3) {
      if (performance.now() > deadline) throw new Error('the subscribers did not come back');
      await new Promise((r) => setTimeout(r, 20));
    }
    await c.publish({ tiers: { free: { rate: '50/minute' } } });
    await reloaded;
    expect(freeLimit(quiet)).toBe(50);
  });

  it('re-merges the overlay when the file changes', async () => {
    const prefix = newPrefix();
    const file = path.join(temp.dir, `${prefix}.json`);
    writeFileSync(file, JSON.stringify(issueDocument()));
    const a = await sourceOn(prefix, { file });
    await a.publish({
      tiers: { free: { rate: '12/minute' } },
      rules: {
        extra: { id: 'extra', match: { path: '/e' }, rate: '10/s', tiers: { pro: { rate: '20/s' } } },
      },
    });
    const doc: Doc = issueDocument();
    doc.tiers.pro.rate = '90/minute';
    doc.tiers.pro.burst = 90;
    doc.tiers.free.rate = '11/minute';
    doc.rules.push({ id: 'fromfile', match: { path: '/f' }, rate: '1/s' });
    const reloaded = nextEvent(a, 'reloaded', () => 0);
    replaceFile(file, JSON.stringify(doc));
    const { arg } = await reloaded;
    expect(arg.tiers.get('pro')!.algorithm.members[0]!.limit).toBe(90);
    expect(freeLimit(a)).toBe(12);
    expect(arg.origins.tiers.get('free')).toBe('redis');
    expect(arg.origins.tiers.get('pro')).toBe('base');
    expect(arg.rules.map((r) => r.id)).toEqual(['login', 'search', 'fromfile', 'extra']);
    expect(arg.origins.overlayVersion).toBe(1);

    // A file that cannot hold the overlay (the tier an overlay rule names is gone) is rejected, though
    // valid alone: the merge is judged whole, and the last good snapshot stays.
    const bad: Doc = issueDocument();
    delete bad.tiers.pro;
    bad.keys = { demo_free_key_123: 'free' };
    const rejected = nextEvent(a, 'rejected', () => 0);
    replaceFile(file, JSON.stringify(bad));
    const { arg: error } = await rejected;
    expect(error.source).toBe(`${file} with the Redis overlay (version 1)`);
    expect(error.problems).toEqual([
      {
        path: 'rules[2].tiers.pro',
        message: expect.stringMatching(
          /^"pro" is not a tier of this document.*\(from the Redis overlay's rules\.extra\)$/,
        ),
      },
    ]);
    expect(a.current()).toBe(arg);

    // The overlay rule removed, the same file applies.
    const after = nextEvent(a, 'reloaded', () => 0);
    await a.publish({ rules: { extra: null } });
    expect((await after).arg.tiers.has('pro')).toBe(false);
    expect(a.current().origins.tiers.get('free')).toBe('redis');
  });

  it('orders concurrent publishes: each validated against what it overwrites, none lost', async () => {
    const prefix = newPrefix();
    const a = await sourceOn(prefix);
    const b = await sourceOn(prefix);
    const results = await Promise.all([
      a.publish({ tiers: { free: { rate: '7/minute' } } }),
      b.publish({ tiers: { pro: { rate: '70/minute' } } }),
      a.publish({ keys: { k_one: 'pro' } }),
      b.publish({ keys: { k_two: 'free' } }),
    ]);
    expect(results.map((s) => s.origins.overlayVersion).sort()).toEqual([1, 2, 3, 4]);
    expect(Object.keys(await admin.hgetall(`{${prefix}:config}:overlay`)).sort()).toEqual([
      'keys.k_one',
      'keys.k_two',
      'tiers.free',
      'tiers.pro',
    ]);
  });

  it('reads the overlay before ready() resolves', async () => {
    const prefix = newPrefix();
    const a = await sourceOn(prefix);
    await a.publish({ tiers: { free: { rate: '14/minute' } } });
    const late = await sourceOn(prefix);
    expect(freeLimit(late)).toBe(14);
    expect(late.current().origins.overlayVersion).toBe(1);
  });

  it('reports an unreachable Redis as sourceError once, resolves ready(), and keeps the base', async () => {
    const port = await freePort();
    const s = createConfigSource({
      document: issueDocument() as never,
      redis: { client: `redis://127.0.0.1:${port}`, pollMs: 50 },
    });
    open.push(s);
    const events = recordEvents(s);
    await s.ready();
    expect(events.length).toBeGreaterThan(0);
    expect(events.every(([name]) => name === 'sourceError')).toBe(true);
    // One per connection (commands, subscriber), not one per attempt.
    expect(events.length).toBeLessThanOrEqual(2);
    expect((events[0]![1] as Error).message).toMatch(/ECONNREFUSED|Connection is closed|max retries/i);
    expect(s.current().origins.overlayVersion).toBeUndefined();
    const error = await s.publish({ tiers: { free: { rate: '1/s' } } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
  });

  it('subscribes and reads once a Redis that was down at start comes up', async () => {
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}`;
    const late = createConfigSource({
      document: issueDocument() as never,
      redis: { client: url, prefix: 'late' },
    });
    open.push(late);
    const errors = recordEvents(late);
    await late.ready();
    expect(errors.map(([name]) => name)).toContain('sourceError');
    const server = await startRedis({ port });
    try {
      const a = createConfigSource({
        document: issueDocument() as never,
        redis: { client: url, prefix: 'late' },
      });
      open.push(a);
      await a.ready();
      const reloaded = nextEvent(late, 'reloaded', () => 0);
      await a.publish({ tiers: { free: { rate: '25/minute' } } });
      expect((await reloaded).arg.origins.overlayVersion).toBe(1);
      expect(freeLimit(late)).toBe(25);
      // Its SUBSCRIBE failed at start; it subscribed once the server was there.
      const check = new Redis(url);
      const deadline = performance.now() + BOUND_MS;
      const subscribers = async () =>
        Number(((await check.call('PUBSUB', 'NUMSUB', 'late:config')) as [string, number])[1]);
      while ((await subscribers()) < 2 && performance.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      expect(await subscribers()).toBe(2);
      await check.quit();
    } finally {
      await Promise.all(open.splice(0).map((s) => s.close()));
      await server.stop();
    }
  });

  it('applies a change published by this process in another process', async () => {
    const prefix = newPrefix();
    const a = await sourceOn(prefix);
    const child = runTs('config-source-worker.ts', [JSON.stringify({ url: redis.url, prefix })], {
      hangGuardMs: 30_000,
    });
    await new Promise<void>((resolve, reject) => {
      let seen = '';
      child.child.stdout?.on('data', (chunk: Buffer) => {
        seen += chunk.toString('utf8');
        if (seen.split('\n').includes('ready')) resolve();
      });
      child.done.then((r) => reject(new Error(`worker ended before "ready": ${r.stderr}`)), reject);
    });
    const publishedAt = Date.now();
    await a.publish({ tiers: { free: { rate: '9/minute' } } });
    const result = await child.done;
    expect(result.exit, result.stderr).toEqual({ code: 0, signal: null });
    const lines = result.stdout.trim().split('\n');
    const report = JSON.parse(lines[lines.length - 1]!) as {
      at: number;
      overlayVersion: number;
      freeOrigin: string;
      freeLimit: number;
    };
    expect(report).toMatchObject({ overlayVersion: 1, freeOrigin: 'redis', freeLimit: 9 });
    reportFigure('config-source-redis-two-process', { delayMs: report.at - publishedAt });
  });
});
