import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { InvalidConfigError, InvalidOptionError } from '../../src/index.js';
import {
  type ConfigSource,
  configSourceOf,
  createConfigSource,
} from '../../src/policy/source/config-source.js';
import type { ConfigSourceOptions } from '../../src/policy/source/options.js';
import { ConfigVersionError } from '../../src/policy/source/version-error.js';
import { hashOf, issueDocument, PRO_KEY } from '../support/config-document.js';
import { redisUrlForTests } from '../support/testkit.js';

// The overlay as the admin API uses it: a local one (no Redis), keys with an expiry on an injected clock,
// publish with ifVersion, and what inForce() and status() report. The Redis cases use the shared test
// Redis, each under a prefix of its own.

const T0 = 1_700_000_000_000;
const open: ConfigSource[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});
const client = new Redis(redisUrlForTests());
afterAll(async () => {
  await client.quit();
});

function manual(start = T0) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

function source(options: Partial<ConfigSourceOptions> = {}): ConfigSource {
  const s = createConfigSource({ document: issueDocument() as never, ...options });
  open.push(s);
  return s;
}

let prefixes = 0;
async function onRedis(prefix: string, clock?: () => number): Promise<ConfigSource> {
  const s = source({ redis: { client, prefix, pollMs: 50 }, ...(clock ? { clock } : {}) });
  await s.ready();
  return s;
}
const newPrefix = () => `admin-src-${process.pid}-${++prefixes}`;

const FREE = 'demo_free_key_123';
const tierOf = (s: ConfigSource, key: string) => s.current().tierOfKey(key)?.tier;

