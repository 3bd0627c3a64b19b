import path from 'node:path';
import type { Redis } from 'ioredis';
import { DATA_DIR_PREFIX } from './redis-server.js';

/**
 * The only way to point the tests at a Redis the harness does not start. It is deliberately not
 * `REDIS_URL`: that one belongs to the demo apps, and a test run must never write into the Redis a user
 * set up for them.
 */
export const EXTERNAL_REDIS_URL_VAR = 'DISTLIMITER_TEST_EXTERNAL_REDIS_URL';

/** Internal channel from globalSetup to workers and the children they spawn; not for users to set. */
export const TEST_REDIS_URL_VAR = 'DISTLIMITER_TEST_REDIS_URL';

/** Raised instead of clearing a Redis that the harness did not start. */
export class NotHarnessRedisError extends Error {
  override readonly name = 'NotHarnessRedisError';
}

/** What a guarded flush clears: the selected database, or the Lua script cache. */
export type FlushTarget = 'database' | 'scripts';

/**
 * Clears the selected database (or the script cache) of `client`, but only on a redis-server this
 * harness started; every test that needs an empty Redis goes through here.
 */
export async function flushTestRedis(client: Redis, target: FlushTarget = 'database'): Promise<void> {
  await assertHarnessRedis(client, target === 'database' ? 'FLUSHDB' : 'SCRIPT FLUSH');
  if (target === 'database') await client.flushdb();
  else await client.script('FLUSH');
}

// The harness gives each server a fresh data directory under a fixed prefix, and a server reports its
// directory: that identifies our servers across worker processes without any shared registry.
async function assertHarnessRedis(client: Redis, command: string): Promise<void> {
  let dir: string | undefined;
  try {
    const reply = (await client.config('GET', 'dir')) as string[];
    dir = reply[1];
  } catch {
    // CONFIG is often disabled on managed servers; those are never ours.
  }
  if (dir !== undefined && path.basename(dir).startsWith(DATA_DIR_PREFIX)) return;
  const { host, port } = client.options;
  const seen = dir === undefined ? 'it does not report its data directory' : `its data directory is ${dir}`;
  throw new NotHarnessRedisError(
    `Refusing ${command} on the Redis at ${host}:${port}: the test harness did not start it (${seen}). ` +
      `Tests only clear a redis-server they started; unset ${EXTERNAL_REDIS_URL_VAR} to let the harness start its own.`,
  );
}
