import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  fixedWindow,
  gcra,
  hybrid,
  leakyBucket,
  RateLimiter,
  RedisBackend,
  slidingLog,
  slidingWindow,
  tokenBucket,
} from '../src/index.js';
import { describeBackendBehaviour } from './support/behaviour.js';
import { FakeClock } from './support/clock.js';
import { clusterBackends } from './support/redis.js';
import { flushTestRedis, type RedisClusterInstance, startRedisCluster } from './support/testkit.js';

let instance: RedisClusterInstance;
let cluster: Cluster;

beforeAll(async () => {
  instance = await startRedisCluster({ masters: 3 });
  cluster = new Cluster(instance.nodes);
  await cluster.ping();
});

afterAll(async () => {
  await cluster?.quit();
  await instance?.stop();
});

describeBackendBehaviour(
  'RedisBackend (cluster)',
  clusterBackends(() => cluster),
);

// Keys chosen to trip hash-tag parsing: braces of their own, a leading "}", separators, non-ASCII.
const awkwardKeys = [
  'alice',
  '1.2.3.4',
  '2001:db8::/64',
  '{tag}',
  '}lead',
  'a}b',
  '{',
  '}',
  'ключ',
  'user:{42}',
];

const everyMember = () =>
  hybrid(
    tokenBucket('10/s'),
    leakyBucket('10/s'),
    fixedWindow('20/minute'),
    slidingWindow('20/minute'),
    slidingLog('20/minute'),
    gcra('10/s'),
  );

describe('RedisBackend on a 3-master cluster', () => {
  it('puts every key of one client key in one hash slot', async () => {
    const limiter = new RateLimiter({
      algorithm: everyMember(),
      backend: new RedisBackend({ client: cluster }),
    });
    const slotsSeen = new Set<number>();
    for (const key of awkwardKeys) {
      const slots = new Set<number>();
      for (const k of limiter.keysFor(key)) slots.add(Number(await cluster.cluster('KEYSLOT', k)));
      expect({ key, slots: [...slots].length }).toEqual({ key, slots: 1 });
      slotsSeen.add([...slots][0]!);
    }
    // The tags spread client keys over the cluster instead of piling them on one slot.
    expect(slotsSeen.size).toBeGreaterThan(1);
  });

  it('runs a hybrid of every algorithm as one script without CROSSSLOT, for any key', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({
      algorithm: everyMember(),
      backend: new RedisBackend({ client: cluster, clock: clock.read }),
      prefix: 'cross',
    });
    for (const key of awkwardKeys) {
      const decisions = [];
      for (let i = 0; i < 11; i++) decisions.push(await limiter.limit(key));
      expect({ key, allowed: decisions.filter((d) => d.allowed).length }).toEqual({ key, allowed: 10 });
      expect(decisions[10]).toMatchObject({ allowed: false, limit: 10, retryAfterMs: 100 });
    }
  });

  it('reloads scripts on every master after SCRIPT FLUSH', async () => {
    const limiter = new RateLimiter({
      algorithm: hybrid(fixedWindow('10/minute'), gcra('10/minute')),
      backend: new RedisBackend({ client: cluster }),
      prefix: 'flush',
    });
    for (const key of awkwardKeys) await limiter.limit(key);
    await Promise.all(cluster.nodes('master').map((n) => flushTestRedis(n, 'scripts')));
    for (const key of awkwardKeys) expect((await limiter.limit(key)).remaining).toBe(8);
  });
});
