import type { AddressInfo } from 'node:net';
import distlimiter from '@distlimiter/fastify';
import fastifyRateLimit, { type RateLimitPluginOptions } from '@fastify/rate-limit';
import Fastify, { type FastifyPluginAsync } from 'fastify';
import { ourRedisOptions, redisClient, requireRedis } from './redis.js';
import {
  DEFAULT_HEADER_FIELDS,
  HELLO,
  HOUR_MS,
  OUR_RATE,
  PEER_LIMIT,
  type StartApp,
  TIERED_CONFIG,
  TIERED_EXTRAS,
} from './types.js';

/**
 * Fastify 5, with `@distlimiter/fastify` or @fastify/rate-limit registered globally: on the memory store, or
 * on Redis (ours on RedisBackend, the peer with its `redis` option).
 */
export const startFastify: StartApp = async (variant, redis) => {
  const app = Fastify({ logger: false });
  if (variant === 'ours') await app.register(distlimiter, { rate: OUR_RATE });
  // The plugin's declared type expects an instance already decorated by itself; the runtime does not.
  const peer = fastifyRateLimit as unknown as FastifyPluginAsync<RateLimitPluginOptions>;
  if (variant === 'peer') await app.register(peer, { max: PEER_LIMIT, timeWindow: HOUR_MS });
  if (variant === 'quiet') await app.register(distlimiter, { rate: OUR_RATE, headers: false });
  if (variant === 'both') await app.register(distlimiter, { rate: OUR_RATE, headers: 'both' });
  const tiered = TIERED_EXTRAS[variant];
  if (tiered) await app.register(distlimiter, { config: TIERED_CONFIG, ...tiered });
  if (variant === 'noop') app.addHook('onRequest', (_request, _reply, done) => done());
  if (variant === 'noop-headers') {
    app.addHook('onRequest', (_request, reply, done) => {
      for (const name in DEFAULT_HEADER_FIELDS) reply.header(name, DEFAULT_HEADER_FIELDS[name]);
      done();
    });
  }
  if (variant === 'ours-redis-fixed' || variant === 'ours-redis') {
    await app.register(distlimiter, ourRedisOptions(variant, requireRedis(variant, redis)));
  }
  if (variant === 'peer-redis') {
    const target = requireRedis(variant, redis);
    await app.register(peer, {
      max: PEER_LIMIT,
      timeWindow: HOUR_MS,
      redis: redisClient(target),
      nameSpace: `${target.prefix}:`,
    });
  }
  app.get('/', async () => HELLO);
  await app.listen({ port: 0, host: '127.0.0.1' });
  return (app.server.address() as AddressInfo).port;
};
