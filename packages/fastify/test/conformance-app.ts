import { type ConformanceFactory, loopbackUrl } from '@distlimiter/testkit';
import Fastify from 'fastify';
import distlimiter from '../src/index.js';

/** The conformance app on Fastify: the plugin app-wide, route limits through `config.rateLimit`. */
export const conformanceApp: ConformanceFactory = async ({ global, strict }) => {
  const app = Fastify();
  await app.register(distlimiter, global);
  app.get('/hello', async () => 'hello');
  app.post('/hello', async () => 'posted');
  app.get('/health', async () => 'ok');
  app.get('/strict', { config: { rateLimit: strict } }, async () => 'strict');
  app.get('/other', { config: { rateLimit: { ...strict } } }, async () => 'other');
  // One config object on two routes: Fastify's nearest thing to one middleware mounted twice.
  const both = { rateLimit: strict };
  app.get('/a', { config: both }, async () => 'a');
  app.get('/b', { config: both }, async () => 'b');
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { url: loopbackUrl(app.server), close: () => app.close() };
};
