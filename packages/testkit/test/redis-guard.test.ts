import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TestProject } from 'vitest/node';
import setup from '../src/global-setup.js';
import {
  EXTERNAL_REDIS_URL_VAR,
  flushTestRedis,
  NotHarnessRedisError,
  type RedisInstance,
  startRedis,
} from '../src/index.js';

// A server in a directory the harness would never create stands in for a user's own Redis.
const foreignDir = mkdtempSync(path.join(os.tmpdir(), 'someone-elses-redis-'));
let ours: RedisInstance;
let foreign: RedisInstance;
let silent: RedisInstance;
const clients: Redis[] = [];
const connect = (url: string) => {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  clients.push(client);
  return client;
};

beforeAll(async () => {
  [ours, foreign, silent] = await Promise.all([
    startRedis(),
    startRedis({ args: ['--dir', foreignDir] }),
    // Like many managed servers: CONFIG is disabled, so the server cannot say where it lives.
    startRedis({ args: ['--rename-command', 'CONFIG', ''] }),
  ]);
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.quit()));
  await Promise.all([ours.stop(), foreign.stop(), silent.stop()]);
  rmSync(foreignDir, { recursive: true, force: true });
});

describe('flushTestRedis', () => {
  it('clears the database and the script cache of a server the harness started', async () => {
    const client = connect(ours.url);
    await client.set('k', 'v');
    const sha = (await client.script('LOAD', 'return 1')) as string;
    await flushTestRedis(client);
    await flushTestRedis(client, 'scripts');
    expect(await client.dbsize()).toBe(0);
    expect(await client.script('EXISTS', sha)).toEqual([0]);
  });

  it('refuses a server it did not start, and leaves its keys and scripts alone', async () => {
    const client = connect(foreign.url);
    await client.set('precious', 'data');
    const sha = (await client.script('LOAD', 'return 1')) as string;
    const refusal = flushTestRedis(client);
    await expect(refusal).rejects.toBeInstanceOf(NotHarnessRedisError);
    await expect(refusal).rejects.toThrow(/Refusing FLUSHDB .* did not start it \(its data directory is /);
    await expect(flushTestRedis(client, 'scripts')).rejects.toThrow(/Refusing SCRIPT FLUSH/);
    expect(await client.get('precious')).toBe('data');
    expect(await client.script('EXISTS', sha)).toEqual([1]);
  });

  it('refuses a server that will not report its data directory', async () => {
    const client = connect(silent.url);
    await client.set('k', 'v');
    await expect(flushTestRedis(client)).rejects.toThrow(/does not report its data directory/);
    expect(await client.dbsize()).toBe(1);
  });
});

describe('global setup', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });
  const run = async () => {
    const provided: Record<string, unknown> = {};
    const project = { provide: (key: string, value: unknown) => (provided[key] = value) };
    const teardown = await setup(project as unknown as TestProject);
    const url = provided.redisUrl as string;
    return { url, env: process.env.DISTLIMITER_TEST_REDIS_URL, teardown };
  };

  it('starts its own redis-server even when REDIS_URL points at another', async () => {
    process.env.REDIS_URL = foreign.url;
    delete process.env[EXTERNAL_REDIS_URL_VAR];
    const { url, env, teardown } = await run();
    try {
      expect(url).not.toBe(foreign.url);
      expect(env).toBe(url);
      await flushTestRedis(connect(url));
    } finally {
      await teardown();
    }
  });

  it('uses the explicit external server, and still refuses to flush it', async () => {
    process.env[EXTERNAL_REDIS_URL_VAR] = foreign.url;
    const { url, env, teardown } = await run();
    await teardown();
    expect([url, env]).toEqual([foreign.url, foreign.url]);
    await expect(flushTestRedis(connect(url))).rejects.toBeInstanceOf(NotHarnessRedisError);
    expect(await connect(foreign.url).ping()).toBe('PONG');
  });
});
