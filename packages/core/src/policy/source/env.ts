import { InvalidConfigError } from '../../errors.js';
import { checkConfigText } from '../config/load-file.js';
import { type ConfigSource, createConfigSource } from './config-source.js';

/** The environment variable configFromEnv reads. */
export const CONFIG_ENV_VAR = 'DISTLIMITER_CONFIG';

/**
 * The ConfigSource named by DISTLIMITER_CONFIG: a JSON file path (watched), or a JSON document when the value
 * starts with "{"; undefined when unset or empty. Throws InvalidConfigError when the configuration is invalid.
 */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): ConfigSource | undefined {
  const value = env[CONFIG_ENV_VAR]?.trim();
  if (!value) return undefined;
  if (!value.startsWith('{')) return createConfigSource({ file: value });
  const check = checkConfigText(value);
  if (!check.ok) throw new InvalidConfigError(check.problems, CONFIG_ENV_VAR);
  return createConfigSource({ document: check.config });
}
