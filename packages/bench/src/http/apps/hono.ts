import { serve } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import { rateLimiter } from '@distlimiter/hono';
import { Hono } from 'hono';
import { rateLimiter as honoRateLimiter, type RedisClient, RedisStore } from 'hono-rate-limiter';
import type { Redis } from 'ioredis';
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
 * hono-rate-limiter's RedisStore takes a client shaped like Upstash's (`scriptLoad`, `evalsha(sha, keys,
 * args)`, `decr`, `del`); ioredis spells the same commands differently, so this maps them, one call each.
 */
function upstashShaped(client: Redis): RedisClient {
  return {
    scriptLoad: (script) => client.script('LOAD', script) as Promise<string>,
    evalsha: <TArgs extends unknown[], TData = unknown>(sha1: string, keys: string[], args: TArgs) =>
      client.evalsha(sha1, keys.length, ...keys, ...(args as (string | number)[])) as Promise<TData>,
    decr: (key) => client.decr(key),
    del: (key) => client.del(key),
  };
}

/**
 * Hono on @hono/node-server, with `@distlimiter/hono` or hono-rate-limiter on every route: on the memory
 * store, or on Redis (ours on RedisBackend, the peer on its own RedisStore over ioredis).
 */
export const startHono: StartApp = (variant, redis) => {
  const app = new Hono();
  if (variant === 'ours') app.use('*', rateLimiter({ rate: OUR_RATE }));
  if (variant === 'quiet') app.use('*', rateLimiter({ rate: OUR_RATE, headers: false }));
  if (variant === 'both') app.use('*', rateLimiter({ rate: OUR_RATE, headers: 'both' }));
  const tiered = TIERED_EXTRAS[variant];
  if (tiered) app.use('*', rateLimiter({ config: TIERED_CONFIG, ...tiered }));
  if (variant === 'noop') app.use('*', (_c, next) => next());
  if (variant === 'noop-headers') {
    app.use('*', (c, next) => {
      for (const name in DEFAULT_HEADER_FIELDS) c.header(name, DEFAULT_HEADER_FIELDS[name]);
      return next();
    });
  }
  if (variant === 'ours-redis-fixed' || variant === 'ours-redis') {
    app.use('*', rateLimiter(ourRedisOptions(variant, requireRedis(variant, redis))));
  }
  if (variant === 'peer' || variant === 'peer-redis') {
    const target = variant === 'peer-redis' ? requireRedis(variant, redis) : undefined;
    const store = target
      ? new RedisStore({ client: upstashShaped(redisClient(target)), prefix: `${target.prefix}:` })
      : undefined;
    // hono-rate-limiter has no default key; the socket address is what ours uses by default.
    app.use(
      '*',
      honoRateLimiter({
        windowMs: HOUR_MS,
        limit: PEER_LIMIT,
        keyGenerator: (c) => getConnInfo(c).remote.address ?? '',
        ...(store ? { store } : {}),
      }),
    );
  }
  app.get('/', (c) => c.text(HELLO));
  return new Promise((resolve) => {
    serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => resolve(info.port));
  });
};
