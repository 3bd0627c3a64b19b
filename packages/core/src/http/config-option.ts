import type { ConfigInput } from '../policy/config/document.js';
import { configSourceOf } from '../policy/source/config-source.js';
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
export function resolveConfig(value: unknown, field = 'config'): ResolvedConfig {
  if (isConfigSourceLike(value)) return { source: value, owned: false };
  // A document gets a source of its own, and a path a watched one: both are the limiter's to close.
  return configSourceOf(value as ConfigInput | string, field);
}

/** Whether `value` is a config source: anything with a `current()` method (duck-typed across copies). */
export function isConfigSourceLike(value: unknown): value is ConfigSourceLike {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Partial<ConfigSourceLike>).current === 'function'
  );
}
