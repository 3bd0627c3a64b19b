import type { AddressInfo } from 'node:net';
import { banner, demoAddress, demoBackend, onShutdown } from '@distlimiter/demo-support';
import { createApp } from './app.js';

const { port, host } = demoAddress(3000);
const backend = demoBackend();

const server = createApp({ backend }).listen(port, host, () => {
  // PORT=0 picks a free port, so print the one actually bound.
  console.log(banner('express', `http://${host}:${(server.address() as AddressInfo).port}`));
});

onShutdown(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await backend.close();
});
