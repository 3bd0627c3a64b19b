import { fixedWindow, RateLimiter, RedisBackend } from '@distlimiter/core';
import { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { alternate, type RoundPlan } from '../alternate.js';
import { CLIENT_OPTIONS } from '../redis-options.js';
import { median } from '../stats.js';
import { concurrentLoop } from './loops.js';

/** The abusive client: one key, this limit per hour, hammered with this many decisions in flight. */
export const ABUSE = { limit: 10, windowS: 3600, inFlight: 100 } as const;

/** One side of the abusive-client measurement: decisions/s and Redis commands per 1,000 decisions, per round. */
export interface AbuseSide {
  side: string;
  config: string;
  decisionsPerSecond: number[];
  redisCallsPer1000: number[];
  /** Medians of the rounds. */
  rate: number;
  calls: number;
}

interface Side {
  side: string;
  config: string;
  // Decides once; never rejects, whatever the answer.
  call: () => Promise<unknown>;
  // What it stores, removed afterwards, so a shared server is left as it was.
  keys: string[];
  close?: () => Promise<void>;
}

/**
 * One key hammered far past its limit (ABUSE), each side on a client of its own to one server, taking
 * turns: decisions/s, and the commands sent to Redis meanwhile (INFO commandstats) per 1,000 decisions. Ours
 * with its deny cache (the default) and without; rate-limiter-flexible's RateLimiterRedis with
 * `inMemoryBlockOnConsumed` at its points (blocked in process until the key's expiry) and without.
 */
export async function abusiveClient(url: string, plan: RoundPlan): Promise<AbuseSide[]> {
  const stats = new Redis(url, CLIENT_OPTIONS);
  const clients: Redis[] = [];
  const client = () => {
    const c = new Redis(url, CLIENT_OPTIONS);
    clients.push(c);
    return c;
  };
  const ours = (denyCache: boolean): Side => {
    const backend = new RedisBackend({ client: client(), denyCache });
    const limiter = new RateLimiter({
      algorithm: fixedWindow({ limit: ABUSE.limit, window: ABUSE.windowS * 1000 }),
      backend,
      prefix: `bench-abuse-${denyCache ? 'cached' : 'plain'}`,
    });
    return {
      side: denyCache ? 'distlimiter' : 'distlimiter, denyCache: false',
      config: `fixedWindow ${ABUSE.limit}/hour`,
      call: () => limiter.limit('abuser'),
      keys: limiter.keysFor('abuser'),
      close: () => backend.close(),
    };
  };
  const theirs = (block: boolean): Side => {
    const limiter = new RateLimiterRedis({
      storeClient: client(),
      keyPrefix: `bench-abuse-rlf-${block ? 'block' : 'plain'}`,
      points: ABUSE.limit,
      duration: ABUSE.windowS,
      ...(block ? { inMemoryBlockOnConsumed: ABUSE.limit } : {}),
    });
    return {
      side: block ? 'rate-limiter-flexible, inMemoryBlockOnConsumed' : 'rate-limiter-flexible',
      config: `RateLimiterRedis ${ABUSE.limit} points/hour${block ? `, inMemoryBlockOnConsumed ${ABUSE.limit}` : ''}`,
      // Refused is the point here: consume() rejects then, and that is an answer like any other.
      call: () => limiter.consume('abuser').catch(() => undefined),
      keys: [limiter.getKey('abuser')],
    };
  };
  const sides = [ours(true), ours(false), theirs(true), theirs(false)];
  const perRound = new Map<string, number[]>(sides.map((s) => [s.side, []]));
  try {
    const samples = await alternate(
      sides.map((s) => ({
        name: s.side,
        run: async (ms: number) => {
          let decisions = 0;
          const counted = () => {
            decisions++;
            return s.call();
          };
          const before = await commandsRun(stats);
          const rate = await concurrentLoop(counted, ['abuser'], ms, ABUSE.inFlight);
          const after = await commandsRun(stats);
          perRound.get(s.side)!.push(((after - before) / decisions) * 1000);
          return rate;
        },
      })),
      plan,
    );
    return sides.map((s) => {
      // The warm-up's rounds come first: only the measured ones count.
      const calls = perRound.get(s.side)!.slice(-plan.rounds);
      const rates = samples[s.side]!;
      return {
        side: s.side,
        config: s.config,
        decisionsPerSecond: rates,
        redisCallsPer1000: calls,
        rate: median(rates),
        calls: median(calls),
      };
    });
  } finally {
    for (const s of sides) await s.close?.();
    await stats.del(...sides.flatMap((s) => s.keys));
    for (const c of [stats, ...clients]) c.disconnect();
  }
}

// The commands the sides here send to the server (INFO commandstats). It counts the commands a script runs
// too (GET, SET, PTTL...), which are no round trip, so only these are summed: the scripts of both sides,
// and our backend's clock reads and reset channel.
const SENT = new Set(['evalsha', 'eval', 'time', 'subscribe', 'publish']);

async function commandsRun(client: Redis): Promise<number> {
  const info = await client.info('commandstats');
  let calls = 0;
  for (const m of info.matchAll(/cmdstat_([a-z|_-]+):calls=(\d+)/g)) {
    if (SENT.has(m[1]!)) calls += Number(m[2]);
  }
  return calls;
}
