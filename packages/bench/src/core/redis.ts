import { fixedWindow, RateLimiter, RedisBackend } from '@distlimiter/core';
import os from 'node:os';
import { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { alternate, type RoundPlan } from '../alternate.js';
import { choosePlacement, pin } from '../http/placement.js';
import { CLIENT_OPTIONS } from '../redis-options.js';
import { median } from '../stats.js';
import { ALGORITHMS, PEER_DURATION_S, PEER_POINTS } from './algorithms.js';
import { makeKeys } from './keys.js';
import { concurrentLoop } from './loops.js';

/** Decisions/s per round for each side at one in-flight level. */
export interface RedisThroughput {
  inFlight: number;
  ours: number[];
  theirs: number[];
}

/** Every in-flight level's rounds, and where the two processes ran. */
export interface RedisThroughputRun {
  results: RedisThroughput[];
  placement: string;
}

/**
 * Puts this process and redis-server on a CPU each for the rounds, as the HTTP rows do, and returns how to
 * undo it and how to say it. Left to itself on a 2-core machine the scheduler keeps the two on one CPU (each
 * wakes the other through a socket), so neither could run while the other did, unlike an app and a Redis on
 * machines of their own.
 */
async function apart(client: Redis): Promise<{ restore: () => void; describe: string }> {
  const placement = choosePlacement();
  if (placement.serverCpu === undefined || placement.loadCpus === undefined) {
    return { restore: () => {}, describe: placement.describe };
  }
  const info = await client.info('server');
  const redisPid = Number(/process_id:(\d+)/.exec(info)?.[1]);
  if (!Number.isInteger(redisPid)) throw new Error('redis-server did not report its process_id');
  const all = `0-${os.availableParallelism() - 1}`;
  pin(process.pid, placement.serverCpu);
  pin(redisPid, placement.loadCpus);
  return {
    restore: () => {
      pin(process.pid, all);
      pin(redisPid, all);
    },
    describe:
      `the bench's process pinned to CPU ${placement.serverCpu}, redis-server to CPU ${placement.loadCpus} ` +
      '(as an app and its Redis on machines of their own)',
  };
}

/** Measures both sides against the same server, one ioredis client each, alternating. */
export async function redisThroughput(
  url: string,
  levels: readonly number[],
  plan: RoundPlan,
  keyCount: number,
): Promise<RedisThroughputRun> {
  const ourClient = new Redis(url, CLIENT_OPTIONS);
  const theirClient = new Redis(url, CLIENT_OPTIONS);
  const keys = makeKeys(keyCount, 'bench');
  const ours = new RateLimiter({
    algorithm: fixedWindow({ limit: 1e9, window: '1h' }),
    backend: new RedisBackend({ client: ourClient }),
  });
  const theirs = new RateLimiterRedis({
    storeClient: theirClient,
    points: PEER_POINTS,
    duration: PEER_DURATION_S,
  });
  let refused = 0;
  const oursCall = async (key: string) => {
    if (!(await ours.limit(key)).allowed) refused++;
  };
  const theirsCall = (key: string) => theirs.consume(key);
  const placement = await apart(ourClient);
  try {
    const results: RedisThroughput[] = [];
    for (const inFlight of levels) {
      const samples = await alternate(
        [
          { name: 'ours', run: (ms) => concurrentLoop(oursCall, keys, ms, inFlight) },
          { name: 'theirs', run: (ms) => concurrentLoop(theirsCall, keys, ms, inFlight) },
        ],
        plan,
      );
      results.push({ inFlight, ours: samples.ours!, theirs: samples.theirs! });
    }
    if (refused)
      throw new Error(`our Redis limiter refused ${refused} calls; the bench needs a larger limit`);
    await unlinkAll(
      ourClient,
      keys.flatMap((k) => ours.keysFor(k)),
    );
    await unlinkAll(
      theirClient,
      keys.map((k) => theirs.getKey(k)),
    );
    return { results, placement: placement.describe };
  } finally {
    placement.restore();
    ourClient.disconnect();
    theirClient.disconnect();
  }
}

/** Redis memory held per client key, by each method, for each side. */
export interface RedisMemory {
  side: string;
  config: string;
  /** Mean `MEMORY USAGE` over the sampled client keys (summed over a hybrid's keys). */
  memoryUsage: number;
  /** `INFO memory` used_memory growth per client key, median over rounds. */
  usedMemoryDelta: number;
}

/**
 * Writes fresh keys with each side and asks Redis what they cost: `MEMORY USAGE` per key, and the growth
 * of used_memory across many keys (which also counts the keyspace's own bookkeeping). Only the keys this
 * bench wrote are removed afterwards, so a shared REDIS_URL server is left as it was.
 */
export async function redisMemory(
  url: string,
  sampleKeys: number,
  deltaKeys: number,
  rounds: number,
): Promise<RedisMemory[]> {
  const client = new Redis(url, CLIENT_OPTIONS);
  const sides: { side: string; config: string; write: (keys: string[]) => Promise<string[][]> }[] = [];
  for (const a of ALGORITHMS) {
    const limiter = new RateLimiter({ algorithm: a.make(), backend: new RedisBackend({ client }) });
    sides.push({
      side: `ours ${a.name}`,
      config: a.config,
      write: async (keys) => {
        await eachInFlight(keys, (k) => limiter.limit(k));
        return keys.map((k) => limiter.keysFor(k));
      },
    });
  }
  const rlf = new RateLimiterRedis({ storeClient: client, points: PEER_POINTS, duration: PEER_DURATION_S });
  sides.push({
    side: 'rate-limiter-flexible',
    config: `RateLimiterRedis ${PEER_POINTS}/${PEER_DURATION_S}s`,
    write: async (keys) => {
      await eachInFlight(keys, (k) => rlf.consume(k));
      return keys.map((k) => [rlf.getKey(k)]);
    },
  });
  try {
    const out: RedisMemory[] = [];
    for (const s of sides) {
      const sampled = await s.write(makeKeys(sampleKeys, 'bench-mem'));
      const pipeline = client.pipeline();
      for (const group of sampled) for (const k of group) pipeline.memory('USAGE', k);
      const usage = (await pipeline.exec())!.reduce((sum, [error, value]) => {
        if (error) throw error;
        if (typeof value !== 'number') throw new Error('MEMORY USAGE found no key: a side did not write');
        return sum + value;
      }, 0);
      await unlinkAll(client, sampled.flat());
      const deltas: number[] = [];
      for (let r = 0; r < rounds; r++) {
        await repliesExpired(client);
        const before = await usedMemory(client);
        const written = await s.write(makeKeys(deltaKeys, `bench-delta${r}`));
        await repliesExpired(client);
        const after = await usedMemory(client);
        deltas.push((after - before) / deltaKeys);
        await unlinkAll(client, written.flat());
      }
      out.push({
        side: s.side,
        config: s.config,
        memoryUsage: usage / sampleKeys,
        usedMemoryDelta: median(deltas),
      });
    }
    return out;
  } finally {
    client.disconnect();
  }
}

/** The server's version, for the machine line. */
export async function redisVersion(url: string): Promise<string> {
  const client = new Redis(url, CLIENT_OPTIONS);
  try {
    const info = await client.info('server');
    return /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
  } finally {
    client.disconnect();
  }
}

// Writes keys with a bounded number of calls outstanding, as an app would: thousands at once would only
// measure queueing (and trip the limiter's backend timeout).
async function eachInFlight(keys: readonly string[], call: (key: string) => Promise<unknown>): Promise<void> {
  let i = 0;
  const worker = async () => {
    while (i < keys.length) await call(keys[i++]!);
  };
  await Promise.all(Array.from({ length: 100 }, worker));
}

// RedisBackend keeps each batch's reply for about a second past its deadline, so a re-send after a dropped
// connection is answered instead of charged again ("<first key>~<tag>.<n>"). Those are transient, in
// proportion to the decision rate rather than to the keys held: used_memory is read once they are gone.
async function repliesExpired(client: Redis): Promise<void> {
  const until = Date.now() + 5000;
  while (Date.now() < until) {
    const [, found] = await client.scan('0', 'MATCH', '*~*', 'COUNT', 100_000);
    if (found.length === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function usedMemory(client: Redis): Promise<number> {
  const info = await client.info('memory');
  const m = /used_memory:(\d+)/.exec(info);
  if (!m) throw new Error('INFO memory has no used_memory');
  return Number(m[1]);
}

async function unlinkAll(client: Redis, keys: readonly string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 1000) await client.unlink(...keys.slice(i, i + 1000));
}
