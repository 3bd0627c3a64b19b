import { statSync } from 'node:fs';
import { MemoryBackend } from './backends/memory.js';
import { RedisBackend } from './backends/redis.js';
import type { Backend } from './backends/types.js';
import { InvalidConfigError, InvalidOptionError } from './errors.js';
import { HttpLimiter } from './http/handler.js';
import type { HttpLimitOptions } from './http/types.js';
import type { ConfigInput } from './policy/config/document.js';
import { checkConfigText } from './policy/config/load-file.js';
import { type ConfigSource, createConfigSource } from './policy/source/config-source.js';

/** The environment variables `optionsFromEnv` and `limiterFromEnv` read. */
export const ENV_VARIABLES = Object.freeze({
  /** The configuration: a JSON file's path (watched), or a JSON document when the value starts with "{". */
  config: 'DISTLIMITER_CONFIG',
  /** Where counts (and the configuration overlay) live: a redis:// or rediss:// URL; unset: in memory. */
  redisUrl: 'REDIS_URL',
  /** The key prefix of counts and of the overlay (default "dl"). */
  prefix: 'DISTLIMITER_PREFIX',
});

/** Options of `optionsFromEnv` and `limiterFromEnv`. */
export interface FromEnvOptions {
  /** Where the variables are read (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** What applies when a variable is unset: the configuration (a file path or a document) and the prefix. */
  defaults?: { config?: string | ConfigInput; prefix?: string };
  /**
   * Options on top of what the environment gives (they win). A `backend` or `config` given here replaces the
   * one the environment would build, and nothing is built for it.
   */
  overrides?: Partial<HttpLimitOptions>;
}

/** Limit options built from the environment, for an adapter: `app.use(rateLimit(env.options))`. */
export interface EnvLimitOptions {
  /** The options to hand to an adapter or to `new HttpLimiter`. */
  readonly options: HttpLimitOptions;
  /**
   * The configuration source built from DISTLIMITER_CONFIG (or `defaults.config`), the one in `options.config`:
   * for its events ('reloaded', 'rejected', 'sourceError') and, with REDIS_URL, `publish`. Undefined when none.
   */
  readonly source: ConfigSource | undefined;
  /** Closes what was built for these options: the configuration source (and its Redis overlay) and the backend. */
  close(): Promise<void>;
  /** A few lines for a start-up log: the configuration, the backend (its host only, never a password), the prefix. */
  describe(): string;
}

const DEFAULT_PREFIX = 'dl';
// The same rule as RateLimiter's prefix, checked here so the error names the variable.
const PREFIX = /^[A-Za-z0-9_.:-]{1,64}$/;
const PREFIX_EXPECTED = '1-64 characters of letters, digits, "_", ".", ":" or "-"';

/**
 * Builds limit options from DISTLIMITER_CONFIG, REDIS_URL and DISTLIMITER_PREFIX: a configuration source
 * (a file reloaded when it changes; with REDIS_URL, a Redis overlay under the same prefix that `publish`
 * changes for every instance), a RedisBackend on REDIS_URL or one MemoryBackend, and the prefix. Every value
 * is checked now: a bad one throws InvalidOptionError naming the variable, an invalid configuration
 * InvalidConfigError listing every problem. `close()` closes what was built here.
 */
export function optionsFromEnv(options: FromEnvOptions = {}): EnvLimitOptions {
  const { env = process.env, defaults = {}, overrides = {} } = checkFromEnvOptions(options);
  const read = (name: string) => {
    const value = env[name]?.trim();
    return value === '' ? undefined : value;
  };
  const prefix = overrides.prefix ?? prefixOf(read(ENV_VARIABLES.prefix), defaults.prefix);
  const redisUrl = redisUrlOf(read(ENV_VARIABLES.redisUrl));
  const configVar = read(ENV_VARIABLES.config);
  const configInput: ConfigEnvInput | undefined =
    configVar !== undefined
      ? { value: configVar, field: ENV_VARIABLES.config }
      : defaults.config !== undefined
        ? { value: defaults.config, field: 'defaults.config' }
        : undefined;

  const built: { close(): Promise<void> }[] = [];
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= Promise.all(built.map((b) => b.close())).then(() => {});
    return closing;
  };
  let source: ConfigSource | undefined;
  let backend: Backend | undefined;
  try {
    if (overrides.config === undefined && configInput !== undefined) {
      source = sourceOf(configInput, redisUrl, prefix);
      built.push(source);
    }
    if (overrides.backend === undefined && overrides.limiter === undefined) {
      backend = redisUrl === undefined ? new MemoryBackend() : new RedisBackend({ client: redisUrl });
      built.push(backend);
    }
  } catch (error) {
    void close();
    throw error;
  }
  const limitOptions: HttpLimitOptions = {
    ...(backend === undefined ? {} : { backend }),
    ...(overrides.limiter === undefined ? { prefix } : {}),
    ...(source === undefined ? {} : { config: source }),
    ...overrides,
  };
  const lines = [
    `config: ${describeConfig(configInput, source, overrides)}`,
    `backend: ${describeBackend(redisUrl, backend, source)}`,
    `prefix: ${limitOptions.prefix ?? overrides.limiter?.prefix ?? DEFAULT_PREFIX}`,
  ];
  return { options: limitOptions, source, close, describe: () => lines.join('\n') };
}

/**
 * An HttpLimiter built from the environment (see `optionsFromEnv`), e.g. for the core HTTP layer or a custom
 * adapter. Its `close()` also closes what was built for it: the configuration source with its Redis overlay,
 * and the backend.
 */
