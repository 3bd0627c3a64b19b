// One app process of the admin two-process test: the standard conformance app of FRAMEWORK (express or
// fastify) with its app-wide limiter on the admin suite's configuration and the admin API at /admin, on a
// shared Redis (REDIS_URL) or Redis Cluster (REDIS_CLUSTER, JSON seed nodes), under DL_PREFIX. Every option is
// the default a user gets (statistics flushed every second, blocks mirrored, the overlay followed). It prints
// {"url": ...} once listening, and exits on SIGTERM after closing the app, the backend and the client.
import { RedisBackend } from '@distlimiter/core';
import { Cluster, Redis } from 'ioredis';
import { conformanceApp as expressApp } from '../../../express/test/conformance-app.js';
import { express } from '../../../express/test/reexports.js';
import { conformanceApp as fastifyApp } from '../../../fastify/test/conformance-app.js';
import { adminConfig } from '../../src/http-admin-client.js';

const { FRAMEWORK, REDIS_URL, REDIS_CLUSTER, DL_PREFIX, ADMIN_TOKEN } = process.env;
if ((!REDIS_URL && !REDIS_CLUSTER) || !DL_PREFIX || !ADMIN_TOKEN) {
  throw new Error('REDIS_URL or REDIS_CLUSTER, DL_PREFIX and ADMIN_TOKEN must be set');
}

const client = REDIS_CLUSTER ? new Cluster(JSON.parse(REDIS_CLUSTER)) : new Redis(REDIS_URL!);
// No clock: time comes from Redis TIME, as in production, so the two processes agree on it.
const backend = new RedisBackend({ client });
const shared = { backend, prefix: DL_PREFIX };
const start = FRAMEWORK === 'fastify' ? fastifyApp : expressApp(express);
const app = await start({
  global: { ...shared, config: adminConfig() },
  strict: { ...shared, rate: '3/minute' },
  // The test polls the admin API to see when a change arrived: its own limit stays out of the way.
  admin: { tokens: { full: { ops: ADMIN_TOKEN } }, rate: '100000/minute' },
});
process.stdout.write(`${JSON.stringify({ url: app.url })}\n`);

process.on('SIGTERM', () => {
  app
    .close()
    .then(() => backend.close())
    .then(() => client.quit())
    .finally(() => process.exit(0));
});
