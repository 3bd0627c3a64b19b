import { TEST_REDIS_URL_VAR } from './redis-guard.js';

export {
  freePort,
  PortInUseError,
  startRedis,
  type RedisInstance,
  type StartRedisOptions,
} from './redis-server.js';
export {
  startRedisCluster,
  type ClusterNodeInfo,
  type ClusterTopology,
  type MigrateOptions,
  type RedisClusterInstance,
  type RedisClusterOptions,
} from './redis-cluster.js';

export {
  EXTERNAL_REDIS_URL_VAR,
  type FlushTarget,
  flushTestRedis,
  NotHarnessRedisError,
} from './redis-guard.js';
export * from './redis-faults.js';
export { storedState } from './stored-state.js';
export { failOnStrayOutput } from './stray-output.js';

/**
 * Single lookup for the shared test Redis, so a missing globalSetup fails loudly rather than hanging.
 * REDIS_URL is never read: it is the demos' Redis, which tests must not touch.
 */
export function redisUrlForTests(): string {
  const url = process.env[TEST_REDIS_URL_VAR];
  if (!url) {
    throw new Error(
      'No test Redis URL: run under the root vitest config, whose globalSetup (packages/testkit/src/global-setup.ts) starts a redis-server.',
    );
  }
  return url;
}
export {
  describeHttpConformance,
  type ConformanceApp,
  type ConformanceFactory,
  type ConformanceOptions,
} from './http-conformance.js';
export type { SendOptions } from './http-client.js';
export { type Listening, listenOn, loopbackUrl, OpenServers } from './http-listen.js';
export { statuses, times } from './http-requests.js';
export { describeDemo, type DemoAppOptions, type DemoUnderTest } from './demo-spec.js';
export { isBookkeepingKey, stateKeys } from './bookkeeping-keys.js';
export {
  type AdminConformanceFactory,
  type AdminConformanceOptions,
  type AdminMount,
  createAdminBackend,
  describeAdminConformance,
} from './http-admin.js';
export * from './http-admin-client.js';
export { closedByTheApp, itStopsWatchingOnClose, type WatchingApp } from './close-cases.js';
