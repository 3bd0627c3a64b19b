import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Backend, type ConfigInput, optionsFromEnv } from '@distlimiter/core';
import type { AdminTokens } from '@distlimiter/core/admin';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { type HttpReply, rateHeaders, type SendOptions, send, sendMany } from './http-client.js';
import { createHttpBackend, HTTP_BACKENDS, type HttpBackendKind } from './http-fixtures.js';
import type { Listening } from './http-listen.js';
// index.js is imported only for a function called at test time, so the module cycle is harmless.
import { redisUrlForTests } from './index.js';
import { startRedis } from './redis-server.js';
import { stateKeys } from './bookkeeping-keys.js';

/** What every demo's app factory takes: the options of its app-wide limiter. */
export interface DemoAppOptions {
  /** Where counts live. */
  backend: Backend;
  /** Key namespace (the demos default to "demo"); unique per test so Redis runs never meet. */
  prefix: string;
  /** The configuration (the demos default to their configuration file). */
  config?: ConfigInput;
  /** The admin API's tokens: the demo mounts the admin API at /admin with them. */
  adminTokens?: AdminTokens;
}

/** One demo under test: its app started in-process, and its real entry point. */
export interface DemoUnderTest {
  /** Builds the demo's app with `options` and listens on 127.0.0.1, port 0. */
  start(options: DemoAppOptions): Promise<Listening>;
  /** The demo's src/main.ts, run as `pnpm start` runs it (tsx, "source" condition, the demo's folder). */
  main: URL;
  /** The demo configuration file main.ts follows when DISTLIMITER_CONFIG is unset. */
  config: string;
}

// The sample keys the demo configuration lists (its README and banner show them too).
const FREE_KEY = 'demo_free_key_123';
const PRO_KEY = 'demo_pro_key_456';
const ENTERPRISE_KEY = 'demo_enterprise_key_789';

// The admin tokens every in-process demo is started with; main.ts takes its own from the environment.
const ADMIN_TOKEN = `demo-spec-full-${randomBytes(8).toString('hex')}`;
const ADMIN_READ_TOKEN = `demo-spec-read-${randomBytes(8).toString('hex')}`;
const ADMIN_TOKENS: AdminTokens = { full: { ops: ADMIN_TOKEN }, read: { viewer: ADMIN_READ_TOKEN } };
const bearer = (token: string, more: SendOptions = {}): SendOptions => ({
  ...more,
  headers: { ...more.headers, authorization: `Bearer ${token}` },
});

// Every header a limiter may send; /health must carry none of them.
const RATE_HEADERS = [
  'x-ratelimit-limit',
  'x-ratelimit-remaining',
  'x-ratelimit-reset',
  'ratelimit',
  'ratelimit-policy',
  'retry-after',
  'x-ratelimit-shadow',
];

/**
 * The behaviour of the demo apps, written once and run against each: the tiers, rules, answers and stored
 * keys of the demo configuration that the README's curl walk-through shows, on memory and on Redis, and
 * what main.ts prints and follows (DISTLIMITER_CONFIG, a rewrite of that file, REDIS_URL).
 */
export function describeDemo(name: string, demo: DemoUnderTest): void {
  describe(`${name} demo`, () => {
    for (const kind of HTTP_BACKENDS) describe(`on ${kind}`, () => appCases(kind, demo));
    describe('main.ts', () => mainCases(name, demo));
  });
}

const json = (reply: HttpReply): unknown => JSON.parse(reply.text);
const apiKey = (key: string, more: SendOptions = {}): SendOptions => ({
  ...more,
  headers: { ...more.headers, 'x-api-key': key },
});
const post: SendOptions = { method: 'POST' };
// A second client: the tests run on loopback, where 127.0.0.2 is another address of this machine.
const otherIp: SendOptions = { localAddress: '127.0.0.2' };

