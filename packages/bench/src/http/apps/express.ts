import type { AddressInfo } from 'node:net';
import { rateLimit } from '@distlimiter/express';
import express from 'express';
import { rateLimit as expressRateLimit } from 'express-rate-limit';
import { RedisStore, type RedisReply } from 'rate-limit-redis';
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
 * Express 5, with `@distlimiter/express` or express-rate-limit as app-wide middleware: on the memory store,
 * or on Redis (ours on RedisBackend, the peer on rate-limit-redis).
 */
export const startExpress: StartApp = (variant, redis) => {
  const app = express();
  if (variant === 'ours') app.use(rateLimit({ rate: OUR_RATE }));
  if (variant === 'peer') app.use(expressRateLimit({ windowMs: HOUR_MS, limit: PEER_LIMIT }));
  if (variant === 'quiet') app.use(rateLimit({ rate: OUR_RATE, headers: false }));
  if (variant === 'both') app.use(rateLimit({ rate: OUR_RATE, headers: 'both' }));
  const tiered = TIERED_EXTRAS[variant];
  if (tiered) app.use(rateLimit({ config: TIERED_CONFIG, ...tiered }));
  if (variant === 'noop') app.use((_req, _res, next) => next());
  if (variant === 'noop-headers') {
    app.use((_req, res, next) => {
      for (const name in DEFAULT_HEADER_FIELDS) res.setHeader(name, DEFAULT_HEADER_FIELDS[name]!);
      next();
    });
  }
  if (variant === 'ours-redis-fixed' || variant === 'ours-redis') {
    app.use(rateLimit(ourRedisOptions(variant, requireRedis(variant, redis))));
  }
  if (variant === 'peer-redis') {
    const target = requireRedis(variant, redis);
    const client = redisClient(target);
    // rate-limit-redis sends raw commands; ioredis's `call` is how its README connects an ioredis client.
    const store = new RedisStore({
      sendCommand: (command: string, ...args: string[]) =>
        client.call(command, ...args) as Promise<RedisReply>,
      prefix: `${target.prefix}:`,
    });
    app.use(expressRateLimit({ windowMs: HOUR_MS, limit: PEER_LIMIT, store }));
  }
  app.get('/', (_req, res) => {
    res.send(HELLO);
  });
  return new Promise((resolve, reject) => {
    const server = app.listen(0, '127.0.0.1', (error?: Error) => {
      if (error) reject(error);
      else resolve((server.address() as AddressInfo).port);
    });
  });
};
