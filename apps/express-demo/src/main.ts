import type { AddressInfo } from 'node:net';
import { banner, demoAddress, demoAdmin, demoEnv, onShutdown } from '@distlimiter/demo-support';
import { createApp } from './app.js';

const { port, host } = demoAddress(3000);
// DISTLIMITER_CONFIG, REDIS_URL and DISTLIMITER_PREFIX, checked now: a bad value stops the demo here.
const env = demoEnv();
// DISTLIMITER_ADMIN_TOKEN and DISTLIMITER_ADMIN_READ_TOKEN; with neither, a token generated for this run.
const admin = demoAdmin();
const options = { ...env.options, adminTokens: admin.tokens };

const server = createApp(options).listen(port, host, () => {
  // PORT=0 picks a free port, so print the one actually bound.
  console.log(
    banner('express', `http://${host}:${(server.address() as AddressInfo).port}`, env.describe(), admin),
  );
});

onShutdown(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  // The configuration's watcher and Redis overlay, and the backend.
  await env.close();
});
