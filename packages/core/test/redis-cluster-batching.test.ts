import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { slotOf } from '../src/backends/node-pipelines.js';
import {
  type Algorithm,
  fixedWindow,
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

// Issue 14: on a Cluster, decisions asked for together are sent as one script per keyspace and hash slot,
// and the scripts for one master in one pipeline; a batch turned away by a moving slot is sent again one
// call per client key through the Cluster.

let instance: RedisClusterInstance;
let standalone: RedisInstance;
let cluster: Cluster;
let server: Redis;
const opened: Redis[] = [];

beforeAll(async () => {
  [instance, standalone] = await Promise.all([startRedisCluster({ masters: 3 }), startRedis()]);
  cluster = new Cluster(instance.nodes);
  server = new Redis(standalone.url);
  await cluster.ping();
});

afterAll(async () => {
  await Promise.all([cluster, server, ...opened].map((c) => c?.quit()));
  await Promise.all([instance?.stop(), standalone?.stop()]);
});

let prefixes = 0;

function limiterOn(client: Redis | Cluster, algorithm: Algorithm, clock = new FakeClock()): RateLimiter {
  return new RateLimiter({
    algorithm,
    backend: new RedisBackend({ client, clock: clock.read }),
    prefix: `batch${prefixes++}`,
  });
}

/** `count` client keys whose keys of `limiter` all fall in `slot`. */
function keysInSlot(limiter: RateLimiter, slot: number, count: number): string[] {
  const found: string[] = [];
  for (let i = 0; found.length < count; i++) {
    if (slotOf(limiter.keysFor(`client:${i}`)[0]!) === slot) found.push(`client:${i}`);
  }
  return found;
}

/** A connection of the test's own to the master on `port`. */
function nodeAt(port: number): Redis {
  const node = new Redis({ host: '127.0.0.1', port });
  opened.push(node);
  return node;
}

/** EVALSHA calls the node has run (INFO commandstats; refused calls are counted apart, not here). */
async function evalshaCalls(node: Redis): Promise<number> {
  const m = /cmdstat_evalsha:calls=(\d+)/.exec(await node.info('commandstats'));
  return m ? Number(m[1]) : 0;
}

/** EVALSHA calls per master port, for every master. */
async function callsPerMaster(): Promise<Map<number, number>> {
  const { masters } = await instance.topology();
  const calls = await Promise.all(
    masters.map(async (m) => [m.port, await evalshaCalls(nodeAt(m.port))] as const),
  );
  return new Map(calls);
}

describe('RedisBackend on a 3-master cluster: batches per hash slot', () => {
  // 30 decisions: a turn's batch of 32 or more goes out as several calls back to back (pipelined parts).
  it('runs 30 concurrent decisions for 15 client keys of one slot as one script call', async () => {
    const limiter = limiterOn(cluster, fixedWindow('10/minute'));
    const slot = slotOf(limiter.keysFor('anyone')[0]!);
    const keys = keysInSlot(limiter, slot, 15);
    const owner = nodeAt((await instance.slotOwner(slot)).port);
    // Loads the script on that master first (a first call is refused NOSCRIPT and sent again as EVAL).
    await limiter.peek(keys[0]!);
    const before = await evalshaCalls(owner);

    const decisions = await Promise.all([...keys, ...keys].map((k) => limiter.limit(k)));

    expect(await evalshaCalls(owner)).toBe(before + 1);
    expect(decisions.map((d) => d.remaining)).toEqual([...keys.map(() => 9), ...keys.map(() => 8)]);
  });

  it('never puts two slots in one script: one call per slot, each on the master serving it', async () => {
    const limiter = limiterOn(cluster, fixedWindow('10/minute'));
    const keys = Array.from({ length: 60 }, (_, i) => `spread:${i}`);
    const slots = new Set(keys.map((k) => slotOf(limiter.keysFor(k)[0]!)));
    const expected = new Map<number, number>();
    for (const slot of slots) {
      const port = (await instance.slotOwner(slot)).port;
      expected.set(port, (expected.get(port) ?? 0) + 1);
    }
    // Every master has the script before counting.
    await Promise.all(keys.map((k) => limiter.peek(k)));
    const before = await callsPerMaster();

    const decisions = await Promise.all(keys.map((k) => limiter.limit(k)));

    const after = await callsPerMaster();
    const ran = new Map([...after].map(([port, n]) => [port, n - before.get(port)!]));
    expect(ran).toEqual(new Map([...after.keys()].map((port) => [port, expected.get(port) ?? 0])));
    // The keys reach every master, so each one shows its own count.
    expect(expected.size).toBe(3);
    expect(decisions.every((d) => d.allowed && d.remaining === 9)).toBe(true);
  });

  it('decides exactly as a standalone server does, for concurrent decisions sharing slots', async () => {
    const algorithm = () =>
      hybrid(tokenBucket({ capacity: 5, refillRate: '5/minute' }), slidingWindow('7/minute'));
    const onCluster = limiterOn(cluster, algorithm());
    const onServer = limiterOn(server, algorithm());
    // Twelve client keys over three slots (four each), so every batch holds several client keys.
    const anchors = ['a', 'b', 'c'].map((k) => slotOf(onCluster.keysFor(k)[0]!));
    const keys = anchors.flatMap((slot) => keysInSlot(onCluster, slot, 4));
    // Six rounds of every key at once, costs 1 to 3, every third a peek: enough to run out of tokens.
    const round = (limiter: RateLimiter, r: number) =>
      Promise.all(
        keys.map((k, i) =>
          (i + r) % 3 === 0 ? limiter.peek(k) : limiter.limit(k, { cost: 1 + ((i * r) % 3) }),
        ),
      );
    const cluster6: unknown[] = [];
    const server6: unknown[] = [];
    for (let r = 0; r < 6; r++) {
      cluster6.push(await round(onCluster, r));
      server6.push(await round(onServer, r));
    }
    expect(cluster6).toEqual(server6);
    // Not a run of answers that would agree whatever happened: both allowed and refused appear.
    const flat = (cluster6 as { allowed: boolean }[][]).flat();
    expect(flat.some((d) => d.allowed)).toBe(true);
    expect(flat.some((d) => !d.allowed)).toBe(true);
  });

  it('sends a batch turned away by a migrating slot again, one call per client key', async () => {
    const limiter = limiterOn(cluster, fixedWindow('10/minute'));
    const slot = slotOf(limiter.keysFor('moving')[0]!);
    const keys = keysInSlot(limiter, slot, 6);
    const { masters } = await instance.topology();
    const source = await instance.slotOwner(slot);
    const target = masters.find((m) => m.id !== source.id)!;
    const [from, to] = [nodeAt(source.port), nodeAt(target.port)];
    // Half of the client keys hold a count on the source; the other half have none anywhere.
    const held = keys.slice(0, 3);
    const created = keys.slice(3).flatMap((k) => limiter.keysFor(k));
    await Promise.all(held.map((k) => limiter.limit(k)));
    await to.cluster('SETSLOT', slot, 'IMPORTING', source.id);
    await from.cluster('SETSLOT', slot, 'MIGRATING', target.id);
    try {
      // One script for all six would be refused TRYAGAIN (some of its keys there, some not) until the
      // slot is stable again: alone, each client key runs on the source (held) or, by ASK, on the target.
      const decisions = await Promise.all(keys.map((k) => limiter.limit(k)));
      expect(decisions.map((d) => [d.allowed, d.remaining])).toEqual([
        ...held.map(() => [true, 8]),
        ...keys.slice(3).map(() => [true, 9]),
      ]);
      // An importing master serves the slot only to a command after ASKING.
      await to.call('ASKING');
      expect(await to.exists(...created)).toBe(3);
    } finally {
      await to.call('ASKING');
      await to.del(...created);
      await Promise.all([from, to].map((n) => n.cluster('SETSLOT', slot, 'STABLE')));
    }
  });
});
