import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { banner, demoAddress, demoAdmin, demoEnv, onShutdown } from '@distlimiter/demo-support';
import { createApp } from './app.js';

const { port, host } = demoAddress(3002);
// DISTLIMITER_CONFIG, REDIS_URL and DISTLIMITER_PREFIX, checked now: a bad value stops the demo here.
const env = demoEnv();
// DISTLIMITER_ADMIN_TOKEN and DISTLIMITER_ADMIN_READ_TOKEN; with neither, a token generated for this run.
const admin = demoAdmin();
const options = { ...env.options, adminTokens: admin.tokens };

const app = await createApp(options);
await app.listen(port, host);
// PORT=0 picks a free port, so print the one actually bound.
console.log(
  banner(
    'nest',
    `http://${host}:${(app.getHttpServer().address() as AddressInfo).port}`,
    env.describe(),
    admin,
  ),
);

onShutdown(async () => {
  await app.close();
  // The configuration's watcher and Redis overlay, and the backend.
  await env.close();
});
