import type { AddressInfo } from 'node:net';
import { banner, demoAddress, demoBackend, onShutdown } from '@distlimiter/demo-support';
import { serve } from '@hono/node-server';
import { createApp } from './app.js';

const { port, host } = demoAddress(3003);
const backend = demoBackend();

const server = serve({ fetch: createApp({ backend }).fetch, port, hostname: host }, (info: AddressInfo) => {
  // PORT=0 picks a free port, so print the one actually bound.
  console.log(banner('hono', `http://${host}:${info.port}`));
});

onShutdown(async () => {
  await new Promise((resolve) => server.close(resolve));
  await backend.close();
});
