// One app process of the two-process admin and load-state tests: the standard conformance app of
// FRAMEWORK (express, fastify, hono or koa) with its app-wide limiter on the configuration CONFIG names
// (admin: the admin suite's; load-states: the load-state test's) and the admin API at /admin, on a shared
// Redis (REDIS_URL) or Redis Cluster (REDIS_CLUSTER, JSON seed nodes), under DL_PREFIX. Every other option
// is the default a user gets (statistics flushed every second, blocks mirrored, the overlay followed, the
// operator's load setting followed by pub/sub and a 1 s poll, no automatic monitor). It prints
// {"url": ...} once listening, and exits on SIGTERM after closing the app, the backend and the client.
import { RedisBackend } from '@distlimiter/core';
import { Cluster, Redis } from 'ioredis';
import { conformanceApp as expressApp } from '../../../express/test/conformance-app.js';
import { express } from '../../../express/test/reexports.js';
import { conformanceApp as fastifyApp } from '../../../fastify/test/conformance-app.js';
import { conformanceApp as honoApp } from '../../../hono/test/conformance-app.js';
import { conformanceApp as koaApp } from '../../../koa/test/conformance-app.js';
import { Koa } from '../../../koa/test/reexports.js';
import { adminConfig } from '../../src/http-admin-client.js';
import { loadFleetConfig } from './load-states-config.js';

const { FRAMEWORK, CONFIG, REDIS_URL, REDIS_CLUSTER, DL_PREFIX, ADMIN_TOKEN } = process.env;
if ((!REDIS_URL && !REDIS_CLUSTER) || !DL_PREFIX || !ADMIN_TOKEN) {
  throw new Error('REDIS_URL or REDIS_CLUSTER, DL_PREFIX and ADMIN_TOKEN must be set');
}

const factories = { express: expressApp(express), fastify: fastifyApp, hono: honoApp, koa: koaApp(Koa) };
const start = factories[FRAMEWORK as keyof typeof factories];
if (start === undefined) throw new Error(`FRAMEWORK must be one of ${Object.keys(factories).join(', ')}`);
const configs = { admin: adminConfig, 'load-states': loadFleetConfig };
const config = configs[CONFIG as keyof typeof configs];
if (config === undefined) throw new Error(`CONFIG must be one of ${Object.keys(configs).join(', ')}`);

const client = REDIS_CLUSTER ? new Cluster(JSON.parse(REDIS_CLUSTER)) : new Redis(REDIS_URL!);
// No clock: time comes from Redis TIME, as in production, so the two processes agree on it.
const backend = new RedisBackend({ client });
const shared = { backend, prefix: DL_PREFIX };
const app = await start({
  global: { ...shared, config: config() },
  strict: { ...shared, rate: '3/minute' },
  // The tests poll the admin API to see when a change arrived: its own limit stays out of the way.
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
