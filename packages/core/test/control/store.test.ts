import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, test } from 'vitest';
import { MemoryControlStore } from '../../src/control/memory-store.js';
import { RedisControlStore } from '../../src/control/redis-store.js';
import type { ControlStore } from '../../src/control/store.js';
import { redisUrlForTests } from '../../../testkit/src/index.js';

// One behaviour, both stores: every case runs on memory and on a real Redis (under a fresh prefix).

const client = new Redis(redisUrlForTests());
const stores: [string, () => ControlStore][] = [
  ['memory', () => new MemoryControlStore()],
  ['redis', () => new RedisControlStore(client)],
];
const opened: ControlStore[] = [];
afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
  await client.quit();
});

describe.each(stores)('%s control store', (_, make) => {
  const fresh = () => {
    const store = make();
    opened.push(store);
    return { store, k: (name: string) => `t${randomUUID().slice(0, 8)}:${name}` };
  };

  test('hashAdd adds per field; hashesRead reads several, missing ones as {}', async () => {
    const { store, k } = fresh();
    const a = k('a');
    await store.hashAdd(a, { allowed: 2, limited: 1 }, 60_000);
    await store.hashAdd(a, { allowed: 3 }, 60_000);
    expect(await store.hashesRead([a, k('none')])).toEqual([{ allowed: '5', limited: '1' }, {}]);
  });

  test('hashSet and hashDelete edit one field', async () => {
    const { store, k } = fresh();
    const h = k('h');
    await store.hashSet(h, 'x', '1');
    await store.hashSet(h, 'y', '2');
    expect(await store.hashDelete(h, 'x')).toBe(true);
    expect(await store.hashDelete(h, 'x')).toBe(false);
    expect(await store.hashesRead([h])).toEqual([{ y: '2' }]);
  });

  test('scoresTop gives the highest members first', async () => {
    const { store, k } = fresh();
    const z = k('z');
    await store.scoresAdd(z, { a: 1, b: 5, c: 3 }, 60_000);
    await store.scoresAdd(z, { a: 10 }, 60_000);
    expect(await store.scoresTop([z, k('none')], 2)).toEqual([
      [
        ['a', 11],
        ['b', 5],
      ],
      [],
    ]);
  });

  test('counterAdd counts and reports the new value; set, get and delete', async () => {
    const { store, k } = fresh();
    const c = k('c');
    expect(await store.counterAdd(c, 1, 60_000)).toBe(1);
    expect(await store.counterAdd(c, 2, 60_000)).toBe(3);
    await store.set(k('s'), 'v', 60_000);
    expect(await store.get(k('s'))).toBeUndefined();
    const s = k('s');
    await store.set(s, 'v', 60_000);
    expect(await store.get(s)).toBe('v');
    expect(await store.delete(s, c, k('none'))).toBe(2);
    expect(await store.get(s)).toBeUndefined();
  });

  test('a stream keeps about maxLen entries and reads from a time', async () => {
    const { store, k } = fresh();
    const st = k('audit');
    const before = Date.now();
    for (let i = 0; i < 5; i++) await store.streamAdd(st, { n: String(i) }, 1000);
    const all = await store.streamRead(st, before - 1000, 100);
    expect(all.map((e) => e.fields.n)).toEqual(['0', '1', '2', '3', '4']);
    expect(all[0]!.at).toBeGreaterThanOrEqual(before - 1000);
    expect(await store.streamRead(st, Date.now() + 60_000, 100)).toEqual([]);
    expect((await store.streamRead(st, 0, 2)).map((e) => e.fields.n)).toEqual(['0', '1']);
  });

  test('publish reaches subscribers; unsubscribing stops it', async () => {
    const { store, k } = fresh();
    const channel = k('ch');
    const heard: string[] = [];
    const stop = store.subscribe(channel, (m) => heard.push(m));
    // A subscription on Redis takes a round trip to start: publish until it is heard.
    await expect
      .poll(
        async () => {
          await store.publish(channel, 'hello');
          return heard.length;
        },
        { timeout: 5000 },
      )
      .toBeGreaterThan(0);
    stop();
    const n = heard.length;
    await store.publish(channel, 'late');
    await new Promise((r) => setTimeout(r, 100));
    expect(heard.length).toBe(n);
  });
});

describe('memory control store expiry', () => {
  test('keys expire on the store clock', async () => {
    let now = 1_000_000;
    const store = new MemoryControlStore(() => now);
    await store.set('a', 'v', 1000);
    await store.hashAdd('h', { x: 1 }, 1000);
    now += 999;
    expect(await store.get('a')).toBe('v');
    now += 1;
    expect(await store.get('a')).toBeUndefined();
    expect(await store.hashesRead(['h'])).toEqual([{}]);
  });
});

describe('controlStoreOf', () => {
  test('a CircuitBreaker around a RedisBackend shares the Redis store; a MemoryBackend gets one in memory', async () => {
    const { controlStoreOf } = await import('../../src/control/store-of.js');
    const { CircuitBreaker, MemoryBackend, RedisBackend } = await import('../../src/index.js');
    const redisBackend = new RedisBackend({ client, breaker: false });
    const wrapped = new CircuitBreaker({ backend: redisBackend });
    expect(controlStoreOf(wrapped)).toBe(controlStoreOf(redisBackend));
    expect(controlStoreOf(wrapped).kind).toBe('redis');
    const memory = new MemoryBackend();
    expect(controlStoreOf(memory).kind).toBe('memory');
    expect(controlStoreOf(memory)).toBe(controlStoreOf(memory));
    await redisBackend.close();
  });
});
