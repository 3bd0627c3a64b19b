import type { AddressInfo } from 'node:net';
import { rateLimit } from '@distlimiter/koa';
import Router from '@koa/router';
import Koa from 'koa';
import ratelimit from 'koa-ratelimit';
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
 * koa-ratelimit's Redis driver (async-ratelimiter) keeps a sliding log: a sorted set with one member per
 * request. Over an hour's window the bench's one client would grow it to millions of members, a state no
 * real limit allows, so on Redis the log covers one second: a few thousand members, as many as its default
 * limit (2500 per hour) lets a client's log hold.
 */
const KOA_REDIS_LOG_MS = 1000;

/**
 * Koa 3 with @koa/router, with `@distlimiter/koa` or koa-ratelimit as app-wide middleware: on the memory
 * driver, or on Redis (ours on RedisBackend, the peer on its `redis` driver over ioredis).
 */
export const startKoa: StartApp = (variant, redis) => {
  const app = new Koa();
  if (variant === 'ours') app.use(rateLimit({ rate: OUR_RATE }));
  if (variant === 'quiet') app.use(rateLimit({ rate: OUR_RATE, headers: false }));
  if (variant === 'both') app.use(rateLimit({ rate: OUR_RATE, headers: 'both' }));
  const tiered = TIERED_EXTRAS[variant];
  if (tiered) app.use(rateLimit({ config: TIERED_CONFIG, ...tiered }));
  if (variant === 'noop') app.use((_ctx, next) => next());
  if (variant === 'noop-headers') {
    app.use((ctx, next) => {
      for (const name in DEFAULT_HEADER_FIELDS) ctx.set(name, DEFAULT_HEADER_FIELDS[name]!);
      return next();
    });
  }
  if (variant === 'peer') {
    app.use(
      ratelimit({ driver: 'memory', db: new Map(), duration: HOUR_MS, max: PEER_LIMIT, id: (ctx) => ctx.ip }),
    );
  }
  if (variant === 'ours-redis-fixed' || variant === 'ours-redis') {
    app.use(rateLimit(ourRedisOptions(variant, requireRedis(variant, redis))));
  }
  if (variant === 'peer-redis') {
    const target = requireRedis(variant, redis);
    // @types/koa-ratelimit is typed against an older ioredis; the driver only defines and calls one command.
    const db = redisClient(target) as unknown as ratelimit.MiddlewareOptions['db'];
    app.use(
      ratelimit({
        driver: 'redis',
        db,
        namespace: target.prefix,
        duration: KOA_REDIS_LOG_MS,
        max: PEER_LIMIT,
        id: (ctx) => ctx.ip,
      }),
    );
  }
  const router = new Router();
  router.get('/', (ctx) => {
    ctx.body = HELLO;
  });
  app.use(router.routes());
  return new Promise((resolve, reject) => {
    const server = app.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
    server.on('error', reject);
  });
};
