import type { AddressInfo } from 'node:net';
import { type Backend, MemoryBackend, RedisBackend } from '@distlimiter/core';
import { createApp } from './app.js';

const port = Number(process.env.PORT ?? 3000);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  throw new Error(`PORT must be a port number from 0 to 65535, got ${JSON.stringify(process.env.PORT)}`);
}
const redisUrl = process.env.REDIS_URL;

const backend: Backend = redisUrl ? new RedisBackend({ client: redisUrl }) : new MemoryBackend();
const server = createApp({ backend }).listen(port, () => {
  // PORT=0 picks a free port, so print the one actually bound.
  const url = `http://localhost:${(server.address() as AddressInfo).port}`;
  console.log(`distlimiter express demo listening on ${url}`);
  console.log(
    `backend: ${redisUrl ? `redis (${withoutPassword(redisUrl)})` : 'memory (set REDIS_URL to share limits across processes)'}`,
  );
  console.log(`
Try:
  curl -i ${url}/api/hello                         # 10/minute per IP
  curl -i -X POST ${url}/api/login                 # 3/minute per IP, on top of the 10/minute
  curl -i -H 'x-api-key: alice' ${url}/api/data    # 5/minute per API key (per IP when absent)
  curl -i ${url}/health                            # never limited
  for i in $(seq 11); do curl -s -o /dev/null -w '%{http_code} ' ${url}/api/hello; done; echo
`);
});

// Credentials in REDIS_URL must not end up in terminal logs.
function withoutPassword(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

function shutdown(): void {
  server.closeAllConnections();
  server.close(() => {
    backend.close().finally(() => process.exit(0));
  });
}
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
