// One app process of the multi-process test: an Express app limited on a shared Redis. It prints
// {"url": ...} once listening, and exits on SIGTERM after closing the server and the Redis client.
import type { AddressInfo } from 'node:net';
import { RedisBackend } from '@distlimiter/core';
import { express, rateLimit } from '../../../express/test/reexports.js';

const redisUrl = process.env.REDIS_URL;
const prefix = process.env.DL_PREFIX;
if (!redisUrl || !prefix) throw new Error('REDIS_URL and DL_PREFIX must be set');

// No clock: time comes from Redis TIME, as in production, so the two processes agree on it.
const backend = new RedisBackend({ client: redisUrl });
const app = express();
app.use(rateLimit({ rate: '50/minute', backend, prefix }));
app.get('/hello', (_req, res) => {
  res.send(`hello from ${process.pid}`);
});

const server = app.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}` })}\n`);
});

process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => {
    backend.close().finally(() => process.exit(0));
  });
});
