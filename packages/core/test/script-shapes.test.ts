import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeScript, paramArgs, shapeOf } from '../src/backends/lua.js';
import {
  type Algorithm,
  type AlgorithmStep,
  fixedWindow,
  gcra,
  hybrid,
  RateLimiter,
  RedisBackend,
  slidingWindow,
  tokenBucket,
} from '../src/index.js';
import { FakeClock } from './support/clock.js';
import {
  type RedisClusterInstance,
  type RedisInstance,
  startRedis,
  startRedisCluster,
} from './support/testkit.js';

// Issue 11: Redis 7 never evicts a loaded script, so a script per rate (tiers, per-request rates, reloads)
// would grow its script cache without bound. A script depends on the shape of its steps only.

const bucket = (capacity: number) => tokenBucket({ capacity, refillRate: `${capacity}/hour` });

// 50 rates of each of three shapes: tb/3, sw/2, and hybrid tb/3,sw/2.
const RATES = Array.from({ length: 50 }, (_, i) => i + 1);
const ALGORITHMS: Algorithm[] = RATES.flatMap((n) => [
  bucket(n),
  slidingWindow(`${n}/minute`),
  hybrid(bucket(n), slidingWindow(`${n * 2}/minute`)),
]);
const SHAPES = new Set(ALGORITHMS.map((a) => shapeOf(a.members))).size;

describe('composeScript', () => {
  it('gives every keyspace of one shape one script, whatever its parameters', () => {
    const a = composeScript(bucket(3).members);
    const b = composeScript(tokenBucket({ capacity: 987_654, refillRate: '13/minute' }).members);
    expect(b).toBe(a);
    expect(b.sha).toBe(a.sha);
    expect(a.source).not.toContain('987654');
    const h = composeScript(hybrid(bucket(1), slidingWindow('1/s')).members);
    expect(composeScript(hybrid(bucket(9), slidingWindow('9/hour')).members).sha).toBe(h.sha);
  });

  it('composes one script per shape', () => {
    const shas = [
      bucket(1),
      slidingWindow('1/s'),
      fixedWindow('1/s'),
      gcra('1/s'),
      hybrid(bucket(1), bucket(2)),
      hybrid(bucket(1), slidingWindow('1/s')),
      hybrid(slidingWindow('1/s'), bucket(1)),
    ].map((a) => composeScript(a.members).sha);
    expect(new Set(shas).size).toBe(shas.length);
  });

  it('names the shape by step ids and params counts, and sends the params in member order', () => {
    const { members } = hybrid(bucket(4), fixedWindow('7/minute'));
    expect(shapeOf(members)).toBe('tb/3,fw/2');
    expect(paramArgs(members)).toEqual(['4', '4', '3600000', '7', '60000']);
  });

  it('does not hand a custom step that reuses an id the cached Lua of another step', () => {
    const builtIn = bucket(2).members[0]!;
    const custom: AlgorithmStep = {
      ...builtIn,
      lua: `function(s, now, cost, p) return nil, 0, 0, 0, 7, 0 end`,
    };
    const script = composeScript([custom]);
    expect(script.sha).not.toBe(composeScript([builtIn]).sha);
    expect(script.source).toContain('return nil, 0, 0, 0, 7, 0');
  });
});

async function cachedScripts(node: Redis): Promise<number> {
  const info = await node.info('memory');
  return Number(/number_of_cached_scripts:(\d+)/.exec(info)![1]);
}

// Every decision below is exact under each limiter's own rate: a bucket or window of n allows n of n + 1
// decisions made together (one batch per keyspace, all keyspaces on one script per shape). Each limiter
// has a client of its own, so on a Cluster the keys spread over the masters (the hash tag is the client).
async function decideUnderEveryRate(backend: RedisBackend): Promise<void> {
  const allowed = await Promise.all(
    ALGORITHMS.map(async (algorithm, i) => {
      const limiter = new RateLimiter({ algorithm, backend, prefix: `rates${i}` });
      const decisions = await Promise.all(
        Array.from({ length: algorithm.members[0]!.limit + 1 }, () => limiter.limit(`client${i}`)),
      );
      return decisions.filter((d) => d.allowed).length;
    }),
  );
  expect(allowed).toEqual(ALGORITHMS.map((a) => a.members[0]!.limit));
}

// A new rate on the same key acts on the count already there (key names carry no rates).
async function carryCountAcrossRates(backend: RedisBackend): Promise<void> {
  const run = async (algorithm: Algorithm, n: number) => {
    const limiter = new RateLimiter({ algorithm, backend, prefix: 'carry' });
    const out: boolean[] = [];
    for (let i = 0; i < n; i++) out.push((await limiter.limit('k')).allowed);
    return out;
  };
  for (const make of [
    bucket,
    (n: number) => slidingWindow(`${n}/minute`),
    (n: number) => fixedWindow(`${n}/hour`),
  ]) {
    expect(await run(make(3), 4)).toEqual([true, true, true, false]);
    expect(await run(make(5), 3)).toEqual([true, true, false]);
    await new RateLimiter({ algorithm: make(5), backend, prefix: 'carry' }).reset('k');
  }
  // A hybrid's params reach the right members: the bucket limits first, then the window's count carries.
  expect(await run(hybrid(bucket(3), fixedWindow('5/hour')), 4)).toEqual([true, true, true, false]);
  expect(await run(hybrid(bucket(10), fixedWindow('4/hour')), 2)).toEqual([true, false]);
}

describe('scripts on a server of its own', () => {
  let server: RedisInstance;
  let admin: Redis;
  let backend: RedisBackend;
  const clock = new FakeClock();
  beforeAll(async () => {
    server = await startRedis();
    admin = new Redis(server.url);
    backend = new RedisBackend({ client: server.url, clock: clock.read, instances: 1 });
  });
  afterAll(async () => {
    await backend.close();
    admin.disconnect();
    await server.stop();
  });

  it(`loads one script per shape for ${ALGORITHMS.length} distinct rates, and decides exactly`, async () => {
    const before = await cachedScripts(admin);
    await decideUnderEveryRate(backend);
    expect((await cachedScripts(admin)) - before).toBe(SHAPES);
  });

  it('carries the count when the rate of a key changes', async () => {
    await carryCountAcrossRates(backend);
  });
});

describe('scripts on a Redis Cluster', () => {
  let instance: RedisClusterInstance;
  let cluster: Cluster;
  let backend: RedisBackend;
  const clock = new FakeClock();
  const perMaster = () => Promise.all(cluster.nodes('master').map((n) => cachedScripts(n)));
  beforeAll(async () => {
    instance = await startRedisCluster({ masters: 3 });
    cluster = new Cluster(instance.nodes);
    await cluster.ping();
    backend = new RedisBackend({ client: cluster, clock: clock.read, instances: 1 });
  });
  afterAll(async () => {
    await backend?.close();
    await cluster?.quit();
    await instance?.stop();
  });

  it('loads at most one script per shape on each master, and decides exactly', async () => {
    const before = await perMaster();
    await decideUnderEveryRate(backend);
    const after = await perMaster();
    after.forEach((n, i) => {
      expect(n - before[i]!).toBeLessThanOrEqual(SHAPES);
    });
    // The keys spread over the masters, so every master ran (and so loaded) scripts.
    expect(after.every((n, i) => n > before[i]!)).toBe(true);
  });

  it('carries the count when the rate of a key changes', async () => {
    await carryCountAcrossRates(backend);
  });
});
