import type { RedisOptions } from 'ioredis';

/**
 * The one set of ioredis options every client in the bench gets, ours and every peer's, in Part A and in
 * the HTTP rows on Redis. Auto-pipelining is what a busy app enables (and what RedisBackend sets on clients
 * it builds from a URL); it lets many in-flight calls share socket writes.
 */
export const CLIENT_OPTIONS: RedisOptions = { enableAutoPipelining: true, maxRetriesPerRequest: 1 };
