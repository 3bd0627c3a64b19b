import { type Backend, MemoryBackend, RedisBackend } from '@distlimiter/core';
import { Redis } from 'ioredis';
import { buildApp } from './app.js';

const port = Number(process.env.PORT ?? 3001);
const host = process.env.HOST ?? '127.0.0.1';
const redisUrl = process.env.REDIS_URL;

const redis = redisUrl ? new Redis(redisUrl) : undefined;
const backend: Backend = redis ? new RedisBackend({ client: redis }) : new MemoryBackend();
const app = await buildApp({ backend });
await app.listen({ port, host });

const url = `http://${host}:${port}`;
console.log(`distlimiter fastify demo listening on ${url}`);
console.log(
  `backend: ${redis ? `redis (${redisUrl})` : 'memory (set REDIS_URL to share limits across processes)'}`,
);
console.log(`
Try:
  curl -i ${url}/api/hello                         # 10/minute per IP
  curl -i -X POST ${url}/api/login                 # 3/minute per IP, counted apart from /api/hello
  curl -i -H 'x-api-key: alice' ${url}/api/data    # 10/minute per API key (IP when absent)
  curl -i ${url}/health                            # never limited
`);

async function shutdown(): Promise<void> {
  await app.close();
  await backend.close();
  await redis?.quit();
  process.exit(0);
}
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
