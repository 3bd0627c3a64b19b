import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, expect } from 'vitest';
import { AdminClient } from '../../src/http-admin-client.js';
import { redisUrlForTests } from '../../src/index.js';
import { type RedisClusterInstance, startRedisCluster } from '../../src/redis-cluster.js';
import { until } from '../../src/redis-faults.js';
import { type AppProcess, startAppProcess, stopAppProcess } from './app-process.js';

// The fleet of the two-process admin and load-state tests: two app processes (fleet-app.ts) with the
// admin API, on one Redis or one Redis Cluster and one prefix, each waited for until its /readyz says so.

const APP_SCRIPT = fileURLToPath(new URL('./fleet-app.ts', import.meta.url));

/** Which Redis the fleet shares: the harness's Redis, or a Redis Cluster of three masters of its own. */
export type FleetKind = 'redis' | 'cluster';

/** One app process of the fleet and its admin API. */
export interface FleetApp extends AppProcess {
  admin: AdminClient;
}

/** Two app processes sharing one Redis. */
export interface AdminFleet {
  a: FleetApp;
  b: FleetApp;
  /** The prefix both apps use. */
  prefix: string;
  /** A client of the Redis (or Cluster) both apps use. */
  redis: Redis | Cluster;
  /** Stops both, removes the fleet's keys and the cluster, and checks no reply ever carried the token. */
  stop(): Promise<void>;
}

/** What to start: the kind of Redis, the apps' frameworks and configuration, and the bound of each wait. */
export interface AdminFleetOptions {
  kind: FleetKind;
  /** The start of the fleet's prefix (a random part follows, so runs never share keys). */
  prefix: string;
  frameworks: readonly [string, string];
  /** The app-wide limiter's configuration, as fleet-app.ts names it. */
  config: 'admin' | 'load-states';
  waitMs: number;
}

/** Starts two app processes on one Redis and resolves once both are ready. */
export async function startAdminFleet(options: AdminFleetOptions): Promise<AdminFleet> {
  const { kind, frameworks, config, waitMs } = options;
  const prefix = `${options.prefix}-${randomBytes(6).toString('hex')}`;
  const token = `full-${randomBytes(12).toString('hex')}`;
  let cluster: RedisClusterInstance | undefined;
  let redis: Redis | Cluster;
  let env: Record<string, string>;
  if (kind === 'cluster') {
    cluster = await startRedisCluster({ masters: 3 });
    env = { REDIS_CLUSTER: JSON.stringify(cluster.nodes), DL_PREFIX: prefix };
    redis = new Cluster(cluster.nodes);
  } else {
    env = { REDIS_URL: redisUrlForTests(), DL_PREFIX: prefix };
    redis = new Redis(redisUrlForTests());
  }
  const apps: FleetApp[] = [];
  const stop = async () => {
    await Promise.all(apps.map(stopAppProcess));
    if (kind === 'redis') {
      const keys = await redis.keys(`*${prefix}*`);
      if (keys.length) await redis.del(...keys);
    }
    await redis.quit();
    await cluster?.stop();
    // No reply of either process ever carried the token.
    for (const app of apps) expect(app.admin.leaks([token])).toEqual([]);
  };
  try {
    // Settled rather than all: when one fails to start, the other is still stopped.
    const started = await Promise.allSettled(
      frameworks.map((framework) =>
        startAppProcess(
          APP_SCRIPT,
          { ...env, FRAMEWORK: framework, CONFIG: config, ADMIN_TOKEN: token },
          framework,
        ),
      ),
    );
    for (const result of started) {
      if (result.status === 'fulfilled')
        apps.push({ ...result.value, admin: new AdminClient(result.value.url, token) });
    }
    for (const result of started) if (result.status === 'rejected') throw result.reason;
    for (const app of apps) {
      const ready = await until(
        async () => (await app.admin.get('/readyz', { token: null })).status === 200,
        waitMs,
      );
      expect(ready, `${app.name} never became ready`).toBe(true);
    }
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
  return { a: apps[0]!, b: apps[1]!, prefix, redis, stop };
}

/**
 * Starts the fleet before the enclosing describe's tests (handing it to `started`) and stops it after them.
 */
export function useAdminFleet(options: AdminFleetOptions, started: (fleet: AdminFleet) => void): void {
  let fleet: AdminFleet | undefined;
  beforeAll(async () => {
    fleet = await startAdminFleet(options);
    started(fleet);
  }, 120_000);
  afterAll(() => fleet?.stop());
}
