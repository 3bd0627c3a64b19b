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
// PORT=0 picks a free port, so print the one actually bound.
const url = `http://${host}:${(app.getHttpServer().address() as AddressInfo).port}`;
console.log(`distlimiter nest demo listening on ${url}
backend: ${redisUrl ? `redis at ${redisHost(redisUrl)}` : 'memory (set REDIS_URL to share counts across processes)'}

Try:
  curl -i ${url}/health                              # 200, never limited
  curl -i ${url}/api/hello                           # 10/minute per IP (app-wide)
  curl -i ${url}/nope                                # 404, counted by the app-wide limit
  curl -i -X POST ${url}/api/login                   # 3/minute per IP, its own count
  curl -i -H 'x-api-key: alice' ${url}/api/data      # 5/minute per x-api-key (per IP without one)
  for i in $(seq 11); do curl -s -o /dev/null -w '%{http_code} ' ${url}/api/hello; done; echo
`);

// Only the host: REDIS_URL may carry a password, and terminal output ends up in logs.
function redisHost(raw: string): string {
  try {
    return new URL(raw).host;
  } catch {
    return 'REDIS_URL';
  }
}

async function shutdown(): Promise<void> {
  await app.close();
  await backend.close();
  process.exit(0);
}
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