export function limiterFromEnv(options: FromEnvOptions = {}): HttpLimiter {
  const env = optionsFromEnv(options);
  try {
    return new EnvHttpLimiter(env.options, env);
  } catch (error) {
    void env.close();
    throw error;
  }
}

// An HttpLimiter that owns what optionsFromEnv built for it. Limiters derived from it share those, and
// leave closing them to it.
class EnvHttpLimiter extends HttpLimiter {
  readonly #built: EnvLimitOptions;

  constructor(options: HttpLimitOptions, built: EnvLimitOptions) {
    super(options);
    this.#built = built;
  }

  override async close(): Promise<void> {
    await super.close();
    await this.#built.close();
  }
}

interface ConfigEnvInput {
  readonly value: string | ConfigInput;
  /** The variable or option it came from, for errors. */
  readonly field: string;
}

function checkFromEnvOptions(options: unknown): FromEnvOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidOptionError('options', options, 'an object: { env?, defaults?, overrides? }');
  }
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (key !== 'env' && key !== 'defaults' && key !== 'overrides') {
      throw new InvalidOptionError(
        key,
        o[key],
        'no such option; the options are env, defaults and overrides',
      );
    }
  }
  for (const key of ['env', 'defaults', 'overrides'] as const) {
    const value = o[key];
    if (value !== undefined && (typeof value !== 'object' || value === null || Array.isArray(value))) {
      throw new InvalidOptionError(key, value, 'an object');
    }
  }
  const defaults = (o.defaults ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(defaults)) {
    if (key !== 'config' && key !== 'prefix') {
      throw new InvalidOptionError(
        `defaults.${key}`,
        defaults[key],
        'no such default; they are config and prefix',
      );
    }
  }
  return options as FromEnvOptions;
}

function prefixOf(value: string | undefined, fallback: unknown): string {
  if (value === undefined) {
    if (fallback === undefined) return DEFAULT_PREFIX;
    if (typeof fallback !== 'string' || !PREFIX.test(fallback)) {
      throw new InvalidOptionError('defaults.prefix', fallback, PREFIX_EXPECTED);
    }
    return fallback;
  }
  // The overlay's keys put the prefix inside a hash tag, so braces are refused too.
  if (!PREFIX.test(value)) throw new InvalidOptionError(ENV_VARIABLES.prefix, value, PREFIX_EXPECTED);
  return value;
}

function redisUrlOf(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  let valid = /^rediss?:\/\//.test(value);
  if (valid) {
    try {
      new URL(value);
    } catch {
      valid = false;
    }
  }
  if (!valid) {
    throw new InvalidOptionError(
      ENV_VARIABLES.redisUrl,
      withoutPassword(value),
      'a redis:// or rediss:// URL such as redis://127.0.0.1:6379 (unset: counts in memory)',
    );
  }
  return value;
}

// The configuration source: a file (watched) or a document, with a Redis overlay on REDIS_URL.
function sourceOf(input: ConfigEnvInput, redisUrl: string | undefined, prefix: string): ConfigSource {
  const redis = redisUrl === undefined ? undefined : { client: redisUrl, prefix };
  const { value, field } = input;
  if (typeof value !== 'string')
    return createConfigSource({ document: value, ...(redis ? { redis } : { localOverlay: true }) });
  if (value.startsWith('{')) {
    const check = checkConfigText(value);
    if (!check.ok) throw new InvalidConfigError(check.problems, field);
    return createConfigSource({ document: check.config, ...(redis ? { redis } : { localOverlay: true }) });
  }
  try {
    if (!statSync(value).isFile()) throw new Error('not a file');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new InvalidOptionError(
      field,
      value,
      `the path of a JSON configuration file that exists (${reason}), or a JSON document starting with "{"`,
    );
  }
  return createConfigSource({ file: value, ...(redis ? { redis } : { localOverlay: true }) });
}

function describeConfig(
  input: ConfigEnvInput | undefined,
  source: ConfigSource | undefined,
  overrides: Partial<HttpLimitOptions>,
): string {
  if (overrides.config !== undefined) return 'given in code';
  if (input === undefined || source === undefined) return `none (set ${ENV_VARIABLES.config} to a JSON file)`;
  const from = input.field === ENV_VARIABLES.config ? ` (${ENV_VARIABLES.config})` : '';
  if (typeof input.value !== 'string' || input.value.startsWith('{')) return `a JSON document${from}`;
  return `${input.value}${from}, reloaded when it changes`;
}

function describeBackend(
  redisUrl: string | undefined,
  backend: Backend | undefined,
  source: ConfigSource | undefined,
): string {
  const overlay = redisUrl !== undefined && source !== undefined;
  if (backend === undefined) {
    return overlay ? `given in code; configuration overlay at ${hostOf(redisUrl)}` : 'given in code';
  }
  if (redisUrl === undefined)
    return `memory (set ${ENV_VARIABLES.redisUrl} to share counts across processes)`;
  return `redis at ${hostOf(redisUrl)}${overlay ? ' (counts and the configuration overlay)' : ''}`;
}

// Only the host: REDIS_URL may carry a password, and start-up output ends up in logs.
function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return ENV_VARIABLES.redisUrl;
  }
}

function withoutPassword(url: string): string {
  return url.replace(/^([^/]*\/\/[^:/@]*:)[^@/]*@/, '$1***@').replace(/^([^/@:]*:)[^@/]*@/, '$1***@');
}
