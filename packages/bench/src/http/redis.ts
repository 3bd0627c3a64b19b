import { Redis } from 'ioredis';
import { CLIENT_OPTIONS } from '../redis-options.js';
import type { Variant } from './apps/types.js';

/** The Redis server the HTTP rows on Redis count on. */
export interface HttpRedis {
  url: string;
  /** Its process id when the bench started it (so it may be pinned); undefined for `REDIS_URL`. */
  pid?: number;
}

/** Reads the server's process id from `INFO server`. */
export async function redisPid(url: string): Promise<number | undefined> {
  const client = new Redis(url, CLIENT_OPTIONS);
  try {
    const pid = Number(/process_id:(\d+)/.exec(await client.info('server'))?.[1]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } finally {
    client.disconnect();
  }
}

/**
 * The key prefix of one framework's variant in this run. The process id keeps two runs on one `REDIS_URL`
 * apart; every limiter puts the prefix and then ":" into each key it writes (the Nest throttler's inside a
 * `{...}` tag), and nothing in it is special to `SCAN MATCH`.
 */
export function variantPrefix(framework: string, variant: Variant): string {
  return `dlbench-${process.pid}:${framework}:${variant}`;
}

// Calls `each` with every batch of keys a variant's prefix matches, and returns how many there were per variant.
async function scanVariants(
  url: string,
  prefixes: ReadonlyMap<Variant, string>,
  each: (client: Redis, keys: string[]) => Promise<unknown>,
): Promise<Map<Variant, number>> {
  const client = new Redis(url, CLIENT_OPTIONS);
  const counts = new Map<Variant, number>();
  try {
    for (const [variant, prefix] of prefixes) {
      let found = 0;
      let cursor = '0';
      do {
        const [next, keys] = await client.scan(cursor, 'MATCH', `*${prefix}:*`, 'COUNT', 1000);
        cursor = next;
        found += keys.length;
        if (keys.length) await each(client, keys);
      } while (cursor !== '0');
      counts.set(variant, found);
    }
    return counts;
  } finally {
    client.disconnect();
  }
}

/**
 * How many keys each variant holds. Taken straight after the warm-up, when every server has just been
 * loaded, a count of 0 means the variant never reached Redis and its row would be meaningless (later,
 * a key may have expired: koa-ratelimit's log lives for 1 s).
 */
export function countVariantKeys(
  url: string,
  prefixes: ReadonlyMap<Variant, string>,
): Promise<Map<Variant, number>> {
  return scanVariants(url, prefixes, async () => {});
}

/**
 * Removes every key the variants wrote. Only keys holding a prefix of this run are touched, so a
 * `REDIS_URL` shared with anything else keeps its data.
 */
export async function removeVariantKeys(url: string, prefixes: ReadonlyMap<Variant, string>): Promise<void> {
  await scanVariants(url, prefixes, (client, keys) => client.unlink(...keys));
}
