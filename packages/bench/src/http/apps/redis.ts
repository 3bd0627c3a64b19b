import { fixedWindow, RedisBackend } from '@distlimiter/core';
import { Redis } from 'ioredis';
import { CLIENT_OPTIONS } from '../../redis-options.js';
import { OUR_RATE, type RedisTarget, type Variant } from './types.js';

/** The server process's one ioredis client, built with the options every side gets (ours and the peer's). */
export function redisClient(target: RedisTarget): Redis {
  return new Redis(target.url, CLIENT_OPTIONS);
}

/** What our adapters get in a Redis variant, on top of their defaults. */
export interface OurRedisOptions {
  backend: RedisBackend;
  prefix: string;
  rate?: string;
  algorithm?: ReturnType<typeof fixedWindow>;
}

/**
 * Our options for `ours-redis-fixed` (fixedWindow, the algorithm every peer implements) or `ours-redis`
 * (`rate`, so the default algorithm), on a RedisBackend over a client like the peer's.
 */
export function ourRedisOptions(variant: Variant, target: RedisTarget): OurRedisOptions {
  const backend = new RedisBackend({ client: redisClient(target) });
  const limit = variant === 'ours-redis-fixed' ? { algorithm: fixedWindow(OUR_RATE) } : { rate: OUR_RATE };
  return { backend, prefix: target.prefix, ...limit };
}

/** Fails loudly when a Redis variant is started without a server to count on. */
export function requireRedis(variant: Variant, target: RedisTarget | undefined): RedisTarget {
  if (!target) throw new Error(`variant ${variant} needs a Redis target`);
  return target;
}
