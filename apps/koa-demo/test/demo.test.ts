import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type Backend, MemoryBackend, RedisBackend } from '@distlimiter/core';
import { type Listening, listenOn, redisUrlForTests, statuses, times } from '@distlimiter/testkit';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';

const listen = (backend: Backend, prefix: string): Promise<Listening> =>
  listenOn(buildApp({ backend, prefix }).listen(0, '127.0.0.1'));

const redis = new Redis(redisUrlForTests());
afterAll(() => redis.quit());

const backends: [string, () => Backend][] = [
  ['memory', () => new MemoryBackend()],
  ['redis', () => new RedisBackend({ client: redis })],
];

describe.each(backends)('koa demo on %s', (name, makeBackend) => {
  // A fresh prefix per run keeps a reused Redis from carrying counts over.
  const prefix = () => `koademo-${name}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

  it('limits /api/hello to 10 a minute per IP and explains the refusal in JSON', async () => {
    const app = await listen(makeBackend(), prefix());
    try {
      expect(await statuses(`${app.url}/api/hello`, 10)).toEqual(times(10, 200));
      const refused = await fetch(`${app.url}/api/hello`);
      expect(refused.status).toBe(429);
      expect(refused.headers.get('content-type')).toMatch(/^application\/json/);
      expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(await refused.json()).toBeTypeOf('object');
    } finally {
      await app.close();
    }
  });

  it('never limits /health', async () => {
    const app = await listen(makeBackend(), prefix());
    try {
      await statuses(`${app.url}/api/hello`, 11);
      expect(await statuses(`${app.url}/health`, 15)).toEqual(times(15, 200));
    } finally {
      await app.close();
    }
  });

  it('limits POST /api/login to 3 a minute', async () => {
    const app = await listen(makeBackend(), prefix());
    try {
      expect(await statuses(`${app.url}/api/login`, 4, { method: 'POST' })).toEqual([200, 200, 200, 429]);
      // The login limit is its own count: plain requests still have allowance left.
      expect((await fetch(`${app.url}/api/hello`)).status).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('counts /api/data per x-api-key, and per IP without one', async () => {
    const app = await listen(makeBackend(), prefix());
    const data = `${app.url}/api/data`;
    try {
      const alice = { headers: { 'x-api-key': 'alice' } };
      expect(await statuses(data, 6, alice)).toEqual([200, 200, 200, 200, 200, 429]);
      expect((await fetch(data, { headers: { 'x-api-key': 'bob' } })).status).toBe(200);
      expect(await statuses(data, 6)).toEqual([200, 200, 200, 200, 200, 429]);
    } finally {
      await app.close();
    }
  });
});

describe('koa demo main', () => {
  it('starts on PORT, prints its URL and backend, and answers', async () => {
    const root = fileURLToPath(new URL('..', import.meta.url));
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'src/main.ts'], {
      cwd: root,
      env: { ...process.env, PORT: '0', REDIS_URL: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let output = '';
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          const match = /listening on (http:\/\/\S+)/.exec(output);
          if (match && output.includes('curl -i')) resolve(match[1]!);
        });
        child.stderr.on('data', (chunk: Buffer) => {
          output += chunk.toString();
        });
        child.once('exit', (code) => reject(new Error(`demo exited with ${code}:\n${output}`)));
      });
      expect(output).toContain('backend: memory');
      const res = await fetch(`${url}/health`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: 'ok' });
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  });
});
