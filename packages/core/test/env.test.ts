import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type ConfigSnapshot,
  type EnvLimitOptions,
  HttpLimiter,
  InvalidConfigError,
  limiterFromEnv,
  MemoryBackend,
  optionsFromEnv,
  RedisBackend,
} from '../src/index.js';
import type { ConfigInput } from '../src/index.js';
import { type Doc, issueDocument } from './support/config-document.js';
import { BOUND_MS, pause, replaceFile, tempDir } from './support/config-source-events.js';
import { pollUntil } from './support/redis.js';
import { type RedisInstance, startRedis } from './support/testkit.js';
import { thrown } from './support/thrown.js';
import { req } from './http/helpers.js';

const FREE = 'demo_free_key_123';
const temp = tempDir();
const closing: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closing.splice(0).map((close) => close()));
});
afterAll(temp.remove);

let files = 0;
function fileOf(doc: Doc | string): string {
  const at = path.join(temp.dir, `config-${++files}.json`);
  writeFileSync(at, typeof doc === 'string' ? doc : JSON.stringify(doc, null, 2));
  return at;
}

/** optionsFromEnv, closed after the test. */
function fromEnv(...args: Parameters<typeof optionsFromEnv>): EnvLimitOptions {
  const built = optionsFromEnv(...args);
  closing.push(built.close);
  return built;
}

/** limiterFromEnv, closed after the test. */
function limiterOf(...args: Parameters<typeof limiterFromEnv>): HttpLimiter {
  const limiter = limiterFromEnv(...args);
  closing.push(() => limiter.close());
  return limiter;
}

const withKey = (key: string) => req({ headers: { 'x-api-key': key } });

/** The next configReloaded event of `limiter`, or a rejection after BOUND_MS. */
function nextReload(limiter: HttpLimiter): Promise<ConfigSnapshot> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no configReloaded event')), BOUND_MS);
    limiter.once('configReloaded', (snapshot) => {
      clearTimeout(timer);
      resolve(snapshot);
    });
  });
}

