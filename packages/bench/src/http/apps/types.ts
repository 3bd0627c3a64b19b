/**
 * Which build of a hello-world app to serve. `twin` is the bare app again, in processes of its own: its ratio
 * to the bare app shows how far two identical servers drift apart in one run, the noise floor of the others.
 */
export type Variant =
  | 'bare'
  | 'ours'
  | 'peer'
  | 'twin'
  | 'noop'
  | 'quiet'
  | 'both'
  | 'ours-redis-fixed'
  | 'ours-redis'
  | 'peer-redis';

/**
 * The floors `--floors` adds: `noop` is the app with a middleware (hook, guard) that does nothing, the least
 * any limiter costs; `quiet` is ours with `headers: false`, deciding without sending a header; `both` is
 * ours with `headers: 'both'` (five fields, the default before 'legacy'), what the default change saves.
 */
export const FLOOR_VARIANTS: readonly Variant[] = ['noop', 'quiet', 'both'];

/**
 * The Redis rows (`--only http-redis`): ours with `fixedWindow` (what every peer implements), ours with the
 * default algorithm of `rate`, and the peer on its Redis store.
 */
export const REDIS_VARIANTS: readonly Variant[] = ['ours-redis-fixed', 'ours-redis', 'peer-redis'];

/** Where a Redis variant keeps its counts: the server, and a key prefix no other variant or run uses. */
export interface RedisTarget {
  url: string;
  prefix: string;
}

/** How a server process learns which Redis its Redis variants count on (not argv: a URL may hold a password). */
export const REDIS_URL_VARIABLE = 'DISTLIMITER_BENCH_REDIS_URL';

/**
 * Starts one framework's app in the given variant on 127.0.0.1 and resolves with its port. `redis` is set
 * for the Redis variants only.
 */
export type StartApp = (variant: Variant, redis?: RedisTarget) => Promise<number>;

/** The rate every limiter gets: far above what a few seconds of load can reach, so nothing is refused. */
export const OUR_RATE = '100000000/hour';
/** The peers' equally unreachable limit per hour. */
export const PEER_LIMIT = 1e9;
/** The peers' window. */
export const HOUR_MS = 3_600_000;
/** What every app answers. */
export const HELLO = 'hello world';
