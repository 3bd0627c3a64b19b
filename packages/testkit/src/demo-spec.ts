import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Backend } from '@distlimiter/core';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { type HttpReply, rateHeaders, type SendOptions, send, sendMany } from './http-client.js';
import { createHttpBackend, HTTP_BACKENDS, type HttpBackendKind } from './http-fixtures.js';
import type { Listening } from './http-listen.js';
// index.js is imported only for a function called at test time, so the module cycle is harmless.
import { redisUrlForTests } from './index.js';
import { startRedis } from './redis-server.js';
import { stateKeys } from './bookkeeping-keys.js';

/** What every demo's app factory takes. */
export interface DemoAppOptions {
  /** Where counts live. */
  backend: Backend;
  /** Key namespace (the demos default to "demo"); unique per test so Redis runs never meet. */
  prefix: string;
}

/** One demo under test: its app started in-process, and its real entry point. */
export interface DemoUnderTest {
  /** Builds the demo's app with `options` and listens on 127.0.0.1, port 0. */
  start(options: DemoAppOptions): Promise<Listening>;
  /** The demo's src/main.ts, run as `pnpm start` runs it (tsx, "source" condition, the demo's folder). */
  main: URL;
}

// Every header a limiter may send; /health must carry none of them.
const RATE_HEADERS = [
  'x-ratelimit-limit',
  'x-ratelimit-remaining',
  'x-ratelimit-reset',
  'ratelimit',
  'ratelimit-policy',
  'retry-after',
];

/**
 * The behaviour of the demo apps, written once and run against each: the routes, limits, answers and
 * stored keys the README's curl walk-through shows, on memory and on Redis, and what main.ts prints.
 */
export function describeDemo(name: string, demo: DemoUnderTest): void {
  describe(`${name} demo`, () => {
    for (const kind of HTTP_BACKENDS) describe(`on ${kind}`, () => appCases(kind, demo.start));
    describe('main.ts', () => mainCases(name, demo.main));
  });
}

const json = (reply: HttpReply): unknown => JSON.parse(reply.text);
const apiKey = (key: string): SendOptions => ({ headers: { 'x-api-key': key } });
const post: SendOptions = { method: 'POST' };

function expectRefusal(reply: HttpReply, limit: number): void {
  expect(reply.status).toBe(429);
  expect(reply.headers['content-type']).toMatch(/^application\/json/);
  const retryAfter = Number(reply.headers['retry-after']);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(json(reply)).toEqual({ error: 'Too Many Requests', retryAfter });
  expect(rateHeaders(reply)).toMatchObject({ limit, remaining: 0 });
}

function appCases(kind: HttpBackendKind, start: DemoUnderTest['start']): void {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });

  async function launch(): Promise<{ url: string; prefix: string }> {
    const fixture = await createHttpBackend(kind);
    cleanups.push(() => fixture.dispose());
    const app = await start({ backend: fixture.backend, prefix: fixture.prefix });
    cleanups.push(() => app.close());
    return { url: app.url, prefix: fixture.prefix };
  }

  it('GET /health answers {"status":"ok"}, never limited and without rate-limit headers', async () => {
    const { url } = await launch();
    await sendMany(url, '/api/hello', 11);
    for (const reply of await sendMany(url, '/health', 12)) {
      expect(reply.status).toBe(200);
      expect(json(reply)).toEqual({ status: 'ok' });
      for (const header of RATE_HEADERS) expect(reply.headers).not.toHaveProperty(header);
    }
  });

  it('GET /api/hello allows 10 a minute per IP with X-RateLimit-* headers, then 429 with JSON', async () => {
    const { url } = await launch();
    const replies = await sendMany(url, '/api/hello', 10);
    replies.forEach((reply, i) => {
      expect(reply.status).toBe(200);
      expect(json(reply)).toEqual({ message: 'hello' });
      expect(rateHeaders(reply)).toMatchObject({ limit: 10, remaining: 9 - i });
      expect(reply.headers['x-ratelimit-reset']).toMatch(/^\d+$/);
      // The default header format is 'legacy': the IETF fields are one option away, not sent.
      expect(reply.headers).not.toHaveProperty('ratelimit');
    });
    expectRefusal(await send(url, '/api/hello'), 10);
  });

  it('POST /api/login allows 3 a minute, counted apart from the app-wide limit', async () => {
    const { url } = await launch();
    for (const reply of await sendMany(url, '/api/login', 3, post)) {
      expect(reply.status).toBe(200);
      expect(json(reply)).toEqual({ token: 'demo-token' });
      expect(rateHeaders(reply).limit).toBe(3);
    }
    expectRefusal(await send(url, '/api/login', post), 3);
    // Logins were not charged to the app-wide limit.
    expect(rateHeaders(await send(url, '/api/hello')).remaining).toBe(9);
  });

  it('POST /api/login still answers when the app-wide limit is spent', async () => {
    const { url } = await launch();
    await sendMany(url, '/api/hello', 11);
    const login = await send(url, '/api/login', post);
    expect(login.status).toBe(200);
    expect(rateHeaders(login)).toMatchObject({ limit: 3, remaining: 2 });
  });

  it('GET /api/data allows 5 a minute per x-api-key, falling back to the client IP', async () => {
    const { url } = await launch();
    for (const reply of await sendMany(url, '/api/data', 5, apiKey('alice'))) {
      expect(reply.status).toBe(200);
      expect(json(reply)).toEqual({ data: [1, 2, 3], apiKey: 'alice' });
    }
    expectRefusal(await send(url, '/api/data', apiKey('alice')), 5);
    expect((await send(url, '/api/data', apiKey('bob'))).status).toBe(200);
    for (const reply of await sendMany(url, '/api/data', 5)) {
      expect(reply.status).toBe(200);
      expect(json(reply)).toEqual({ data: [1, 2, 3], apiKey: null });
    }
    expectRefusal(await send(url, '/api/data'), 5);
    // Neither count touched the app-wide one.
    expect(rateHeaders(await send(url, '/api/hello')).remaining).toBe(9);
  });

  it('an unknown path answers 404 {"error":"Not Found"}', async () => {
    const { url } = await launch();
    const reply = await send(url, '/nope');
    expect(reply.status).toBe(404);
    expect(reply.headers['content-type']).toMatch(/^application\/json/);
    expect(json(reply)).toEqual({ error: 'Not Found' });
  });

  it('a 404 counts against the app-wide limit', async () => {
    const { url } = await launch();
    const replies = await sendMany(url, '/nope', 10);
    expect(replies.map((r) => r.status)).toEqual(Array(10).fill(404));
    expect(rateHeaders(replies[9]!)).toMatchObject({ limit: 10, remaining: 0 });
    expectRefusal(await send(url, '/api/hello'), 10);
    expectRefusal(await send(url, '/nope'), 10);
  });

  if (kind === 'redis') {
    it('stores the same keys as every other demo', async () => {
      const { url, prefix } = await launch();
      await send(url, '/health');
      await send(url, '/api/hello');
      await send(url, '/nope');
      await send(url, '/api/login', post);
      await send(url, '/api/data', apiKey('alice'));
      await send(url, '/api/data');
      const client = new Redis(redisUrlForTests());
      cleanups.push(async () => void (await client.quit()));
      const keys = stateKeys(await client.keys(`${prefix}:*`)).map(
        (key) => `demo${key.slice(prefix.length)}`,
      );
      // Core builds key names (issue 9): the hash tag is the client alone, a route limit adds its route.
      expect(keys.sort()).toEqual([
        'demo:{h:alice}:GET /api/data:sw',
        'demo:{ip:127.0.0.1}:GET /api/data:sw',
        'demo:{ip:127.0.0.1}:POST /api/login:sw',
        'demo:{ip:127.0.0.1}:sw',
      ]);
    });
  }
}