describe('a local overlay', () => {
  it('publish applies in this process, with origins, and removal restores the base', async () => {
    const s = source({ localOverlay: true });
    const before = s.current();
    const after = await s.publish({ tiers: { free: { rate: '30/minute' } } });
    expect(after).toBe(s.current());
    expect(after.version).not.toBe(before.version);
    expect(after.tiers.get('free')!.algorithm.members[0]!.limit).toBe(30);
    expect(after.origins.tiers.get('free')).toBe('redis');
    expect(after.origins.overlayVersion).toBe(1);
    expect(s.inForce()).toMatchObject({ overlay: 'local', base: 'document', overlayVersion: 1 });
    await s.publish({ tiers: { free: null } });
    expect(s.current().version).toBe(before.version);
    expect(s.current().origins.tiers.get('free')).toBe('base');
  });

  it('an invalid change throws every problem, names the local overlay, and changes nothing', async () => {
    const s = source({ localOverlay: true });
    const before = s.current();
    const error = await s
      .publish({ rules: { x: { id: 'x', match: { path: '/x' }, rate: 'often' } } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidConfigError);
    const problems = (error as InvalidConfigError).problems;
    expect(problems.map((p) => p.path)).toEqual(['rules[2].rate']);
    expect(problems[0]!.message).toMatch(/\(from the local overlay's rules\.x\)$/);
    expect(s.current()).toBe(before);
  });

  it('is off unless asked for: without it publish still throws naming redis', async () => {
    const error = await source()
      .publish({ tiers: { free: { rate: '1/s' } } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as InvalidOptionError).field).toBe('redis');
    expect(source().inForce().overlay).toBe('none');
  });

  it('is refused next to redis, and a clock must be a function', () => {
    const doc = issueDocument() as never;
    const redis = { client: 'redis://127.0.0.1:1' };
    expect(optionField(() => createConfigSource({ document: doc, redis, localOverlay: true }))).toBe(
      'localOverlay',
    );
    expect(optionField(() => createConfigSource({ document: doc, localOverlay: 'yes' as never }))).toBe(
      'localOverlay',
    );
    expect(optionField(() => createConfigSource({ document: doc, clock: 5 as never }))).toBe('clock');
  });

  it("is what a limiter's own source (configSourceOf) gets", async () => {
    const { source: s } = configSourceOf(issueDocument() as never);
    open.push(s);
    await s.publish({ keys: { [hashOf(FREE)]: 'pro' } });
    expect(tierOf(s, FREE)).toBe('pro');
  });
});

function optionField(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof InvalidOptionError ? error.field : `not an InvalidOptionError: ${error}`;
  }
  return undefined;
}

describe('overlay keys', () => {
  it('a hashed overlay key replaces the base entry of the same key, raw or hashed', async () => {
    const s = source({ localOverlay: true });
    expect(tierOf(s, FREE)).toBe('free');
    await s.publish({ keys: { [hashOf(FREE)]: 'enterprise', [hashOf(PRO_KEY)]: 'free' } });
    expect(tierOf(s, FREE)).toBe('enterprise');
    expect(tierOf(s, PRO_KEY)).toBe('free');
    // The raw base entry is gone from the document, not left beside the hash with another tier.
    expect(s.inForce().document.keys[FREE]).toBeUndefined();
    await s.publish({ keys: { [hashOf(FREE)]: null } });
    expect(tierOf(s, FREE)).toBe('free');
  });

  it('an entry with expiresAt applies until then, by the injected clock, then the base applies again', async () => {
    const clock = manual();
    const s = source({ localOverlay: true, clock: clock.now });
    const reloads: string[] = [];
    s.on('reloaded', (snap) => reloads.push(snap.version));
    const expiresAt = T0 + 60_000;
    await s.publish({ keys: { [hashOf(FREE)]: { tier: 'pro', expiresAt } } });
    expect(tierOf(s, FREE)).toBe('pro');
    expect(s.inForce().overlayKeys).toEqual([{ key: hashOf(FREE), tier: 'pro', expiresAt }]);
    clock.advance(59_999);
    expect(tierOf(s, FREE)).toBe('pro');
    clock.advance(1);
    expect(tierOf(s, FREE)).toBe('free');
    expect(s.inForce().overlayKeys).toEqual([]);
    expect(reloads).toHaveLength(2);
  });

  it('a new key with an expiry disappears altogether once it expires', async () => {
    const clock = manual();
    const s = source({ localOverlay: true, clock: clock.now });
    await s.publish({ keys: { [hashOf('new_key')]: { tier: 'free', expiresAt: T0 + 1000 } } });
    expect(tierOf(s, 'new_key')).toBe('free');
    clock.advance(1000);
    expect(tierOf(s, 'new_key')).toBeUndefined();
  });

  it('the next publish removes expired entries from the overlay', async () => {
    const clock = manual();
    const prefix = newPrefix();
    const s = await onRedis(prefix, clock.now);
    await s.publish({ keys: { [hashOf(FREE)]: { tier: 'pro', expiresAt: T0 + 1000 } } });
    const hash = `{${prefix}:config}:overlay`;
    expect(Object.keys(await client.hgetall(hash))).toEqual([`keys.${hashOf(FREE)}`]);
    clock.advance(1000);
    expect(tierOf(s, FREE)).toBe('free');
    await s.publish({ tiers: { free: { rate: '11/minute', burst: 20 } } });
    expect(Object.keys(await client.hgetall(hash))).toEqual(['tiers.free']);
  });

  it('refuses an entry that is neither a tier name nor { tier, expiresAt }', async () => {
    const s = source({ localOverlay: true });
    for (const bad of [
      { tier: 'pro' },
      { tier: 'pro', expiresAt: -1 },
      { tier: 'pro', expiresAt: 1, x: 1 },
      5,
    ]) {
      const error = await s.publish({ keys: { [hashOf(FREE)]: bad as never } }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidConfigError);
      expect((error as InvalidConfigError).problems[0]!.path).toMatch(/^keys\["sha256:/);
    }
  });
});

describe('publish with ifVersion', () => {
  it('locally: writes at the version in force, throws ConfigVersionError at another', async () => {
    const s = source({ localOverlay: true });
    const v0 = s.current().version;
    await s.publish({ tiers: { free: { rate: '12/minute', burst: 20 } } }, { ifVersion: v0 });
    const error = await s
      .publish({ tiers: { free: { rate: '13/minute', burst: 20 } } }, { ifVersion: v0 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigVersionError);
    expect((error as ConfigVersionError).current).toBe(s.current().version);
    expect(s.current().tiers.get('free')!.algorithm.members[0]!.limit).toBe(20);
  });

  it('on Redis: judged against the overlay as stored, so a source that has not seen a change yet refuses', async () => {
    const prefix = newPrefix();
    const a = await onRedis(prefix);
    const b = await onRedis(prefix);
    const v0 = b.current().version;
    await a.publish({ tiers: { free: { rate: '12/minute', burst: 20 } } }, { ifVersion: v0 });
    // Whether or not b has heard of a's change yet, the stored overlay is no longer at v0.
    const error = await b
      .publish({ tiers: { pro: { rate: '10/s' } } }, { ifVersion: v0 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigVersionError);
    expect(await client.hkeys(`{${prefix}:config}:overlay`)).toEqual(['tiers.free']);
    const v1 = a.current().version;
    await b.publish({ tiers: { pro: { rate: '20/s' } } }, { ifVersion: v1 });
    expect(b.current().tiers.get('pro')!.algorithm.members[0]!.limit).toBe(20);
  });
});

describe('status', () => {
  it('is ready, not stale, without errors at first; a rejected overlay makes it stale until a change applies', async () => {
    const s = source({ localOverlay: true });
    expect(s.status()).toEqual({ ready: true, stale: false, lastError: undefined });
    const prefix = newPrefix();
    const r = await onRedis(prefix);
    expect(r.status()).toMatchObject({ ready: true, stale: false });
    // An overlay written behind the source's back that does not merge: rejected, stale, last good kept.
    await client.hset(`{${prefix}:config}:overlay`, 'tiers.free', JSON.stringify({ rate: 'often' }));
    await client.incr(`{${prefix}:config}:version`);
    await until(() => r.status().stale);
    expect(r.status().lastError?.problems?.[0]?.path).toBe('tiers.free.rate');
    await r.publish({ tiers: { free: null } });
    expect(r.status().stale).toBe(false);
  });
});

async function until(check: () => boolean, boundMs = 5000): Promise<void> {
  const deadline = Date.now() + boundMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
