import { fixedWindow, RateLimiter, RedisBackend } from '@distlimiter/core';
import { Cluster } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { clusterBaseline } from '../../../core/src/backends/redis-decisions.js';
import { startRedisCluster } from '../../../testkit/src/index.js';
import { alternate, type RoundPlan } from '../alternate.js';
import { CLIENT_OPTIONS } from '../redis-options.js';
import { median } from '../stats.js';
import { PEER_DURATION_S, PEER_POINTS } from './algorithms.js';
import { makeKeys } from './keys.js';
import { concurrentLoop } from './loops.js';

/** The masters of the cluster the Cluster row runs on. */
export const CLUSTER_MASTERS = 3;

/** Median decisions/s at one in-flight level on the cluster: batched per slot, one call each, the peer. */
export interface ClusterThroughput {
  inFlight: number;
  batched: number;
  oneCallEach: number;
  theirs: number;
}

/**
 * Starts a 3-master cluster and measures, alternating, our limiter as it is (one script per hash slot,
 * one pipeline per master), our limiter sending one call per decision (as before per-slot batching) and
 * RateLimiterRedis, each on a Cluster client of its own with the bench's common options.
 */
export async function clusterThroughput(
  levels: readonly number[],
  plan: RoundPlan,
  keyCount: number,
): Promise<ClusterThroughput[]> {
  const instance = await startRedisCluster({ masters: CLUSTER_MASTERS });
  const clients: Cluster[] = [];
  const client = () => {
    const c = new Cluster(instance.nodes, { enableAutoPipelining: true, redisOptions: CLIENT_OPTIONS });
    clients.push(c);
    return c;
  };
  const ours = (prefix: string) =>
    new RateLimiter({
      algorithm: fixedWindow({ limit: 1e9, window: '1h' }),
      backend: new RedisBackend({ client: client() }),
      prefix,
    });
  const batched = ours('bench-batched');
  // The switch is read when the backend is built: only this one sends one call per decision.
  clusterBaseline.oneCallEach = true;
  const oneCallEach = ours('bench-one-call');
  clusterBaseline.oneCallEach = false;
  const theirs = new RateLimiterRedis({
    storeClient: client(),
    points: PEER_POINTS,
    duration: PEER_DURATION_S,
  });
  const keys = makeKeys(keyCount, 'bench');
  let refused = 0;
  const limit = (limiter: RateLimiter) => async (key: string) => {
    if (!(await limiter.limit(key)).allowed) refused++;
  };
  try {
    const rows: ClusterThroughput[] = [];
    for (const inFlight of levels) {
      const samples = await alternate(
        [
          { name: 'batched', run: (ms) => concurrentLoop(limit(batched), keys, ms, inFlight) },
          { name: 'oneCallEach', run: (ms) => concurrentLoop(limit(oneCallEach), keys, ms, inFlight) },
          { name: 'theirs', run: (ms) => concurrentLoop((k) => theirs.consume(k), keys, ms, inFlight) },
        ],
        plan,
      );
      rows.push({
        inFlight,
        batched: median(samples.batched!),
        oneCallEach: median(samples.oneCallEach!),
        theirs: median(samples.theirs!),
      });
    }
    if (refused)
      throw new Error(`our Cluster limiter refused ${refused} calls; the bench needs a larger limit`);
    return rows;
  } finally {
    await Promise.all([batched, oneCallEach].map((l) => l.backend.close?.()));
    for (const c of clients) c.disconnect();
    await instance.stop();
  }
}
