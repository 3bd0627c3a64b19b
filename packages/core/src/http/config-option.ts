import type { ConfigInput } from '../policy/config/document.js';
import { RedisBackend } from '../backends/redis.js';
import { configSourceOf, createConfigSource } from '../policy/source/config-source.js';
import type { ConfigSourceLike } from './types.js';

/** The `config` option resolved: the source to read snapshots from, and whether the limiter owns it. */
export interface ResolvedConfig {
  readonly source: ConfigSourceLike;
  /** True when the limiter built the source (from a document or a path), so its close() stops it. */
  readonly owned: boolean;
}

/**
 * Resolves the `config` option: a ready source (anything with `current()`) as is; a document validated and
 * compiled now; a file path read and validated now, then watched for changes. Invalid input throws here,
 * when the app starts (InvalidConfigError listing every problem, or InvalidOptionError for a value that is
 * none of the three).
 */
export function resolveConfig(
  value: unknown,
  field = 'config',
  shared?: { backend?: unknown; prefix?: string },
): ResolvedConfig {
  if (isConfigSourceLike(value)) return { source: value, owned: false };
  // On a RedisBackend, the configuration is shared like the counts: a Redis overlay under the limiter's
  // prefix, which `publish` (and the admin API) write and every instance applies.
  const backend = shared?.backend;
  if (backend instanceof RedisBackend && (typeof value === 'string' || isPlainObject(value))) {
    const redis = { client: backend.client, prefix: shared?.prefix ?? 'dl' };
    const source =
      typeof value === 'string'
        ? createConfigSource({ file: value, redis })
        : createConfigSource({ document: value as ConfigInput, redis });
    return { source, owned: true };
  }
  // A document gets a source of its own, and a path a watched one: both are the limiter's to close.
  return configSourceOf(value as ConfigInput | string, field);
}

function isPlainObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Whether `value` is a config source: anything with a `current()` method (duck-typed across copies). */
export function isConfigSourceLike(value: unknown): value is ConfigSourceLike {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Partial<ConfigSourceLike>).current === 'function'
  );
}
