import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { type Backend, MemoryBackend, RedisBackend } from '@distlimiter/core';
import { redisUrlForTests } from '@distlimiter/testkit';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';

async function listen(backend: Backend, prefix: string): Promise<{ url: string; close(): Promise<void> }> {
  const server = buildApp({ backend, prefix }).listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error?: Error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

async function statuses(n: number, url: string, init?: RequestInit): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await fetch(url, init)).status);
  return out;
}

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
      expect(await statuses(10, `${app.url}/api/hello`)).toEqual(Array(10).fill(200));
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
      await statuses(11, `${app.url}/api/hello`);
      expect(await statuses(15, `${app.url}/health`)).toEqual(Array(15).fill(200));
    } finally {
      await app.close();
    }
  });

  it('limits POST /api/login to 3 a minute', async () => {
    const app = await listen(makeBackend(), prefix());
    try {
      expect(await statuses(4, `${app.url}/api/login`, { method: 'POST' })).toEqual([200, 200, 200, 429]);
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
      expect(await statuses(6, data, alice)).toEqual([200, 200, 200, 200, 200, 429]);
      expect((await fetch(data, { headers: { 'x-api-key': 'bob' } })).status).toBe(200);
      expect(await statuses(6, data)).toEqual([200, 200, 200, 200, 200, 429]);
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
