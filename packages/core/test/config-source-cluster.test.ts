import { Cluster } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ConfigSource, createConfigSource } from '../src/policy/source/config-source.js';
import { issueDocument } from './support/config-document.js';
import { nextEvent } from './support/config-source-events.js';
import { type RedisClusterInstance, reportFigure, startRedisCluster } from './support/testkit.js';

// The overlay's keys share one hash tag: on a Cluster its scripts run in one slot, and announcements
// published on one node reach a subscriber connected to another.
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
const open: ConfigSource[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

async function sourceOn(prefix: string, pollMs?: number): Promise<ConfigSource> {
  const s = createConfigSource({
    document: issueDocument() as never,
    redis: { client: cluster, prefix, pollMs },
  });
  open.push(s);
  await s.ready();
  return s;
}

const freeLimit = (s: ConfigSource) => s.current().tiers.get('free')!.algorithm.members[0]!.limit;

describe('the Redis overlay on a Cluster', () => {
  it('applies a change published on one source on another, by pub/sub and by polling', async () => {
    const a = await sourceOn('c1');
    const b = await sourceOn('c1', 60_000);
    let t0 = 0;
    const reloaded = nextEvent(b, 'reloaded', () => t0);
    t0 = performance.now();
    await a.publish({ tiers: { free: { rate: '30/minute' } } });
    const { ms } = await reloaded;
    expect(freeLimit(b)).toBe(30);
    reportFigure('config-source-cluster-pubsub', { delayMs: Math.round(ms) });

    // Written without an announcement: the poll of a third source finds it.
    const c = await sourceOn('c1', 200);
    const polled = nextEvent(c, 'reloaded', () => 0);
    await cluster
      .multi()
      .hset('{c1:config}:overlay', 'tiers.free', JSON.stringify({ rate: '31/minute' }))
      .incr('{c1:config}:version')
      .exec();
    expect((await polled).arg.origins.overlayVersion).toBe(2);
    expect(freeLimit(c)).toBe(31);
    // The client handed over is left as it was: the source works on duplicates of it.
    expect(cluster.status).toBe('ready');
  });
});
