import type { AddressInfo } from 'node:net';
import { banner, demoAddress, demoBackend, onShutdown } from '@distlimiter/demo-support';
import { createApp } from './app.js';

const { port, host } = demoAddress(3001);
const backend = demoBackend();

const app = await createApp({ backend });
await app.listen({ port, host });
// PORT=0 picks a free port, so print the one actually bound.
console.log(banner('fastify', `http://${host}:${(app.server.address() as AddressInfo).port}`));

onShutdown(async () => {
  await app.close();
  await backend.close();
});
