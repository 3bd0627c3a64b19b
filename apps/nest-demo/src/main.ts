import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { type Backend, MemoryBackend, RedisBackend } from '@distlimiter/core';
import { createApp } from './app.js';

const port = Number(process.env.PORT ?? 3002);
const host = process.env.HOST ?? '127.0.0.1';
const redisUrl = process.env.REDIS_URL;
// Given a URL, RedisBackend opens its own client and closes it with the backend.
const backend: Backend = redisUrl ? new RedisBackend({ client: redisUrl }) : new MemoryBackend();

const app = await createApp({ backend });
await app.listen(port, host);
const address = app.getHttpServer().address() as AddressInfo;
// IPv6 literals need brackets in a URL.
const url = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
console.log(`distlimiter NestJS demo listening on ${url}`);
console.log(
  `backend: ${redisUrl ? `Redis (${redactedUrl(redisUrl)})` : 'memory (set REDIS_URL to use Redis)'}`,
);
console.log('try:');
console.log(`  curl -i ${url}/api/hello                          # 10/minute per IP`);
console.log(`  curl -i -X POST ${url}/api/login                  # 3/minute per IP`);
console.log(
  `  curl -i -H 'x-api-key: alice' ${url}/api/data     # 5/minute per API key (per IP without one)`,
);
console.log(`  curl -i ${url}/health                             # never limited`);

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

async function shutdown(): Promise<void> {
  await app.close();
  await backend.close();
}
process.once('SIGINT', () => void shutdown());
process.once('SIGTERM', () => void shutdown());
