import { describeHttpConformance, loopbackUrl } from '@distlimiter/testkit';
import Fastify from 'fastify';
import distlimiter from '../src/index.js';

describeHttpConformance('fastify', async ({ global, strict }) => {
  const app = Fastify();
  await app.register(distlimiter, global);
  app.get('/hello', async () => 'hello');
  app.post('/hello', async () => 'posted');
  app.get('/health', async () => 'ok');
  app.get('/strict', { config: { rateLimit: strict } }, async () => 'strict');
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { url: loopbackUrl(app.server), close: () => app.close() };
});
