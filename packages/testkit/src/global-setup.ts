import type { TestProject } from 'vitest/node';
import { EXTERNAL_REDIS_URL_VAR, TEST_REDIS_URL_VAR } from './redis-guard.js';
import { type RedisInstance, startRedis } from './redis-server.js';

declare module 'vitest' {
  /** Typed channel from globalSetup to tests, for code that prefers inject() over env vars. */
  export interface ProvidedContext {
    redisUrl: string;
  }
}

/**
 * One Redis for the whole run, because a server per file would dominate test time. It is a server the
 * harness starts itself, whatever REDIS_URL says; only the explicit external variable replaces it.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let server: RedisInstance | undefined;
  let url = process.env[EXTERNAL_REDIS_URL_VAR];
  if (!url) {
    server = await startRedis();
    url = server.url;
  }
  project.provide('redisUrl', url);
  // The env var also reaches worker forks and any child processes tests spawn themselves.
  process.env[TEST_REDIS_URL_VAR] = url;
  return async () => {
    delete process.env[TEST_REDIS_URL_VAR];
    await server?.stop();
  };
}
