import type { Cluster, Redis } from 'ioredis';
import { InvalidOptionError } from '../../errors.js';
import type { ConfigInput } from '../config/document.js';
import { keysOf, knownKeys } from '../known-keys.js';
import { positiveIntegerOr } from '../validate.js';

/** Options of createConfigSource: exactly one of `document` and `file`, and optionally a Redis overlay. */
export interface ConfigSourceOptions {
  /** The configuration document as an object (validated at once). */
  document?: ConfigInput;
  /** The path of a JSON configuration file (read and validated at once, then watched). */
  file?: string;
  /** Whether a file is watched and reloaded when it changes (default true). */
  watch?: boolean;
  /** A Redis overlay on top of the document or file, shared by every instance on that Redis. */
  redis?: ConfigSourceRedisOptions;
  /**
   * Without `redis`: let `publish` change an overlay kept in this process only (default false, and publish
   * throws). For one instance or the memory backend: the overlay is NOT shared with other instances, and
   * it is lost when the process ends (the document or file then applies alone again).
   */
  localOverlay?: boolean;
  /** Time source in ms (default Date.now): when overlay keys with an `expiresAt` stop applying. For tests. */
  clock?: () => number;
}

/** Where the Redis overlay lives and how often it is polled. */
export interface ConfigSourceRedisOptions {
  /** An ioredis `Redis` or `Cluster` (left open: the source uses duplicates of it), or a redis:// URL. */
  client: string | Redis | Cluster;
  /** The prefix of the overlay's keys and channel (default "dl"): `{<prefix>:config}:overlay`, `<prefix>:config`. */
  prefix?: string;
  /** Time between polls of the version counter, in ms (default 500): catches what pub/sub dropped. */
  pollMs?: number;
}

/** Every key ConfigSourceOptions accepts. */
export const CONFIG_SOURCE_OPTION_KEYS = keysOf<ConfigSourceOptions>()([
  'document',
  'file',
  'watch',
  'redis',
  'localOverlay',
  'clock',
]);
const REDIS_OPTION_KEYS = keysOf<ConfigSourceRedisOptions>()(['client', 'prefix', 'pollMs']);

const DEFAULT_PREFIX = 'dl';
const DEFAULT_POLL_MS = 500;

/** The options, checked, with defaults filled in. */
export interface CheckedOptions {
  readonly base: { document: unknown } | { file: string };
  readonly watch: boolean;
  readonly redis: { client: string | Redis | Cluster; prefix: string; pollMs: number } | undefined;
  readonly localOverlay: boolean;
  readonly clock: () => number;
}

/** Checks createConfigSource's options, throwing InvalidOptionError naming the first bad one. */
export function checkOptions(options: unknown): CheckedOptions {
  const o = knownKeys(options, CONFIG_SOURCE_OPTION_KEYS, 'ConfigSource options');
  if ((o.document === undefined) === (o.file === undefined)) {
    throw new InvalidOptionError(
      o.document === undefined ? 'document' : 'file',
      o.document === undefined ? undefined : o.file,
      'exactly one of "document" (a configuration object) and "file" (the path of a JSON file)',
    );
  }
  if (o.file !== undefined && (typeof o.file !== 'string' || o.file.length === 0)) {
    throw new InvalidOptionError('file', o.file, 'the path of a JSON configuration file');
  }
  if (o.watch !== undefined && typeof o.watch !== 'boolean') {
    throw new InvalidOptionError('watch', o.watch, 'true or false');
  }
  if (o.localOverlay !== undefined && typeof o.localOverlay !== 'boolean') {
    throw new InvalidOptionError('localOverlay', o.localOverlay, 'true or false');
  }
  if (o.localOverlay === true && o.redis !== undefined) {
    throw new InvalidOptionError(
      'localOverlay',
      o.localOverlay,
      'false or left out when "redis" is given (publish then writes the Redis overlay, shared by every instance)',
    );
  }
  if (o.clock !== undefined && typeof o.clock !== 'function') {
    throw new InvalidOptionError('clock', o.clock, 'a function returning the time in ms, like Date.now');
  }
  const base = o.file !== undefined ? { file: o.file as string } : { document: o.document };
  return {
    base,
    watch: o.watch !== false,
    redis: o.redis === undefined ? undefined : checkRedis(o.redis),
    localOverlay: o.localOverlay === true,
    clock: (o.clock as (() => number) | undefined) ?? Date.now,
  };
}

function checkRedis(redis: unknown): CheckedOptions['redis'] {
  const r = knownKeys(redis, REDIS_OPTION_KEYS, 'redis', 'redis.');
  const client = r.client;
  if (typeof client === 'string') {
    if (!/^rediss?:\/\//.test(client)) {
      throw new InvalidOptionError(
        'redis.client',
        client.replace(/\/\/[^@/]*@/, '//***@'),
        'a redis:// or rediss:// URL',
      );
    }
  } else if (typeof (client as Partial<Redis> | null)?.duplicate !== 'function') {
    // Duck-typed: instanceof would load ioredis here, and miss a client built by another copy of it.
    throw new InvalidOptionError(
      'redis.client',
      client,
      'an ioredis Redis or Cluster (the overlay subscribes on a duplicate of it), or a redis:// URL',
    );
  }
  const prefix = r.prefix ?? DEFAULT_PREFIX;
  // The prefix goes inside a hash tag, where a brace would end the tag early and split the keys across slots.
  if (typeof prefix !== 'string' || prefix.length === 0 || /[{}]/.test(prefix)) {
    throw new InvalidOptionError('redis.prefix', prefix, 'a non-empty string without "{" or "}"');
  }
  return {
    client: client as string | Redis | Cluster,
    prefix,
    pollMs: positiveIntegerOr(r.pollMs, 'redis.pollMs', DEFAULT_POLL_MS),
  };
}
