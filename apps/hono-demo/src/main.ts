import { type Backend, MemoryBackend, RedisBackend } from '@distlimiter/core';
import { serve } from '@hono/node-server';
import { Redis } from 'ioredis';
import { buildApp } from './app.js';

const port = Number(process.env.PORT ?? 3003);
const hostname = process.env.HOST ?? '127.0.0.1';
const redisUrl = process.env.REDIS_URL;

const redis = redisUrl ? new Redis(redisUrl) : undefined;
const backend: Backend = redis ? new RedisBackend({ client: redis }) : new MemoryBackend();
const app = buildApp({ backend });

const server = serve({ fetch: app.fetch, port, hostname }, () => {
  const url = `http://${hostname}:${port}`;
  console.log(`distlimiter hono demo listening on ${url}`);
  console.log(
    `backend: ${redis ? `redis (${redisUrl})` : 'memory (set REDIS_URL to share limits across processes)'}`,
  );
  console.log(`
Try:
  curl -i ${url}/api/hello                         # 10/minute per IP
  curl -i -X POST ${url}/api/login                 # plus 3/minute per IP on login
  curl -i -H 'x-api-key: alice' ${url}/api/data    # 10/minute per API key (IP when absent)
  curl -i ${url}/health                            # never limited
`);
});

async function shutdown(): Promise<void> {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await backend.close();
  await redis?.quit();
  process.exit(0);
}
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
