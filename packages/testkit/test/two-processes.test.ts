import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisUrlForTests } from '../src/index.js';
import { type AppProcess, startAppProcess, stopAppProcess } from './support/app-process.js';

const APP_SCRIPT = fileURLToPath(new URL('./support/express-app.ts', import.meta.url));

describe('two app processes on one Redis', () => {
  const prefix = `two-proc-${randomBytes(6).toString('hex')}`;
  const redis = new Redis(redisUrlForTests());
  let apps: AppProcess[] = [];

  beforeAll(async () => {
    const env = { REDIS_URL: redisUrlForTests(), DL_PREFIX: prefix };
    apps = await Promise.all([startAppProcess(APP_SCRIPT, env), startAppProcess(APP_SCRIPT, env)]);
  });

  afterAll(async () => {
    await Promise.all(apps.map(stopAppProcess));
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });

  it('enforce one limit together: of 100 concurrent requests exactly 50 pass', async () => {
    const [a, b] = apps;
    expect(a!.url).not.toBe(b!.url);
    // Each process alone would admit all 50 it receives, so any total above 50 means they did not share.
    const statuses = await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        const res = await fetch(`${(i % 2 ? a : b)!.url}/hello`);
        await res.arrayBuffer();
        return res.status;
      }),
    );
    expect(statuses.filter((s) => s === 200)).toHaveLength(50);
    expect(statuses.filter((s) => s === 429)).toHaveLength(50);
    expect((await redis.keys(`${prefix}*`)).length).toBeGreaterThan(0);
  });
});
