import type { TestProject } from 'vitest/node';
import { type RedisInstance, startRedis } from './redis-server.js';

declare module 'vitest' {
  /** Typed channel from globalSetup to tests, for code that prefers inject() over env vars. */
  export interface ProvidedContext {
    redisUrl: string;
  }
}

/** One Redis for the whole run, because a server per file would dominate test time. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let server: RedisInstance | undefined;
  let url = process.env.REDIS_URL;
  if (!url) {
    server = await startRedis();
    url = server.url;
  }
  project.provide('redisUrl', url);
  // The env var also reaches worker forks and any child processes tests spawn themselves.
  process.env.DISTLIMITER_TEST_REDIS_URL = url;
  return async () => {
    delete process.env.DISTLIMITER_TEST_REDIS_URL;
    await server?.stop();
  };
}