describe('optionsFromEnv', () => {
  it('with no variable set: one memory backend, the prefix "dl", no configuration', () => {
    const { options, describe } = fromEnv({ env: {} });
    expect(options.backend).toBeInstanceOf(MemoryBackend);
    expect(options.prefix).toBe('dl');
    expect(options.config).toBeUndefined();
    expect(fromEnv({ env: {} }).source).toBeUndefined();
    expect(describe()).toBe(
      [
        'config: none (set DISTLIMITER_CONFIG to a JSON file)',
        'backend: memory (set REDIS_URL to share counts across processes)',
        'prefix: dl',
      ].join('\n'),
    );
  });

  it('DISTLIMITER_CONFIG names the configuration file, whose tiers the options follow', async () => {
    const file = fileOf(issueDocument());
    const env = fromEnv({ env: { DISTLIMITER_CONFIG: file, DISTLIMITER_PREFIX: 'api' } });
    expect(env.describe()).toContain(`config: ${file} (DISTLIMITER_CONFIG), reloaded when it changes`);
    expect(env.describe()).toContain('prefix: api');
    const limiter = new HttpLimiter(env.options);
    const free = await limiter.handle(withKey(FREE));
    expect(free.tier).toBe('free');
    expect(free.headers['X-RateLimit-Limit']).toBe('20');
    expect((await limiter.handle(withKey('nope'))).status).toBe(401);
    expect(limiter.limiter.prefix).toBe('api');
  });

  it('defaults.config applies when DISTLIMITER_CONFIG is unset, and the variable wins over it', async () => {
    const doc = issueDocument();
    doc.tiers.anonymous.rate = '7/minute';
    const other = fileOf(doc);
    const fallback = issueDocument() as ConfigInput;
    const unset = new HttpLimiter(fromEnv({ env: {}, defaults: { config: fallback } }).options);
    expect((await unset.handle(req())).headers['X-RateLimit-Limit']).toBe('5');
    const set = fromEnv({ env: { DISTLIMITER_CONFIG: other }, defaults: { config: fallback } });
    expect((await new HttpLimiter(set.options).handle(req())).headers['X-RateLimit-Limit']).toBe('7');
  });

  it('defaults.prefix applies when DISTLIMITER_PREFIX is unset or empty', () => {
    expect(fromEnv({ env: {}, defaults: { prefix: 'demo' } }).options.prefix).toBe('demo');
    expect(fromEnv({ env: { DISTLIMITER_PREFIX: '' }, defaults: { prefix: 'demo' } }).options.prefix).toBe(
      'demo',
    );
    expect(fromEnv({ env: { DISTLIMITER_PREFIX: 'x' }, defaults: { prefix: 'demo' } }).options.prefix).toBe(
      'x',
    );
  });

  it('DISTLIMITER_CONFIG may hold the JSON document itself', async () => {
    const env = fromEnv({ env: { DISTLIMITER_CONFIG: JSON.stringify(issueDocument()) } });
    expect(env.describe()).toContain('config: a JSON document (DISTLIMITER_CONFIG)');
    expect((await new HttpLimiter(env.options).handle(withKey(FREE))).tier).toBe('free');
  });

  it('overrides win, and a backend given there means none is built', () => {
    const backend = new MemoryBackend();
    const env = fromEnv({ env: {}, overrides: { backend, prefix: 'mine', rate: '10/second' } });
    expect(env.options).toMatchObject({ backend, prefix: 'mine', rate: '10/second' });
    expect(env.describe()).toContain('backend: given in code');
  });

  it('refuses a bad value at once, naming the variable', () => {
    const prefix = thrown(() => optionsFromEnv({ env: { DISTLIMITER_PREFIX: 'has space' } }));
    expect(prefix.field).toBe('DISTLIMITER_PREFIX');
    expect(thrown(() => optionsFromEnv({ env: { DISTLIMITER_PREFIX: '{x}' } })).field).toBe(
      'DISTLIMITER_PREFIX',
    );
    const url = thrown(() => optionsFromEnv({ env: { REDIS_URL: 'http://user:hunter2@host:6379' } }));
    expect(url.field).toBe('REDIS_URL');
    expect(url.message).toContain('redis://');
    // A password in a mistyped URL never reaches a log.
    expect(url.message).not.toContain('hunter2');
    const missing = thrown(() =>
      optionsFromEnv({ env: { DISTLIMITER_CONFIG: path.join(temp.dir, 'absent.json') } }),
    );
    expect(missing.field).toBe('DISTLIMITER_CONFIG');
    expect(missing.message).toContain('ENOENT');
    expect(thrown(() => optionsFromEnv({ env: {}, defaults: { config: '/no/such/file.json' } })).field).toBe(
      'defaults.config',
    );
    expect(thrown(() => optionsFromEnv({ env: {}, defaults: { prefix: '' } })).field).toBe('defaults.prefix');
    expect(thrown(() => optionsFromEnv({ environment: {} } as never)).field).toBe('environment');
  });

  it('an invalid configuration file throws InvalidConfigError listing every problem', () => {
    const doc = issueDocument();
    doc.tiers.free.rate = '10/minnute';
    doc.defaultTier = 'anonymus';
    const file = fileOf(doc);
    let error: unknown;
    try {
      optionsFromEnv({ env: { DISTLIMITER_CONFIG: file } });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidConfigError);
    const problems = (error as InvalidConfigError).problems.map((p) => p.path);
    expect(problems.sort()).toEqual(['defaultTier', 'tiers.free.rate']);
    expect((error as InvalidConfigError).message).toContain(file);
    const inline = (() => {
      try {
        optionsFromEnv({ env: { DISTLIMITER_CONFIG: '{"version": 1,' } });
      } catch (e) {
        return e;
      }
    })();
    expect(inline).toBeInstanceOf(InvalidConfigError);
    expect((inline as InvalidConfigError).message).toContain('DISTLIMITER_CONFIG');
  });
});