function expectRefusal(reply: HttpReply, limit: number): void {
  expect(reply.status).toBe(429);
  expect(reply.headers['content-type']).toMatch(/^application\/json/);
  const retryAfter = Number(reply.headers['retry-after']);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(json(reply)).toEqual({ error: 'Too Many Requests', retryAfter });
  expect(rateHeaders(reply)).toMatchObject({ limit, remaining: 0 });
}

/** The demo configuration as a document, changed by `change`. */
function demoDocument(file: string, change: (doc: DemoDoc) => void = () => {}): DemoDoc {
  const doc = JSON.parse(readFileSync(file, 'utf8')) as DemoDoc;
  change(doc);
  return doc;
}

// The parts of the demo configuration the tests change.
interface DemoDoc extends ConfigInput {
  tiers: Record<string, { rate: string | string[]; burst?: number }>;
}

function appCases(kind: HttpBackendKind, demo: DemoUnderTest): void {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });

  // The demo configuration as a document (not its path): a file would be watched, and nothing here rewrites it.
  async function launch(): Promise<{ url: string; prefix: string }> {
    const fixture = await createHttpBackend(kind);
    cleanups.push(() => fixture.dispose());
    const config = demoDocument(demo.config);
    const app = await demo.start({
      backend: fixture.backend,
      prefix: fixture.prefix,
      config,
      adminTokens: ADMIN_TOKENS,
    });
    cleanups.push(() => app.close());
    return { url: app.url, prefix: fixture.prefix };
  }

  it('GET /health answers {"status":"ok"}, never limited and without rate-limit headers', async () => {
    const { url } = await launch();
    await sendMany(url, '/api/hello', 6);
    for (const reply of await sendMany(url, '/health', 12)) {
      expect(reply.status).toBe(200);
      expect(json(reply)).toEqual({ status: 'ok' });
      for (const header of RATE_HEADERS) expect(reply.headers).not.toHaveProperty(header);
    }
  });

  it('without a key: the anonymous tier, 5 a minute per IP, then 429 with JSON', async () => {
    const { url } = await launch();
    const replies = await sendMany(url, '/api/hello', 5);
    replies.forEach((reply, i) => {
      expect(reply.status).toBe(200);
      expect(json(reply)).toEqual({ message: 'hello' });
      expect(rateHeaders(reply)).toMatchObject({ limit: 5, remaining: 4 - i });
      expect(reply.headers['x-ratelimit-reset']).toMatch(/^\d+$/);
      // The default header format is 'legacy': the IETF fields are one option away, not sent.
      expect(reply.headers).not.toHaveProperty('ratelimit');
    });
    expectRefusal(await send(url, '/api/hello'), 5);
    // Counted by IP: another address has its own 5.
    const other = await send(url, '/api/hello', otherIp);
    expect(other.status).toBe(200);
    expect(rateHeaders(other)).toMatchObject({ limit: 5, remaining: 4 });
  });

  it('a listed key is in its tier and counted by key: free 20, pro 150, enterprise 1000', async () => {
    const { url } = await launch();
    const free = await sendMany(url, '/api/hello', 20, apiKey(FREE_KEY));
    free.forEach((reply, i) => {
      expect(reply.status).toBe(200);
      expect(rateHeaders(reply)).toMatchObject({ limit: 20, remaining: 19 - i });
    });
    expectRefusal(await send(url, '/api/hello', apiKey(FREE_KEY)), 20);
    // The key counts, not the address: from another IP it is just as spent.
    expectRefusal(await send(url, '/api/hello', apiKey(FREE_KEY, otherIp)), 20);
    expect(rateHeaders(await send(url, '/api/hello', apiKey(PRO_KEY)))).toMatchObject({
      limit: 150,
      remaining: 149,
    });
    expect(rateHeaders(await send(url, '/api/hello', apiKey(ENTERPRISE_KEY)))).toMatchObject({
      limit: 1000,
      remaining: 999,
    });
    // None of it touched this IP's anonymous count.
    expect(rateHeaders(await send(url, '/api/hello'))).toMatchObject({ limit: 5, remaining: 4 });
  });

  it('an unknown key answers 401 with WWW-Authenticate, counting nothing', async () => {
    const { url } = await launch();
    for (const reply of await sendMany(url, '/api/hello', 6, apiKey('not-a-key'))) {
      expect(reply.status).toBe(401);
      expect(reply.headers['www-authenticate']).toBe('ApiKey header="x-api-key"');
      expect(reply.headers['content-type']).toMatch(/^application\/json/);
      expect(json(reply)).toEqual({ error: 'Unauthorized', message: 'The API key is not valid.' });
    }
    expect(rateHeaders(await send(url, '/api/hello'))).toMatchObject({ limit: 5, remaining: 4 });
  });

  it('POST /api/login: the rule "login", 3 a minute per IP whatever the key, on top of the tier', async () => {
    const { url } = await launch();
    for (const [i, reply] of (await sendMany(url, '/api/login', 3, post)).entries()) {
      expect(reply.status).toBe(200);
      expect(json(reply)).toEqual({ token: 'demo-token' });
      expect(rateHeaders(reply)).toMatchObject({ limit: 3, remaining: 2 - i });
    }
    expectRefusal(await send(url, '/api/login', post), 3);
    // By IP: a key does not buy more logins from the same address.
    expectRefusal(await send(url, '/api/login', apiKey(FREE_KEY, post)), 3);
    // The three logins were charged to the anonymous tier too, the refused ones not.
    expect(rateHeaders(await send(url, '/api/hello'))).toMatchObject({ limit: 5, remaining: 1 });
    expect((await send(url, '/api/login', { ...post, ...otherIp })).status).toBe(200);
  });

  it('GET /api/data: the rule "data" in shadow mode reports in X-RateLimit-Shadow and never refuses', async () => {
    const { url } = await launch();
    const replies = await sendMany(url, '/api/data', 8, apiKey(FREE_KEY));
    for (const [i, reply] of replies.entries()) {
      expect(reply.status).toBe(200);
      expect(json(reply)).toEqual({ data: [1, 2, 3] });
      // The headers are the tier's: a shadow rule is counted, never shown as the limit.
      expect(rateHeaders(reply)).toMatchObject({ limit: 20, remaining: 19 - i });
      if (i < 5) expect(reply.headers).not.toHaveProperty('x-ratelimit-shadow');
      else expect(reply.headers['x-ratelimit-shadow']).toBe('data');
    }
  });

  it('an unknown path answers 404 {"error":"Not Found"}, counted by the tier', async () => {
    const { url } = await launch();
    const replies = await sendMany(url, '/nope', 5);
    for (const reply of replies) {
      expect(reply.status).toBe(404);
      expect(reply.headers['content-type']).toMatch(/^application\/json/);
      expect(json(reply)).toEqual({ error: 'Not Found' });
    }
    expect(rateHeaders(replies[4]!)).toMatchObject({ limit: 5, remaining: 0 });
    expectRefusal(await send(url, '/nope'), 5);
    expectRefusal(await send(url, '/api/hello'), 5);
  });

  it('GET /admin/rules answers the configuration with a token and 401 without; the admin API is never counted', async () => {
    const { url } = await launch();
    const rules = await send(url, '/admin/rules', bearer(ADMIN_TOKEN));
    expect(rules.status).toBe(200);
    expect(rules.headers['content-type']).toMatch(/^application\/json/);
    const body = json(rules) as { version: string; tiers: Record<string, unknown>; rules: { id: string }[] };
    expect(rules.headers.etag).toBe(`"${body.version}"`);
    expect(Object.keys(body.tiers).sort()).toEqual(['anonymous', 'enterprise', 'free', 'pro']);
    expect(body.rules.map((r) => r.id)).toEqual(['login', 'data']);
    for (const key of [FREE_KEY, PRO_KEY, ENTERPRISE_KEY]) expect(rules.text).not.toContain(key);
    const without = await send(url, '/admin/rules');
    expect(without.status).toBe(401);
    expect(without.headers['www-authenticate']).toMatch(/^Bearer/);
    expect((await send(url, '/admin/rules', bearer('wrong-token'))).status).toBe(401);
    // A read-only token reads, and may not write.
    expect((await send(url, '/admin/rules', bearer(ADMIN_READ_TOKEN))).status).toBe(200);
    expect((await send(url, '/admin/selftest', bearer(ADMIN_READ_TOKEN, post))).status).toBe(403);
    // Admin requests from this address, more than its anonymous 5 a minute, and that count is whole.
    for (let i = 0; i < 6; i++)
      expect((await send(url, '/admin/stats', bearer(ADMIN_TOKEN))).status).toBe(200);
    expect(rateHeaders(await send(url, '/api/hello'))).toMatchObject({ limit: 5, remaining: 4 });
    for (const reply of [rules, without]) {
      expect(reply.text).not.toContain(ADMIN_TOKEN);
      expect(JSON.stringify(reply.headers)).not.toContain(ADMIN_TOKEN);
    }
  });

  if (kind === 'redis') {
    it('stores the same keys as every other demo', async () => {
      const { url, prefix } = await launch();
      await send(url, '/health');
      await send(url, '/api/hello');
      await send(url, '/nope');
      await send(url, '/api/login', post);
      await send(url, '/api/data', apiKey(FREE_KEY));
      const client = new Redis(redisUrlForTests());
      cleanups.push(async () => void (await client.quit()));
      const keys = stateKeys(await client.keys(`${prefix}:*`)).map(
        (key) => `demo${key.slice(prefix.length)}`,
      );
      expect(keys.sort()).toEqual(STORED_KEYS);
    });
  }
}

