import { createRequire } from 'node:module';
import type { Command, Redis } from 'ioredis';
import { MissingDependencyError } from '../errors.js';

/** The part of ioredis that core constructs itself; everything else only needs its types. */
export interface IoredisModule {
  /** The standalone client class, built from a URL. */
  Redis: typeof Redis;
  /** A command, written by the backend itself to a client that auto-pipelines (see RedisDecisions). */
  Command: typeof Command;
}

/** A `require`, injectable so a test can stand in for an install without ioredis. */
export type RequireFunction = (id: string) => unknown;

/**
 * Loads ioredis on first use rather than at import, so an app on the memory backend runs without it.
 * `require` works in both builds (tsup shims `import.meta.url` in the CommonJS one) and ioredis is
 * CommonJS, so an app that imports ioredis itself shares the very same module.
 */
export function loadIoredis(load: RequireFunction = createRequire(import.meta.url)): IoredisModule {
  try {
    // No cache of our own: require keeps one.
    return load('ioredis') as IoredisModule;
  } catch (error) {
    // Only ioredis itself missing is a missing peer; a broken install of it keeps its own error.
    if (isNotFound(error, 'ioredis')) throw new MissingDependencyError('ioredis', 'RedisBackend', error);
    throw error;
  }
}

function isNotFound(error: unknown, id: string): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return code === 'MODULE_NOT_FOUND' && typeof message === 'string' && message.includes(`'${id}'`);
}

// The Command class, once loaded: a `require` per call would cost a module-cache lookup each time.
let CommandClass: typeof Command | undefined;

/**
 * An EVALSHA command for `client` as its own `evalsha` method would build it (the client's key prefix
 * applied), but for the reply: the scripts answer integers only, which ioredis would otherwise walk looking
 * for text to decode. For writing with `client.sendCommand`, past its automatic pipelining.
 */
export function evalshaCommand(
  client: Redis,
  sha: string,
  keys: readonly string[],
  args: readonly (string | number)[],
): Command {
  CommandClass ??= loadIoredis().Command;
  const options = client.options;
  return new CommandClass('evalsha', [sha, keys.length, ...keys, ...args], {
    keyPrefix: options.keyPrefix,
    replyEncoding: null,
    errorStack: options.showFriendlyErrorStack ? new Error() : undefined,
  });
}
