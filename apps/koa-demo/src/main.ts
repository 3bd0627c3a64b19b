import type { AddressInfo } from 'node:net';
import { type Backend, MemoryBackend, RedisBackend } from '@distlimiter/core';
import { Redis } from 'ioredis';
import { buildApp } from './app.js';

const port = Number(process.env.PORT ?? 3004);
const redisUrl = process.env.REDIS_URL;
const redis = redisUrl ? new Redis(redisUrl) : undefined;
const backend: Backend = redis ? new RedisBackend({ client: redis }) : new MemoryBackend();

const server = buildApp({ backend }).listen(port, () => {
  const url = `http://localhost:${(server.address() as AddressInfo).port}`;
  console.log(`distlimiter Koa demo listening on ${url}`);
  console.log(
    `backend: ${redisUrl ? `Redis (${redactedUrl(redisUrl)})` : 'memory (set REDIS_URL to use Redis)'}`,
  );
  console.log('try:');
  console.log(`  curl -i ${url}/api/hello                          # 10/minute per IP`);
  console.log(`  curl -i -X POST ${url}/api/login                  # 3/minute per IP`);
  console.log(`  curl -i -H 'x-api-key: alice' ${url}/api/data     # 5/minute per API key`);
  console.log(`  curl -i ${url}/health                             # never limited`);
});

// Credentials in a Redis URL should not end up in logs.
function redactedUrl(raw: string): string {
  try {
    const u = new URL(raw);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'REDIS_URL';
  }
}

function shutdown(): void {
  server.close();
  server.closeAllConnections();
  void backend.close().finally(() => redis?.disconnect());
}
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