describe('limiterFromEnv', () => {
  it('follows the file as it changes, and close() stops watching it', async () => {
    const file = fileOf(issueDocument());
    const limiter = limiterOf({ env: { DISTLIMITER_CONFIG: file } });
    expect((await limiter.handle(req())).headers['X-RateLimit-Limit']).toBe('5');
    const doc = issueDocument();
    doc.tiers.anonymous.rate = '8/minute';
    const reloaded = nextReload(limiter);
    replaceFile(file, JSON.stringify(doc));
    await reloaded;
    expect((await limiter.handle(req({ ip: '198.51.100.9' }))).headers['X-RateLimit-Limit']).toBe('8');

    await limiter.close();
    let reloads = 0;
    limiter.on('configReloaded', () => reloads++);
    doc.tiers.anonymous.rate = '9/minute';
    replaceFile(file, JSON.stringify(doc));
    // Longer than the watcher's poll (250 ms) and debounce: a watcher still running would have reloaded.
    await pause(1000);
    expect(reloads).toBe(0);
  });

  it('refuses options the configuration replaces (and closes what it built)', () => {
    const file = fileOf(issueDocument());
    const error = thrown(() =>
      limiterFromEnv({ env: { DISTLIMITER_CONFIG: file }, overrides: { rate: '1/s' } }),
    );
    expect(error.field).toBe('rate');
  });
});

describe('on REDIS_URL', () => {
  // A redis-server of this file's own, so the connections counted below are only this file's.
  let redis: RedisInstance;
  let admin: Redis;
  beforeAll(async () => {
    redis = await startRedis();
    admin = new Redis(redis.url);
  });
  afterAll(async () => {
    await admin.quit();
    await redis.stop();
  });

  const clients = async () =>
    String(await admin.client('LIST'))
      .trim()
      .split('\n').length;

  it('counts in Redis under the prefix, shares the overlay there, and close() closes every connection', async () => {
    const file = fileOf(issueDocument());
    const env = { REDIS_URL: redis.url, DISTLIMITER_CONFIG: file, DISTLIMITER_PREFIX: 'envtest' };
    // One instance through optionsFromEnv (as an adapter takes it), one through limiterFromEnv.
    const a = optionsFromEnv({ env });
    closing.push(a.close);
    const limiterA = new HttpLimiter(a.options);
    expect(limiterA.limiter.backend).toBeInstanceOf(RedisBackend);
    const first = await limiterA.handle(withKey(FREE));
    expect(first.headers['X-RateLimit-Limit']).toBe('20');
    const keys = await admin.keys('*');
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.filter((k) => !k.startsWith('envtest:'))).toEqual([]);
    const source = a.source!;
    expect(a.options.config).toBe(source);
    await source.ready();
    // Every connection of a is open now (backend, overlay commands and subscriber): what b adds, b must close.
    const withA = await clients();

    // A change published through one instance's source reaches the other through Redis, under the prefix.
    const b = limiterFromEnv({ env });
    expect(b.limiter.backend).toBeInstanceOf(RedisBackend);
    // b reads the overlay once at start and on every announcement: either brings the change.
    const reloaded = nextReload(b);
    await source.publish({ tiers: { free: { rate: '10/minute', burst: 30 } } });
    await reloaded;
    expect((await b.handle(withKey(FREE))).headers['X-RateLimit-Limit']).toBe('30');
    expect(await admin.exists('{envtest:config}:version')).toBe(1);
    expect(await clients()).toBeGreaterThan(withA);

    await b.close();
    await pollUntil(async () => (await clients()) === withA, BOUND_MS);
    expect(await clients()).toBe(withA);
    await a.close();
    await pollUntil(async () => (await clients()) === 1, BOUND_MS);
    expect(await clients()).toBe(1);
  });

  it('an invalid configuration leaves no connection open', async () => {
    const doc = issueDocument();
    doc.tiers.free.rate = 'lots';
    const file = fileOf(doc);
    expect(() => optionsFromEnv({ env: { REDIS_URL: redis.url, DISTLIMITER_CONFIG: file } })).toThrow(
      InvalidConfigError,
    );
    await pause(200);
    expect(await clients()).toBe(1);
  });

  it('describes the backend by its host', () => {
    const env = fromEnv({
      env: { REDIS_URL: redis.url },
      defaults: { config: issueDocument() as ConfigInput },
    });
    expect(env.describe()).toContain(
      `backend: redis at ${new URL(redis.url).host} (counts and the configuration overlay)`,
    );
  });
});
