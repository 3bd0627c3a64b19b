import { randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Redis, type RedisOptions } from 'ioredis';
import { afterAll, describe, expect, test } from 'vitest';
import { RedisControlStore } from '../../src/control/redis-store.js';
import { STATS_TTL_MS, Statistics, type StatsSample } from '../../src/control/stats.js';
import { redisUrlForTests, startRedis, until } from '../../../testkit/src/index.js';

// Statistics on a real Redis: instances (in this process and in another) add up, keys expire, and a Redis
// that stops keeps the counts in process until it is back. Every test writes under a prefix of its own.

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CORE = path.resolve(HERE, '../..');
const opened: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const close of opened.reverse()) await close();
});

function client(url = redisUrlForTests(), options: RedisOptions = {}): Redis {
  const c = new Redis(url, options);
  c.on('error', () => undefined);
  opened.push(async () => c.disconnect());
  return c;
}

function statistics(store: RedisControlStore, prefix: string): Statistics {
  const stats = new Statistics({ store, prefix, flushMs: 3_600_000 });
  opened.push(() => stats.close());
  return stats;
}

const allowed: StatsSample = { tier: 'free', rules: ['api'], allowed: true };
const refused = (ip: string): StatsSample => ({
  tier: 'free',
  rules: ['api'],
  allowed: false,
  limitedBy: 'api',
  identity: `ip:${ip}`,
});

describe('statistics on Redis', () => {
  test('two instances on one Redis add up; minute keys live 62 minutes', async () => {
    const prefix = `st${randomUUID().slice(0, 8)}`;
    const a = statistics(new RedisControlStore(client()), prefix);
    const b = statistics(new RedisControlStore(client()), prefix);
    for (let i = 0; i < 3; i++) a.record(allowed);
    a.record(refused('10.0.0.1'));
    b.record(allowed);
    b.record(refused('10.0.0.1'));
    b.record(refused('10.0.0.2'));
    await Promise.all([a.flush(), b.flush()]);
    const expected = {
      tiers: { free: { allowed: 4, limited: 3 } },
      rules: { api: { allowed: 4, limited: 3 } },
      total: { allowed: 4, limited: 3 },
    };
    const [ra, rb] = await Promise.all([a.read(), b.read()]);
    expect(ra.windows['60m']).toMatchObject(expected);
    expect(rb.windows['60m']).toMatchObject(expected);
    expect(ra.topLimited).toEqual([
      { identity: 'ip:10.0.0.1', limited: 2 },
      { identity: 'ip:10.0.0.2', limited: 1 },
    ]);
    const admin = client();
    const keys = (await admin.keys(`${prefix}:stats:*`)).sort();
    expect(keys.length).toBeGreaterThanOrEqual(2);
    for (const key of keys) {
      expect(key).toMatch(new RegExp(`^${prefix}:stats:\\d+(:top)?$`));
      const ttl = await admin.pttl(key);
      expect(ttl).toBeGreaterThan(STATS_TTL_MS - 60_000);
      expect(ttl).toBeLessThanOrEqual(STATS_TTL_MS);
    }
  });

  test('a second process adds its counts to this one’s', async () => {
    const prefix = `st${randomUUID().slice(0, 8)}`;
    const src = (file: string) => pathToFileURL(path.join(CORE, 'src/control', file)).href;
    const code = `
      const { Redis } = await import('ioredis');
      const { RedisControlStore } = await import(${JSON.stringify(src('redis-store.ts'))});
      const { Statistics } = await import(${JSON.stringify(src('stats.ts'))});
      const client = new Redis(${JSON.stringify(redisUrlForTests())});
      const stats = new Statistics({ store: new RedisControlStore(client), prefix: ${JSON.stringify(prefix)} });
      for (let i = 0; i < 50; i++) stats.record({ tier: 'pro', rules: ['api'], allowed: true });
      for (let i = 0; i < 7; i++) stats.record({ tier: 'pro', rules: ['api'], allowed: false, limitedBy: 'api', identity: 'ip:10.9.9.9' });
      await stats.close();
      await client.quit();
      process.stdout.write('flushed\\n');
    `;
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--conditions=source', '--input-type=module', '-e', code],
      { cwd: CORE, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString();
    });
    const code_ = await new Promise<number | null>((resolve) => child.once('close', resolve));
    expect(code_, err).toBe(0);
    expect(out).toBe('flushed\n');

    const mine = statistics(new RedisControlStore(client()), prefix);
    for (let i = 0; i < 5; i++) mine.record({ tier: 'free', rules: ['api'], allowed: true });
    mine.record(refused('10.9.9.9'));
    await mine.flush();
    const r = await mine.read();
    expect(r.windows['60m']).toMatchObject({
      tiers: { free: { allowed: 5, limited: 1 }, pro: { allowed: 50, limited: 7 } },
      rules: { api: { allowed: 55, limited: 8 } },
      total: { allowed: 55, limited: 8 },
    });
    expect(r.topLimited).toEqual([{ identity: 'ip:10.9.9.9', limited: 8 }]);
  });

  test('while Redis is stopped, counts stay in process and reach Redis once it is back', async () => {
    const redis = await startRedis();
    opened.push(() => redis.stop());
    const prefix = `st${randomUUID().slice(0, 8)}`;
    // No offline queue: with Redis gone, a command fails at once rather than waiting for the timeout.
    const c = client(redis.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => 50,
    });
    expect(await until(() => c.status === 'ready', 10_000)).toBe(true);
    const stats = statistics(new RedisControlStore(c, 300), prefix);
    for (let i = 0; i < 4; i++) stats.record(allowed);
    await stats.flush();
    stats.record(refused('10.1.1.1'));
    await redis.stop();
    stats.record(allowed);
    await expect(stats.flush()).resolves.toBeUndefined();
    expect(stats.lastError).toBeDefined();
    await expect(stats.read()).rejects.toThrow();
    expect(() => stats.record(refused('10.1.1.1'))).not.toThrow();

    // The restarted server is empty (nothing persisted): only what was not flushed before arrives now.
    await redis.restart();
    expect(await until(() => c.status === 'ready', 10_000)).toBe(true);
    await stats.flush();
    expect(stats.lastError).toBeUndefined();
    expect(stats.dropped).toBe(0);
    const fresh = statistics(new RedisControlStore(c, 300), prefix);
    const r = await fresh.read();
    expect(r.windows['60m'].total).toEqual({ allowed: 1, limited: 2 });
    expect(r.windows['60m'].rules).toEqual({ api: { allowed: 1, limited: 2 } });
    expect(r.topLimited).toEqual([{ identity: 'ip:10.1.1.1', limited: 2 }]);
  });
});
