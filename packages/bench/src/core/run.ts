import type { RoundPlan } from '../alternate.js';
import { runChild } from '../child.js';
import { median, ratio } from '../stats.js';
import { ALGORITHMS } from './algorithms.js';
import { CLUSTER_MASTERS, type ClusterThroughput } from './cluster.js';
import type { AbuseSide } from './deny.js';
import type { HeapChildResult } from './heap-child.js';
import type { MemoryChildResult } from './memory-child.js';
import type { RedisChildTask } from './redis-child.js';
import { type RedisMemory, type RedisThroughputRun, redisMemory } from './redis.js';

/** Sizes and durations of the core measurements; `--quick` shrinks them. */
export interface CorePlan {
  memory: RoundPlan;
  redis: RoundPlan;
  keys: number;
  inFlight: readonly number[];
  heapKeys: number;
  heapRounds: number;
  redisSampleKeys: number;
  redisDeltaKeys: number;
  redisDeltaRounds: number;
}

/** Full run: medians of 5 one-second rounds per contender. */
export const FULL_CORE: CorePlan = {
  memory: { warmupMs: 1500, rounds: 5, roundMs: 1000 },
  redis: { warmupMs: 1000, rounds: 5, roundMs: 1000 },
  keys: 10_000,
  inFlight: [1, 100],
  heapKeys: 100_000,
  heapRounds: 3,
  redisSampleKeys: 1000,
  redisDeltaKeys: 10_000,
  redisDeltaRounds: 3,
};

/** Smoke run: same shape, short rounds. */
export const QUICK_CORE: CorePlan = {
  ...FULL_CORE,
  memory: { warmupMs: 300, rounds: 3, roundMs: 300 },
  redis: { warmupMs: 300, rounds: 3, roundMs: 300 },
  heapRounds: 1,
  redisDeltaRounds: 1,
};

/** A measured pair: every round and the medians. */
export interface Paired {
  ours: number;
  theirs: number;
  ratio: number;
  oursSamples: number[];
  theirsSamples: number[];
}

/** Everything Part A measures. */
export interface CoreResults {
  plan: CorePlan;
  memoryThroughput: { algorithm: string; config: string; result: Paired }[];
  redisThroughput: { inFlight: number; result: Paired }[];
  /** Where the bench's process and redis-server ran during the Redis throughput rounds. */
  redisPlacement: string;
  /** One key hammered past its limit: ours (deny cache on, off) and the peer (in-memory block on, off). */
  abusiveClient: AbuseSide[];
  /** On a 3-master Cluster: batched per slot, one call per decision, the peer. */
  cluster: ClusterThroughput[];
  redisMemory: RedisMemory[];
  heap: { side: string; config: string; bytesPerKey: number; samples: number[] }[];
}

const CHILD_TIMEOUT_MS = 180_000;

// The timed Redis rows run in a child of their own, like the memory rows: plain Node, our code compiled as
// published (runChild says why), and a heap and JIT state that no other row left behind.
function inRedisChild<T>(task: RedisChildTask): Promise<T> {
  return runChild<T>(new URL('./redis-child.ts', import.meta.url), [JSON.stringify(task)], CHILD_TIMEOUT_MS);
}

function paired(ours: number[], theirs: number[]): Paired {
  const o = median(ours);
  const t = median(theirs);
  return { ours: o, theirs: t, ratio: ratio(o, t), oursSamples: ours, theirsSamples: theirs };
}

/** Runs Part A; `log` reports progress so a long run is never silent. */
export async function runCore(
  plan: CorePlan,
  redisUrl: string,
  log: (line: string) => void,
): Promise<CoreResults> {
  const memoryThroughput: CoreResults['memoryThroughput'] = [];
  for (const a of ALGORITHMS) {
    log(`memory backend: ${a.config} vs RateLimiterMemory`);
    const r = await runChild<MemoryChildResult>(
      new URL('./memory-child.ts', import.meta.url),
      [a.name, plan.memory.warmupMs, plan.memory.rounds, plan.memory.roundMs, plan.keys].map(String),
      CHILD_TIMEOUT_MS,
    );
    if (r.refused) throw new Error(`${a.name} refused ${r.refused} calls; the bench needs a larger limit`);
    memoryThroughput.push({ algorithm: a.name, config: a.config, result: paired(r.ours, r.theirs) });
  }

  log(`redis backend: fixedWindow vs RateLimiterRedis at ${plan.inFlight.join(' and ')} in flight`);
  const redis = await inRedisChild<RedisThroughputRun>({
    kind: 'throughput',
    url: redisUrl,
    levels: [...plan.inFlight],
    plan: plan.redis,
    keys: plan.keys,
  });
  const redisThroughputs = redis.results.map((r) => ({
    inFlight: r.inFlight,
    result: paired(r.ours, r.theirs),
  }));

  log('redis backend: an abusive client hammering one key past its limit');
  const abuse = await inRedisChild<AbuseSide[]>({ kind: 'abuse', url: redisUrl, plan: plan.redis });

  log(`redis cluster (${CLUSTER_MASTERS} masters): batched per slot, one call each, RateLimiterRedis`);
  const cluster = await inRedisChild<ClusterThroughput[]>({
    kind: 'cluster',
    levels: [...plan.inFlight],
    plan: plan.redis,
    keys: plan.keys,
  });

  log('redis memory per key');
  const memory = await redisMemory(
    redisUrl,
    plan.redisSampleKeys,
    plan.redisDeltaKeys,
    plan.redisDeltaRounds,
  );

  const heap: CoreResults['heap'] = [];
  const heapSides = [
    { side: 'rate-limiter-flexible', name: 'peer', config: 'RateLimiterMemory' },
    ...ALGORITHMS.map((a) => ({ side: `ours ${a.name}`, name: a.name, config: a.config })),
  ];
  for (const s of heapSides) {
    log(`heap per key: ${s.side}`);
    const samples = await runChild<HeapChildResult>(
      new URL('./heap-child.ts', import.meta.url),
      [s.name, String(plan.heapKeys), String(plan.heapRounds)],
      CHILD_TIMEOUT_MS,
    );
    heap.push({ side: s.side, config: s.config, bytesPerKey: median(samples), samples });
  }
  return {
    plan,
    memoryThroughput,
    redisThroughput: redisThroughputs,
    redisPlacement: redis.placement,
    abusiveClient: abuse,
    cluster,
    redisMemory: memory,
    heap,
  };
}