// The keys the requests of the test above store: the hash tag is the client alone (an IP, or k# and the
// SHA-256 of an API key, so no raw key is stored), then the tier or rule, then the algorithm (a token bucket).
const FREE_ID = `k#${createHash('sha256').update(FREE_KEY).digest('hex')}`;
const STORED_KEYS = [
  'demo:{ip:127.0.0.1}:rule=login:tb',
  'demo:{ip:127.0.0.1}:tier=anonymous:tb',
  `demo:{${FREE_ID}}:rule=data:tb`,
  `demo:{${FREE_ID}}:tier=free:tb`,
];

/** The curl commands every main.ts prints (the README's walk-through), for the demo at `url`. */
function walkThrough(url: string): string[] {
  const key = (k: string) => `-H 'x-api-key: ${k}' `;
  return [
    `curl -i ${url}/health`,
    `curl -i ${url}/api/hello`,
    `curl -i ${key(FREE_KEY)}${url}/api/hello`,
    `curl -i ${key(PRO_KEY)}${url}/api/hello`,
    `curl -i ${key('not-a-key')}${url}/api/hello`,
    `curl -i -X POST ${url}/api/login`,
    `curl -i ${key(FREE_KEY)}${url}/api/data`,
  ];
}

function mainCases(name: string, demo: DemoUnderTest): void {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });

  function spawnMain(vars: NodeJS.ProcessEnv): { child: ChildProcess; output: () => string } {
    const file = fileURLToPath(demo.main);
    const cwd = path.dirname(path.dirname(file));
    const tsx = createRequire(file).resolve('tsx/cli');
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', HOST: '127.0.0.1' };
    for (const name of [
      'REDIS_URL',
      'DISTLIMITER_CONFIG',
      'DISTLIMITER_PREFIX',
      'DISTLIMITER_ADMIN_TOKEN',
      'DISTLIMITER_ADMIN_READ_TOKEN',
    ])
      delete env[name];
    Object.assign(env, vars);
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
    const append = (chunk: Buffer) => {
      output += chunk.toString('utf8');
    };
    child.stdout!.on('data', append);
    child.stderr!.on('data', append);
    return { child, output: () => output };
  }

  /** Runs main.ts with `vars` and resolves with its URL once it has printed the walk-through. */
  async function runMain(vars: NodeJS.ProcessEnv = {}): Promise<{ url: string; output: () => string }> {
    const { child, output } = spawnMain(vars);
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout!.on('data', () => {
        const url = /listening on (http:\/\/\S+)/.exec(output())?.[1];
        // The loop over /api/hello closes the walk-through, so the whole of it has been printed.
        if (url && output().includes('done; echo')) resolve(url);
      });
      child.once('exit', (code) => reject(new Error(`${name} demo exited with ${code}:\n${output()}`)));
    });
    return { url, output };
  }

  /** Runs main.ts with `vars`, expecting it to stop at start: its exit code and output. */
  async function failMain(vars: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
    const { child, output } = spawnMain(vars);
    const [code] = (await once(child, 'exit')) as [number | null];
    return { code, output: output() };
  }

  /** A directory of its own, removed after the test. */
  function tempDir(): string {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'distlimiter-demo-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    return dir;
  }

  it('on memory prints its URL, configuration, backend, sample keys and the curl walk-through, and serves it', async () => {
    const { url, output } = await runMain();
    expect(output()).toContain(`distlimiter ${name} demo listening on ${url}`);
    expect(output()).toContain(`config: ${demo.config}, reloaded when it changes`);
    expect(output()).toContain('backend: memory');
    expect(output()).toContain('prefix: demo');
    for (const key of [FREE_KEY, PRO_KEY, ENTERPRISE_KEY]) expect(output()).toContain(key);
    for (const line of walkThrough(url)) expect(output()).toContain(line);
    expect(rateHeaders(await send(url, '/api/hello')).limit).toBe(5);
    expect(rateHeaders(await send(url, '/api/hello', apiKey(FREE_KEY))).limit).toBe(20);
    expect((await send(url, '/api/hello', apiKey('not-a-key'))).status).toBe(401);
    expect((await send(url, '/health')).headers).not.toHaveProperty('x-ratelimit-limit');
  });

  it('mounts the admin API at /admin: with a token generated and printed when DISTLIMITER_ADMIN_TOKEN is unset', async () => {
    const { url, output } = await runMain();
    const token = /TOKEN=(demo-[0-9a-f]{32})/.exec(output())?.[1];
    expect(token).toBeDefined();
    expect(output()).toContain('admin API: /admin, token generated for this run');
    expect(output()).toContain(`curl -s -H "Authorization: Bearer $TOKEN" ${url}/admin/rules`);
    expect((await send(url, '/admin/rules', bearer(token!))).status).toBe(200);
    expect((await send(url, '/admin/rules')).status).toBe(401);
    expect((await send(url, '/admin/readyz')).status).toBe(200);
    // Written through the admin API (on memory: this process's own overlay), in force at once.
    const tier = await fetch(`${url}/admin/tiers/anonymous`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ rate: '7/minute' }),
    });
    expect(tier.status).toBe(200);
    await tier.arrayBuffer();
    expect(rateHeaders(await send(url, '/api/hello')).limit).toBe(7);
  });

  it('takes DISTLIMITER_ADMIN_TOKEN and DISTLIMITER_ADMIN_READ_TOKEN, and never prints them', async () => {
    const full = `env-full-${randomBytes(8).toString('hex')}`;
    const read = `env-read-${randomBytes(8).toString('hex')}`;
    const { url, output } = await runMain({
      DISTLIMITER_ADMIN_TOKEN: full,
      DISTLIMITER_ADMIN_READ_TOKEN: read,
    });
    expect(output()).toContain(
      'tokens from DISTLIMITER_ADMIN_TOKEN (full) and DISTLIMITER_ADMIN_READ_TOKEN (read-only)',
    );
    expect(output()).not.toContain(full);
    expect(output()).not.toContain(read);
    expect(output()).not.toMatch(/TOKEN=demo-/);
    expect((await send(url, '/admin/rules', bearer(full))).status).toBe(200);
    expect((await send(url, '/admin/rules', bearer(read))).status).toBe(200);
    expect((await send(url, '/admin/selftest', bearer(read, post))).status).toBe(403);
    expect((await send(url, '/admin/selftest', bearer(full, post))).status).toBe(200);
  });

  it('follows the file DISTLIMITER_CONFIG names, and reloads it when it is rewritten', async () => {
    const file = path.join(tempDir(), 'limits.json');
    const write = (doc: DemoDoc) => {
      // Written aside and renamed over, as deploy tools do: the demo never reads half a file.
      writeFileSync(`${file}.tmp`, JSON.stringify(doc, null, 2));
      renameSync(`${file}.tmp`, file);
    };
    write(demoDocument(demo.config, (doc) => (doc.tiers.anonymous!.rate = '2/minute')));
    const { url, output } = await runMain({ DISTLIMITER_CONFIG: file });
    expect(output()).toContain(`config: ${file} (DISTLIMITER_CONFIG), reloaded when it changes`);
    expect(rateHeaders(await send(url, '/api/hello')).limit).toBe(2);
    expect(rateHeaders(await send(url, '/api/hello', apiKey(PRO_KEY))).limit).toBe(150);

    write(
      demoDocument(demo.config, (doc) => {
        doc.tiers.anonymous!.rate = '2/minute';
        doc.tiers.pro = { rate: '100/minute', burst: 300 };
      }),
    );
    let limit: number | undefined;
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      limit = rateHeaders(await send(url, '/api/hello', apiKey(PRO_KEY))).limit;
      if (limit === 300) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(limit).toBe(300);
  });

  it('stops at start, naming what is wrong, on an invalid DISTLIMITER_CONFIG or DISTLIMITER_PREFIX', async () => {
    const file = path.join(tempDir(), 'limits.json');
    writeFileSync(
      file,
      JSON.stringify(demoDocument(demo.config, (doc) => (doc.tiers.free!.rate = '10/minnute'))),
    );
    const config = await failMain({ DISTLIMITER_CONFIG: file });
    expect(config.code).not.toBe(0);
    expect(config.output).toContain('InvalidConfigError');
    expect(config.output).toContain('tiers.free.rate');
    const prefix = await failMain({ DISTLIMITER_PREFIX: 'no spaces' });
    expect(prefix.code).not.toBe(0);
    expect(prefix.output).toContain('Invalid DISTLIMITER_PREFIX');
  });

  it('on Redis never prints the password of REDIS_URL, counts there under the prefix "demo", and follows the overlay', async () => {
    // A server of its own, since the shared test Redis must stay open to every other test.
    const redis = await startRedis();
    cleanups.push(() => redis.stop());
    const password = `secret-${randomBytes(4).toString('hex')}`;
    const client = new Redis(redis.url);
    cleanups.push(async () => void (await client.quit()));
    await client.config('SET', 'requirepass', password);
    await client.auth(password);
    const redisUrl = `redis://:${password}@${redis.host}:${redis.port}`;
    const { url, output } = await runMain({ REDIS_URL: redisUrl });
    const hello = await send(url, '/api/hello', apiKey(FREE_KEY));
    expect(hello.status).toBe(200);
    expect(rateHeaders(hello).limit).toBe(20);
    expect(output()).toContain(`backend: redis at ${redis.host}:${redis.port}`);
    expect(output()).not.toContain(password);
    // A change published to the Redis overlay under the demo's prefix (as an admin tool would) is in force.
    const admin = optionsFromEnv({
      env: { REDIS_URL: redisUrl, DISTLIMITER_PREFIX: 'demo' },
      defaults: { config: demo.config },
    });
    cleanups.push(admin.close);
    await admin.source!.ready();
    await admin.source!.publish({ tiers: { free: { rate: '10/minute', burst: 40 } } });
    const freeLimit = async () => rateHeaders(await send(url, '/api/hello', apiKey(FREE_KEY))).limit;
    await expect.poll(freeLimit, { timeout: 10_000, interval: 50 }).toBe(40);
    expect(output()).toContain('configuration reloaded: 4 tiers, 2 rules, Redis overlay version 1');
    // The demo counted on that Redis, so it used the password it did not print, and the default prefix.
    const keys = await client.keys('*');
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) expect(key).toMatch(/^(demo:|\{demo:config\}:)/);
  });
}
