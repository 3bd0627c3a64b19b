import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { type Backend, MemoryBackend, RedisBackend } from '@distlimiter/core';
import type { INestApplication } from '@nestjs/common';
import { afterEach, describe, expect, it } from 'vitest';
import { loopbackUrl, redisUrlForTests, times } from '@distlimiter/testkit';
import { createApp } from '../src/app.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function startDemo(backend: Backend, prefix?: string): Promise<string> {
  cleanups.push(() => backend.close());
  const app: INestApplication = await createApp({ backend, prefix });
  cleanups.push(() => app.close());
  await app.listen(0, '127.0.0.1');
  return loopbackUrl(app.getHttpServer());
}

interface Reply {
  status: number;
  headers: Headers;
  body: unknown;
}

async function hit(url: string, init?: RequestInit): Promise<Reply> {
  const res = await fetch(url, init);
  return { status: res.status, headers: res.headers, body: await res.json() };
}

async function statuses(url: string, n: number, init?: RequestInit): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await hit(url, init)).status);
  return out;
}

describe.each([
  ['memory', () => new MemoryBackend()],
  ['redis', () => new RedisBackend({ client: redisUrlForTests() })],
] as const)('nest demo on the %s backend', (_name, makeBackend) => {
  // A fresh prefix per test keeps runs against the shared Redis apart.
  const prefix = () => `demo${process.pid}x${Date.now()}x${Math.floor(Math.random() * 1e6)}`;

  it('limits /api/hello to 10/minute and answers the 11th with 429, headers and JSON', async () => {
    const url = await startDemo(makeBackend(), prefix());
    const first = await hit(`${url}/api/hello`);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ message: 'hello' });
    expect(first.headers.get('x-ratelimit-limit')).toBe('10');
    expect(await statuses(`${url}/api/hello`, 10)).toEqual([...times(9, 200), 429]);
    const refused = await hit(`${url}/api/hello`);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(refused.body).toMatchObject({ error: 'Too Many Requests' });
  });

  it('gives POST /api/login its own 3/minute, apart from /api/hello', async () => {
    const url = await startDemo(makeBackend(), prefix());
    expect(await statuses(`${url}/api/login`, 4, { method: 'POST' })).toEqual([200, 200, 200, 429]);
    const hello = await hit(`${url}/api/hello`);
    expect(hello.status).toBe(200);
    expect(hello.headers.get('x-ratelimit-remaining')).toBe('9');
  });

  it('counts /api/data per x-api-key, and per IP without one', async () => {
    const url = await startDemo(makeBackend(), prefix());
    const alice = { headers: { 'x-api-key': 'alice' } };
    expect(await statuses(`${url}/api/data`, 6, alice)).toEqual([...times(5, 200), 429]);
    expect(await statuses(`${url}/api/data`, 1, { headers: { 'x-api-key': 'bob' } })).toEqual([200]);
    expect(await statuses(`${url}/api/data`, 6)).toEqual([...times(5, 200), 429]);
  });

  it('never limits /health', async () => {
    const url = await startDemo(makeBackend(), prefix());
    expect(await statuses(`${url}/health`, 15)).toEqual(times(15, 200));
    const health = await hit(`${url}/health`);
    expect(health.body).toEqual({ status: 'ok' });
    expect(health.headers.get('x-ratelimit-limit')).toBeNull();
  });
});

describe('nest demo start command', () => {
  it('starts src/main.ts, prints the URL, the backend and curl commands, and serves', async () => {
    const demoDir = fileURLToPath(new URL('..', import.meta.url));
    const tsx = createRequire(import.meta.url).resolve('tsx/cli');
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', HOST: '127.0.0.1' };
    delete env.REDIS_URL;
    const child: ChildProcess = spawn(process.execPath, [tsx, '--conditions=source', 'src/main.ts'], {
      cwd: demoDir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    cleanups.push(async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    });
    let output = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('never limited')) {
          const match = /listening on (http:\/\/\S+)/.exec(output);
          if (match?.[1]) resolve(match[1]);
          else reject(new Error(`no URL in:\n${output}`));
        }
      });
      child.once('exit', (code) => reject(new Error(`demo exited with ${code}:\n${output}`)));
    });
    expect(output).toContain('backend: memory');
    expect(output).toContain(`curl -i ${url}/api/hello`);
    expect(output).toContain(`curl -i -X POST ${url}/api/login`);
    const hello = await hit(`${url}/api/hello`);
    expect(hello.status).toBe(200);
    expect(hello.headers.get('x-ratelimit-limit')).toBe('10');
    expect((await hit(`${url}/health`)).status).toBe(200);
  });
});
