import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Redis, type RedisOptions } from 'ioredis';
import { afterAll, describe, expect, test } from 'vitest';
import { MemoryBackend } from '../../src/backends/memory.js';
import { RedisBackend } from '../../src/backends/redis.js';
import type { Backend } from '../../src/backends/types.js';
import type { IpBlock } from '../../src/control/blocks.js';
import type { KeyProtectionOptions } from '../../src/control/protection-options.js';
import { KeyProtection } from '../../src/control/protection.js';
import { controlStoreOf } from '../../src/control/store-of.js';
import type { ControlStore } from '../../src/control/store.js';
import { ClosedError, InvalidOptionError } from '../../src/errors.js';
import { redisUrlForTests, reportFigure, startRedis, until } from '../../../testkit/src/index.js';

// API-key protection (issue 12) on the memory backend and on a real Redis: the format check, blocks after
// maxInvalid invalid keys, escalation, IPv6 /64 grouping, admin blocks, two instances sharing blocks, and
// Redis down. Every test writes under a prefix of its own; time is an injected clock where it matters.

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const HERE = path.dirname(fileURLToPath(import.meta.url));
const CORE = path.resolve(HERE, '../..');

const closers: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => undefined);
});

const prefix = () => `kp${randomUUID().slice(0, 8)}`;

function redisClient(url = redisUrlForTests(), options: RedisOptions = {}): Redis {
  const client = new Redis(url, options);
  client.on('error', () => undefined);
  closers.push(async () => client.disconnect());
  return client;
}

function redisBackend(client: Redis, clock?: () => number, timeoutMs?: number): RedisBackend {
  const backend = new RedisBackend({
    client,
    ...(clock ? { clock } : {}),
    ...(timeoutMs ? { timeoutMs } : {}),
  });
  closers.push(async () => {
    await controlStoreOf(backend).close();
    await backend.close();
  });
  return backend;
}

const shared = redisClient();

interface Setup {
  backend: Backend;
  prefix: string;
  now: { ms: number };
  make(options?: KeyProtectionOptions & { prefix?: string; store?: ControlStore }): KeyProtection;
}

function setup(kind: 'memory' | 'redis'): Setup {
  const now = { ms: Date.UTC(2030, 0, 1) };
  const clock = () => now.ms;
  const backend = kind === 'memory' ? new MemoryBackend({ clock }) : redisBackend(shared, clock);
  const p = prefix();
  return {
    backend,
    prefix: p,
    now,
    make(options = {}) {
      const kp = new KeyProtection({ prefix: p, ...options, backend, clock });
      closers.push(() => kp.close());
      return kp;
    },
  };
}

