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
  | 'noop-headers'
  | 'quiet'
  | 'both'
  | 'tiered'
  | 'tiered-nostats'
  | 'tiered-monitor'
  | 'ours-redis-fixed'
  | 'ours-redis'
  | 'peer-redis';

/**
 * The floors `--floors` adds: `noop` is the app with a middleware (hook, guard) that does nothing, the least
 * any limiter costs; `quiet` is ours with `headers: false`, deciding without sending a header; `both` is
 * ours with `headers: 'both'` (five fields, the default before 'legacy'), what the default change saves;
 * `tiered` is ours with a configuration of tiers and rules (TIERED_CONFIG) instead of a plain `rate`, its
 * statistics on (the default); `tiered-nostats` the same with `statistics: false`, for what they cost;
 * `tiered-monitor` with the automatic load monitor on (`load: { monitor: true }`), for what it costs.
 */
export const FLOOR_VARIANTS: readonly Variant[] = [
  'noop',
  'quiet',
  'both',
  'tiered',
  'tiered-nostats',
  'tiered-monitor',
];

/**
 * The fields ours sends by default (`headers: 'legacy'`), as constants of the same length: what the
 * `noop-headers` variant sets, through each framework's own header API, one call per field, and nothing
 * else. Any limiter that sends these fields pays at least that, so it is the floor ours is held to. The
 * reset is a Unix time in seconds an hour ahead, as ours sends it for OUR_RATE.
 */
export const DEFAULT_HEADER_FIELDS: Readonly<Record<string, string>> = Object.freeze({
  'X-RateLimit-Limit': '100000000',
  'X-RateLimit-Remaining': '99999999',
  'X-RateLimit-Reset': String(Math.ceil(Date.now() / 1000) + 3600),
});

/** The options of the tiered variants beside the configuration. */
export const TIERED_EXTRAS: Partial<Record<Variant, Record<string, unknown>>> = {
  tiered: {},
  'tiered-nostats': { statistics: false },
  'tiered-monitor': { load: { monitor: true } },
};

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
/** The API key every load generator sends with every request, whatever the variant (only `tiered` reads it). */
export const BENCH_API_KEY = 'bench_key_0123456789';

/**
 * The `tiered` variant's configuration: the bench's key in a tier of its own, an anonymous default tier,
 * and two rules the bench's requests (GET /) do not match, so each request finds its tier by key, looks
 * for rules, and is charged to its tier's token bucket.
 */
export const TIERED_CONFIG = {
  version: 1 as const,
  defaultTier: 'anonymous',
  tiers: {
    anonymous: { rate: '60/minute' },
    bench: { rate: OUR_RATE },
  },
  keys: { [BENCH_API_KEY]: 'bench' },
  rules: [
    {
      id: 'login',
      match: { methods: ['POST' as const], path: '/api/login' },
      rate: '3/minute',
      keyBy: 'ip' as const,
    },
    { id: 'search', match: { path: '/api/search/**' }, rate: '600/hour' },
  ],
};

/** What every app answers. */
export const HELLO = 'hello world';
