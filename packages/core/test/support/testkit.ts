// @distlimiter/core cannot list @distlimiter/testkit as a dependency (testkit depends on core), so the
// package name does not resolve from here; this one file points at its sources instead.
export {
  type ClusterNodeInfo,
  flushTestRedis,
  stateKeys,
  type RedisClusterInstance,
  type RedisInstance,
  redisUrlForTests,
  reportFigure,
  startRedis,
  startRedisCluster,
  storedState,
} from '../../../testkit/src/index.js';
