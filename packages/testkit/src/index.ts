export {
  freePort,
  PortInUseError,
  startRedis,
  type RedisInstance,
  type StartRedisOptions,
} from './redis-server.js';
export { startRedisCluster, type RedisClusterInstance } from './redis-cluster.js';

/** Single lookup for the shared test Redis, so a missing globalSetup fails loudly rather than hanging. */
export function redisUrlForTests(): string {
  const url = process.env.DISTLIMITER_TEST_REDIS_URL ?? process.env.REDIS_URL;
  if (!url) {
    throw new Error(
      'No test Redis URL: run under the root vitest config (globalSetup packages/testkit/src/global-setup.ts) or set REDIS_URL.',
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