/** Presents `n` invalid keys from `ip`; the outcome of the last. */
async function attempts(kp: KeyProtection, ip: string, n: number): Promise<IpBlock | undefined> {
  let last: IpBlock | undefined;
  for (let i = 0; i < n; i++) last = await kp.invalidAttempt(ip);
  return last;
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

async function rejected(work: Promise<unknown>): Promise<unknown> {
  try {
    await work;
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('KeyProtection options and the key format', () => {
  const backend = new MemoryBackend();

  test('the default format: 8-256 printable ASCII characters without spaces', () => {
    const kp = new KeyProtection({ backend, prefix: prefix() });
    expect(kp.wellFormed('abcd1234')).toBe(true);
    expect(kp.wellFormed('k'.repeat(256))).toBe(true);
    expect(kp.wellFormed('abc1234')).toBe(false);
    expect(kp.wellFormed('k'.repeat(257))).toBe(false);
    expect(kp.wellFormed('abcd 1234')).toBe(false);
    expect(kp.wellFormed('abcd1234\n')).toBe(false);
    expect(kp.wellFormed('abcdé1234')).toBe(false);
    expect(kp.wellFormed(undefined as unknown as string)).toBe(false);
  });

  test('a custom pattern; a global flag does not make answers alternate', () => {
    const kp = new KeyProtection({ backend, prefix: prefix(), keyPattern: /^sk_[a-z0-9]{4}$/g });
    expect([kp.wellFormed('sk_ab12'), kp.wellFormed('sk_ab12'), kp.wellFormed('sk_ab12')]).toEqual([
      true,
      true,
      true,
    ]);
    expect(kp.wellFormed('pk_ab12')).toBe(false);
  });

  test.each([
    [{ maxInvalid: 0 }, 'maxInvalid'],
    [{ window: 'soon' }, 'window'],
    [{ window: '20 minutes' }, 'window'],
    [{ blockFor: -1 }, 'blockFor'],
    [{ maxBlock: '1 minute' }, 'maxBlock'],
    [{ forgetAfter: '' }, 'forgetAfter'],
    [{ refreshMs: 1.5 }, 'refreshMs'],
    [{ keyPattern: '^a+$' }, 'keyPattern'],
    [{ prefix: 'has space' }, 'prefix'],
    [{ backend: {} }, 'backend'],
    [{ maxInvalids: 3 }, 'maxInvalids'],
  ])('%j is refused, naming %s', (bad, field) => {
    const error = thrown(() => new KeyProtection({ backend, prefix: 'p', ...(bad as object) }));
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as InvalidOptionError).field).toBe(field);
  });
});

describe.each(['memory', 'redis'] as const)('KeyProtection on %s', (kind) => {
  test('the 10th invalid key within a minute blocks the IP; the next request finds it blocked', async () => {
    const { make, now } = setup(kind);
    const kp = make();
    const events: IpBlock[] = [];
    kp.on('blocked', (b) => events.push(b));
    const ip = '203.0.113.7';
    for (let i = 1; i <= 9; i++) {
      expect(await kp.invalidAttempt(ip)).toBeUndefined();
      expect(kp.blockOf(ip)).toBeUndefined();
    }
    const block = await kp.invalidAttempt(ip);
    expect(block).toEqual({
      ip,
      sinceMs: now.ms,
      untilMs: now.ms + 15 * MINUTE,
      offence: 1,
      reason: 'invalid-keys',
    });
    expect(kp.blockOf(ip)).toEqual(block);
    expect(events).toEqual([block]);
    // Another client is untouched; the blocked one is not counted again nor blocked twice.
    expect(kp.blockOf('203.0.113.8')).toBeUndefined();
    expect(await kp.invalidAttempt(ip)).toEqual(block);
    expect(events).toHaveLength(1);
    expect(await kp.list()).toEqual([block]);
    // A block that ends is simply absent.
    now.ms += 15 * MINUTE - 1;
    expect(kp.blockOf(ip)).toEqual(block);
    now.ms += 1;
    expect(kp.blockOf(ip)).toBeUndefined();
    expect(await kp.list()).toEqual([]);
  });

  test('invalid keys spread over more than the window do not block', async () => {
    const { make, now } = setup(kind);
    const kp = make();
    expect(await attempts(kp, '198.51.100.4', 9)).toBeUndefined();
    now.ms += MINUTE;
    expect(await attempts(kp, '198.51.100.4', 9)).toBeUndefined();
    expect(kp.blockOf('198.51.100.4')).toBeUndefined();
  });

  test('blocks double per repeat offence: 15, 30, 60 minutes... at most 24 hours', async () => {
    const { make, now } = setup(kind);
    const kp = make();
    const ip = '192.0.2.33';
    const minutes: number[] = [];
    const offences: number[] = [];
    for (let i = 0; i < 9; i++) {
      const block = await attempts(kp, ip, 10);
      if (block === undefined) throw new Error(`no block at offence ${i + 1}`);
      minutes.push((block.untilMs - block.sinceMs) / MINUTE);
      offences.push(block.offence);
      expect(kp.blockOf(ip)).toEqual(block);
      now.ms = block.untilMs;
      expect(kp.blockOf(ip)).toBeUndefined();
    }
    expect(minutes).toEqual([15, 30, 60, 120, 240, 480, 960, 1440, 1440]);
    expect(offences).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  test('IPv6 clients are counted and blocked by /64; IPv4-mapped addresses as IPv4', async () => {
    const { make } = setup(kind);
    const kp = make();
    let block: IpBlock | undefined;
    for (let i = 1; i <= 10; i++) block = await kp.invalidAttempt(`2001:db8:1:2::${i.toString(16)}`);
    expect(block?.ip).toBe('2001:db8:1:2::/64');
    expect(kp.blockOf('2001:db8:1:2:abcd:ef01:2345:6789')).toEqual(block);
    expect(kp.blockOf('[2001:DB8:1:2::1]')).toEqual(block);
    expect(kp.blockOf('2001:db8:1:3::1')).toBeUndefined();
    await attempts(kp, '::ffff:198.51.100.20', 5);
    const v4 = await attempts(kp, '198.51.100.20', 5);
    expect(v4?.ip).toBe('198.51.100.20');
    expect(kp.blockOf('::ffff:198.51.100.20')).toEqual(v4);
    // Without an address there is nothing to count or block.
    expect(await kp.invalidAttempt(undefined)).toBeUndefined();
    expect(kp.blockOf(undefined)).toBeUndefined();
  });

  test('admin: block, list and unblock, with events; unblocking forgets the offences', async () => {
    const { make, now, backend, prefix: p } = setup(kind);
    const kp = make();
    const blocked: IpBlock[] = [];
    const unblocked: [string, string | undefined][] = [];
    kp.on('blocked', (b) => blocked.push(b));
    kp.on('unblocked', (ip, by) => unblocked.push([ip, by]));

    const a = await kp.block('198.51.100.9', 60_000, 'alice');
    expect(a).toEqual({
      ip: '198.51.100.9',
      sinceMs: now.ms,
      untilMs: now.ms + 60_000,
      offence: 0,
      reason: 'admin',
      by: 'alice',
    });
    const b = await kp.block('2001:DB8:0:0:1::5', HOUR);
    expect(b.ip).toBe('2001:db8::/64');
    expect(kp.blockOf('2001:db8::77')).toEqual(b);
    expect(await kp.list()).toEqual([a, b]);
    expect(blocked).toEqual([a, b]);

    // An earned block, then an operator's shorter one replaces it.
    const earned = await attempts(kp, '192.0.2.50', 10);
    expect(earned?.untilMs).toBe(now.ms + 15 * MINUTE);
    now.ms += 1;
    const shorter = await kp.block('192.0.2.50', 1000, 'bob');
    expect(kp.blockOf('192.0.2.50')).toEqual(shorter);
    expect((await kp.list()).filter((x) => x.ip === '192.0.2.50')).toEqual([shorter]);

    expect(await kp.unblock('192.0.2.50', 'carol')).toBe(true);
    expect(await kp.unblock('192.0.2.50', 'carol')).toBe(false);
    expect(unblocked).toEqual([['192.0.2.50', 'carol']]);
    expect(kp.blockOf('192.0.2.50')).toBeUndefined();
    expect((await kp.list()).map((x) => x.ip)).toEqual(['198.51.100.9', '2001:db8::/64']);
    // Its count and offences were forgotten: nine more are not enough, the tenth is a first offence.
    expect(await attempts(kp, '192.0.2.50', 9)).toBeUndefined();
    expect((await kp.invalidAttempt('192.0.2.50'))?.offence).toBe(1);

    // An expired block leaves the list, and the next refresh deletes its field.
    now.ms += 60_000;
    expect((await kp.list()).map((x) => x.ip)).toEqual(['192.0.2.50', '2001:db8::/64']);
    await kp.refresh();
    const [hash] = await controlStoreOf(backend).hashesRead([`${p}:blocks`]);
    expect(Object.keys(hash ?? {}).some((f) => f.startsWith('198.51.100.9|'))).toBe(false);
  });

  test('admin input is validated, naming the field', async () => {
    const { make } = setup(kind);
    const kp = make();
    for (const ip of ['nope', '2001:db8::/48', '198.51.100.9/32', '']) {
      const error = await rejected(kp.block(ip, 1000));
      expect(error).toBeInstanceOf(InvalidOptionError);
      expect((error as InvalidOptionError).field).toBe('ip');
      expect(((await rejected(kp.unblock(ip))) as InvalidOptionError).field).toBe('ip');
    }
    for (const ms of [0, -5, 1.5, '60s', Number.POSITIVE_INFINITY]) {
      const error = await rejected(kp.block('198.51.100.9', ms as number));
      expect(error).toBeInstanceOf(InvalidOptionError);
      expect((error as InvalidOptionError).field).toBe('durationMs');
    }
  });

  test('a listener that throws does not stop a block', async () => {
    const { make } = setup(kind);
    const kp = make();
    kp.on('blocked', () => {
      throw new Error('listener bug');
    });
    expect((await attempts(kp, '192.0.2.77', 10))?.offence).toBe(1);
    expect(kp.blockOf('192.0.2.77')).toBeDefined();
  });
});

describe('KeyProtection on memory: forgetting offences', () => {
  // On memory the injected clock also moves the store's TTLs (Redis expires keys on its own clock: there the
  // TTL is checked instead, below).
  test('offences are forgotten 24 hours after the last block ends, not after the last offence', async () => {
    const { make, now } = setup('memory');
    const kp = make();
    const ip = '192.0.2.34';
    let block: IpBlock | undefined;
    for (let i = 0; i < 8; i++) {
      block = await attempts(kp, ip, 10);
      now.ms = block!.untilMs;
    }
    expect(block?.offence).toBe(8);
    expect(block && block.untilMs - block.sinceMs).toBe(24 * HOUR);
    // Free for just under 24 hours (48 hours after the last offence): still a repeat offender.
    now.ms += 24 * HOUR - 1;
    const again = await attempts(kp, ip, 10);
    expect(again?.offence).toBe(9);
    expect(again && again.untilMs - again.sinceMs).toBe(24 * HOUR);
    // Free for 24 hours: forgotten, a first offence again.
    now.ms = again!.untilMs + 24 * HOUR;
    const fresh = await attempts(kp, ip, 10);
    expect(fresh?.offence).toBe(1);
    expect(fresh && fresh.untilMs - fresh.sinceMs).toBe(15 * MINUTE);
  });
});

describe('KeyProtection on Redis', () => {
  test('offences live in Redis with a TTL re-armed to the block plus 24 hours', async () => {
    const { make, prefix: p } = setup('redis');
    const kp = make();
    await attempts(kp, '203.0.113.90', 10);
    const ttl = await shared.pttl(`${p}:offences:203.0.113.90`);
    expect(ttl).toBeGreaterThan(24 * HOUR + 14 * MINUTE);
    expect(ttl).toBeLessThanOrEqual(24 * HOUR + 15 * MINUTE);
  });

  test('the count of invalid keys is shared by instances: 5 on one and 5 on another block the IP', async () => {
    const p = prefix();
    const a = new KeyProtection({ backend: redisBackend(redisClient()), prefix: p });
    const b = new KeyProtection({ backend: redisBackend(redisClient()), prefix: p });
    closers.push(
      () => a.close(),
      () => b.close(),
    );
    expect(await attempts(a, '203.0.113.66', 5)).toBeUndefined();
    expect(await attempts(b, '203.0.113.66', 4)).toBeUndefined();
    expect((await b.invalidAttempt('203.0.113.66'))?.offence).toBe(1);
  });

  test('a block earned on one instance is enforced by another; so is a lift; a lost announcement is caught by the refresh', async () => {
    const p = prefix();
    const a = new KeyProtection({ backend: redisBackend(redisClient()), prefix: p });
    const bBackend = redisBackend(redisClient());
    const b = new KeyProtection({ backend: bBackend, prefix: p });
    closers.push(
      () => a.close(),
      () => b.close(),
    );
    a.start();
    b.start();
    // B's subscription takes a round trip to start: an admin block it hears proves it listens.
    await a.block('192.0.2.1', MINUTE);
    expect(await until(() => b.blockOf('192.0.2.1') !== undefined, 5000)).toBe(true);

    const ip = '203.0.113.44';
    await attempts(a, ip, 9);
    // From the start of the attempt that earns the block to B enforcing it.
    let t0 = performance.now();
    const block = await a.invalidAttempt(ip);
    expect(block?.offence).toBe(1);
    expect(await until(() => b.blockOf(ip) !== undefined, 5000, 1)).toBe(true);
    const blockMs = performance.now() - t0;
    expect(b.blockOf(ip)).toEqual(block);

    t0 = performance.now();
    expect(await a.unblock(ip, 'ops')).toBe(true);
    expect(await until(() => b.blockOf(ip) === undefined, 5000, 1)).toBe(true);
    const unblockMs = performance.now() - t0;

    // An instance whose announcements are lost: B learns of its block from the periodic full read.
    const store = controlStoreOf(bBackend);
    const deaf = new Proxy(store, {
      get: (target, name: keyof ControlStore) =>
        name === 'publish' ? async () => undefined : (target[name] as () => unknown).bind?.(target),
    });
    const c = new KeyProtection({ backend: bBackend, prefix: p, store: deaf });
    closers.push(() => c.close());
    await c.block('198.51.100.77', MINUTE);
    t0 = performance.now();
    expect(await until(() => b.blockOf('198.51.100.77') !== undefined, 5000, 5)).toBe(true);
    const refreshMs = performance.now() - t0;
    reportFigure('key-protection block propagation', {
      blockMs: Math.round(blockMs * 10) / 10,
      unblockMs: Math.round(unblockMs * 10) / 10,
      lostAnnouncementMs: Math.round(refreshMs),
      refreshMs: 1000,
    });
  });

  test('a closed backend still counts in memory and blocks', async () => {
    const backend = new RedisBackend({ client: shared });
    await backend.close();
    const kp = new KeyProtection({ backend, prefix: prefix() });
    expect(await attempts(kp, '192.0.2.99', 9)).toBeUndefined();
    expect((await kp.invalidAttempt('192.0.2.99'))?.offence).toBe(1);
  });

  test('Redis down: invalid keys are counted locally and block (never open); the block is written when Redis is back', async () => {
    const server = await startRedis();
    closers.push(() => server.stop());
    const p = prefix();
    const client = redisClient(server.url, { enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    const backend = redisBackend(client, undefined, 200);
    const kp = new KeyProtection({ backend, prefix: p, refreshMs: 50 });
    closers.push(() => kp.close());
    kp.start();
    const ip = '203.0.113.123';
    expect(await attempts(kp, ip, 3)).toBeUndefined();
    await server.stop();
    // Counts made on Redis stay there; the local fallback counts afresh, all 10 on this instance.
    expect(await attempts(kp, ip, 9)).toBeUndefined();
    const block = await kp.invalidAttempt(ip);
    expect(block).toMatchObject({ ip, offence: 1, reason: 'invalid-keys' });
    expect(kp.blockOf(ip)).toEqual(block);
    // Listed from what this instance enforces while the store cannot be read.
    expect(await kp.list()).toEqual([block]);
    // Admin writes need the store: they fail rather than pretend.
    expect(await rejected(kp.block('192.0.2.5', 1000))).toBeInstanceOf(Error);

    await server.restart();
    const probe = redisClient(server.url);
    expect(
      await until(async () => Object.keys(await probe.hgetall(`${p}:blocks`)).length > 0, 15_000, 50),
    ).toBe(true);
    const other = new KeyProtection({ backend: redisBackend(redisClient(server.url)), prefix: p });
    expect(await other.list()).toEqual([block]);
  });
});

describe('KeyProtection close', () => {
  test('close() stops the timer and the subscription: the process exits on its own', async () => {
    const src = (file: string) => pathToFileURL(path.join(CORE, 'src', file)).href;
    const code = `
      import { RedisBackend } from ${JSON.stringify(src('backends/redis.ts'))};
      import { KeyProtection } from ${JSON.stringify(src('control/protection.ts'))};
      import { controlStoreOf } from ${JSON.stringify(src('control/store-of.ts'))};
      const backend = new RedisBackend({ client: process.env.KP_URL });
      const store = controlStoreOf(backend);
      // A URL-built backend's connection has no offline queue: the store answers once it is ready.
      await new Promise((r) => backend.client.once('ready', r));
      let reads = 0;
      // Every other method runs on the store itself, so what it opens, its close() closes.
      const counting = new Proxy(store, {
        get: (target, name) => name === 'hashesRead'
          ? (keys) => { reads++; return target.hashesRead(keys); }
          : typeof target[name] === 'function' ? target[name].bind(target) : target[name],
      });
      const kp = new KeyProtection({ backend, prefix: process.env.KP_PREFIX, store: counting, refreshMs: 10 });
      kp.start();
      for (let i = 0; i < 10; i++) await kp.invalidAttempt('192.0.2.200');
      await new Promise((r) => setTimeout(r, 100));
      const before = reads;
      await kp.close();
      const atClose = reads;
      await new Promise((r) => setTimeout(r, 100));
      const after = reads;
      await backend.close();
      await store.close();
      const blocked = kp.blockOf('192.0.2.200') !== undefined;
      console.log(JSON.stringify({ before, atClose, after, blocked }));
    `;
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--conditions=source', '--input-type=module', '-e', code],
      {
        cwd: CORE,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, KP_URL: redisUrlForTests(), KP_PREFIX: prefix() },
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString('utf8');
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString('utf8');
    });
    const guard = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const exit = await new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      child.once('close', (code, signal) => resolve({ code, signal })),
    );
    clearTimeout(guard);
    expect(exit, stderr).toEqual({ code: 0, signal: null });
    const report = JSON.parse(stdout.trim()) as {
      before: number;
      atClose: number;
      after: number;
      blocked: boolean;
    };
    expect(report.blocked).toBe(true);
    expect(report.before).toBeGreaterThan(0);
    expect(report.after).toBe(report.atClose);
  });

  test('start() after close() is refused; close() twice is harmless', async () => {
    const kp = new KeyProtection({ backend: new MemoryBackend(), prefix: prefix() });
    kp.start();
    await kp.close();
    await kp.close();
    expect(() => kp.start()).toThrow(ClosedError);
  });
});