/** The curl commands every main.ts prints (the README's walk-through), for the demo at `url`. */
function walkThrough(url: string): string[] {
  return [
    `curl -i ${url}/health`,
    `curl -i ${url}/api/hello`,
    `curl -i ${url}/nope`,
    `curl -i -X POST ${url}/api/login`,
    `curl -i -H 'x-api-key: alice' ${url}/api/data`,
  ];
}

function mainCases(name: string, main: URL): void {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });

  /** Runs main.ts with `redisUrl` (or none) and resolves with its URL once it has printed the walk-through. */
  async function runMain(redisUrl?: string): Promise<{ url: string; output: () => string }> {
    const file = fileURLToPath(main);
    const cwd = path.dirname(path.dirname(file));
    const tsx = createRequire(file).resolve('tsx/cli');
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', HOST: '127.0.0.1' };
    delete env.REDIS_URL;
    if (redisUrl) env.REDIS_URL = redisUrl;
    const child: ChildProcess = spawn(process.execPath, [tsx, '--conditions=source', file], {
      cwd,
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
      output += chunk.toString('utf8');
    });
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString('utf8');
        const url = /listening on (http:\/\/\S+)/.exec(output)?.[1];
        // The loop over /api/hello closes the walk-through, so the whole of it has been printed.
        if (url && output.includes('done; echo')) resolve(url);
      });
      child.once('exit', (code) => reject(new Error(`${name} demo exited with ${code}:\n${output}`)));
    });
    return { url, output: () => output };
  }

  it('on memory prints its URL, the backend and the curl walk-through, and serves it', async () => {
    const { url, output } = await runMain();
    expect(output()).toContain(`distlimiter ${name} demo listening on ${url}`);
    expect(output()).toContain('backend: memory');
    for (const line of walkThrough(url)) expect(output()).toContain(line);
    const hello = await send(url, '/api/hello');
    expect(hello.status).toBe(200);
    expect(rateHeaders(hello).limit).toBe(10);
  });

  it('on Redis never prints the password of REDIS_URL, and counts there under the prefix "demo"', async () => {
    // A server of its own, since the shared test Redis must stay open to every other test.
    const redis = await startRedis();
    cleanups.push(() => redis.stop());
    const password = `secret-${randomBytes(4).toString('hex')}`;
    const client = new Redis(redis.url);
    cleanups.push(async () => void (await client.quit()));
    await client.config('SET', 'requirepass', password);
    await client.auth(password);
    const { url, output } = await runMain(`redis://:${password}@${redis.host}:${redis.port}`);
    const hello = await send(url, '/api/hello');
    expect(hello.status).toBe(200);
    expect(rateHeaders(hello).limit).toBe(10);
    expect(output()).toContain(`backend: redis at ${redis.host}:${redis.port}`);
    expect(output()).not.toContain('secret');
    // The demo counted on that Redis, so it used the password it did not print, and the default prefix.
    const keys = await client.keys('*');
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) expect(key).toMatch(/^demo:/);
  });
}
