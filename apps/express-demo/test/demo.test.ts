import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { type Backend, MemoryBackend, RedisBackend } from '@distlimiter/core';
import { Redis } from 'ioredis';
import { listenOn, redisUrlForTests, statuses, times } from '@distlimiter/testkit';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.js';

const redis = new Redis(redisUrlForTests());
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});
afterAll(() => redis.quit());

async function listen(backend: Backend, prefix: string): Promise<string> {
  const server = await listenOn(createApp({ backend, prefix }).listen(0, '127.0.0.1'));
  closers.push(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
  });
  closers.push(() => server.close());
  return server.url;
}

const backends: [string, () => Backend][] = [
  ['memory', () => new MemoryBackend()],
  ['redis', () => new RedisBackend({ client: redis })],
];

describe.each(backends)('express demo on %s', (name, makeBackend) => {
  // A fresh prefix per test keeps a reused Redis from carrying counts over.
  const start = () => listen(makeBackend(), `exdemo-${name}-${randomBytes(4).toString('hex')}`);

  it('limits /api/hello to 10 a minute per IP and explains the refusal in JSON', async () => {
    const url = await start();
    expect(await statuses(`${url}/api/hello`, 10)).toEqual(times(10, 200));
    const refused = await fetch(`${url}/api/hello`);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toMatch(/^application\/json/);
    expect(refused.headers.get('x-ratelimit-limit')).toBe('10');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await refused.json()).toMatchObject({ error: 'Too Many Requests' });
  });

  it('never limits /health and sends it no rate-limit headers', async () => {
    const url = await start();
    expect(await statuses(`${url}/health`, 15)).toEqual(times(15, 200));
    const health = await fetch(`${url}/health`);
    expect(health.headers.get('x-ratelimit-limit')).toBeNull();
    expect(await health.json()).toEqual({ status: 'ok' });
  });

  it('limits POST /api/login to 3 a minute without using up /api/hello', async () => {
    const url = await start();
    expect(await statuses(`${url}/api/login`, 4, { method: 'POST' })).toEqual([200, 200, 200, 429]);
    const hello = await fetch(`${url}/api/hello`);
    expect(hello.status).toBe(200);
    expect(hello.headers.get('x-ratelimit-limit')).toBe('10');
  });

  it('counts /api/data per x-api-key, falling back to the IP without one', async () => {
    const url = await start();
    const as = (key: string) => ({ headers: { 'x-api-key': key } });
    expect(await statuses(`${url}/api/data`, 6, as('alice'))).toEqual([200, 200, 200, 200, 200, 429]);
    expect(await statuses(`${url}/api/data`, 1, as('bob'))).toEqual([200]);
    expect(await statuses(`${url}/api/data`, 6)).toEqual([200, 200, 200, 200, 200, 429]);
  });
});

describe('npm start (src/main.ts)', () => {
  const tsx = createRequire(import.meta.url).resolve('tsx/cli');
  const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));

  it.each([
    ['memory', undefined],
    ['redis', redisUrlForTests()],
  ])('serves on PORT and prints the URL, the %s backend and curl examples', async (backend, redisUrl) => {
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0' };
    delete env.REDIS_URL;
    if (redisUrl) {
      env.REDIS_URL = redisUrl;
      // main.ts uses the default "demo" prefix; forget what this run counted under it.
      closers.push(async () => {
        const keys = await redis.keys('demo-*');
        if (keys.length) await redis.del(...keys);
      });
    }
    const child = spawn(process.execPath, [tsx, '--conditions=source', main], { env, stdio: 'pipe' });
    closers.push(
      () =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }),
    );
    let output = '';
    let errors = '';
    child.stderr.on('data', (chunk: Buffer) => {
      errors += chunk.toString('utf8');
    });
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString('utf8');
        const match = /listening on (http:\/\/localhost:\d+)/.exec(output);
        if (match && output.includes('curl -i')) resolve(match[1]!);
      });
      child.once('exit', (code) => reject(new Error(`demo exited with ${code}:\n${errors}`)));
    });
    expect(output).toContain(`backend: ${backend}`);
    expect(output).toContain(`curl -i ${url}/api/hello`);
    const res = await fetch(`${url.replace('localhost', '127.0.0.1')}/api/hello`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ message: 'hello' });
  });
});
