import type { AddressInfo } from 'node:net';
import { banner, demoAddress, demoAdmin, demoEnv, onShutdown } from '@distlimiter/demo-support';
import { serve } from '@hono/node-server';
import { createApp } from './app.js';

const { port, host } = demoAddress(3003);
// DISTLIMITER_CONFIG, REDIS_URL and DISTLIMITER_PREFIX, checked now: a bad value stops the demo here.
const env = demoEnv();
// DISTLIMITER_ADMIN_TOKEN and DISTLIMITER_ADMIN_READ_TOKEN; with neither, a token generated for this run.
const admin = demoAdmin();
const options = { ...env.options, adminTokens: admin.tokens };

const server = serve({ fetch: createApp(options).fetch, port, hostname: host }, (info: AddressInfo) => {
  // PORT=0 picks a free port, so print the one actually bound.
  console.log(banner('hono', `http://${host}:${info.port}`, env.describe(), admin));
});

onShutdown(async () => {
  await new Promise((resolve) => server.close(resolve));
  // The configuration's watcher and Redis overlay, and the backend.
  await env.close();
});
