import { InvalidOptionError } from '../errors.js';
import { loadConfigFileSync } from '../policy/config/load-file.js';
import { parseConfig } from '../policy/config/validate.js';
import { compileConfig } from '../policy/snapshot.js';
import type { ConfigSourceLike } from './types.js';

/** The `config` option resolved: the source to read snapshots from, and whether the limiter owns it. */
export interface ResolvedConfig {
  readonly source: ConfigSourceLike;
  /** True when the limiter built the source (from a document or a path), so its close() stops it. */
  readonly owned: boolean;
}

/**
 * Resolves the `config` option: a ready source as is; a document validated and compiled now; a file path
 * read and validated now. Invalid input throws here, when the app starts (InvalidConfigError listing every
 * problem, or InvalidOptionError for a value that is none of the three).
 */
export function resolveConfig(value: unknown, field = 'config'): ResolvedConfig {
  if (isConfigSourceLike(value)) return { source: value, owned: false };
  if (typeof value === 'string' && value !== '') {
    const snapshot = compileConfig(loadConfigFileSync(value));
    return { source: { current: () => snapshot }, owned: true };
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const snapshot = compileConfig(parseConfig(value));
    return { source: { current: () => snapshot }, owned: true };
  }
  throw new InvalidOptionError(
    field,
    value,
    'a configuration document (object), the path of a JSON configuration file, or a config source',
  );
}

/** Whether `value` is a config source: anything with a `current()` method (duck-typed across copies). */
export function isConfigSourceLike(value: unknown): value is ConfigSourceLike {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Partial<ConfigSourceLike>).current === 'function'
  );
}
